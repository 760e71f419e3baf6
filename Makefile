# The two commands of the README. Each creates the virtual environment first if it is missing
# or older than the requirements it was built from.
VENV := .venv
BIN := $(VENV)/bin
# DVC runs stage commands through the shell: put the venv's python first on its PATH.
export PATH := $(abspath $(BIN)):$(PATH)

# `dvc plots show` uses this page (see .dvc/config): vega inlined, so charts render offline.
PLOTS_TEMPLATE := .dvc/offline_plots.html

.PHONY: repro test

repro: $(VENV)/.installed $(PLOTS_TEMPLATE)
	dvc repro

test: $(VENV)/.installed-test $(PLOTS_TEMPLATE)
	python -m pytest

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements-test.txt
	touch $@

$(PLOTS_TEMPLATE): $(VENV)/.installed mnist_pipeline/offline_plots.py
	$(BIN)/python -m mnist_pipeline.offline_plots $@
