# The two commands of the README. Each creates the virtual environment first if it is missing
# or older than the requirements it was built from.
VENV := .venv
BIN := $(VENV)/bin
# DVC runs stage commands through the shell: put the venv's python first on its PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: repro test

repro: $(VENV)/.installed
	dvc repro

test: $(VENV)/.installed-test
	ruff format --check .
	ruff check .
	python -m pytest

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements-test.txt
	touch $@
