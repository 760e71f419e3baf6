# The two commands of the README. Each creates the virtual environment first if it is missing
# or older than the locked requirements it was built from (docs/environment.md).
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
# DVC runs stage commands through the shell: put the venv's python first on its PATH.
export PATH := $(abspath $(BIN)):$(PATH)
# uv does not read pip's configuration: a package index given to pip this way serves uv too.
ifdef PIP_INDEX_URL
export UV_DEFAULT_INDEX ?= $(PIP_INDEX_URL)
endif

# One universal lock: every platform and Python >= 3.11, each wheel's hash (docs/environment.md).
# `--custom-compile-command` keeps the header free of paths, so `check-lock` can compare bytes.
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet \
	--custom-compile-command "make lock"

.PHONY: repro test test-long notebook lock check-lock

repro: $(VENV)/.installed
	dvc repro

# pytest lists the slowest tests at the end, so one that adds half a minute shows in review.
test: $(VENV)/.installed-test check-lock
	ruff format --check .
	ruff check .
	python -m pytest --durations=15 --durations-min=10

# The walkthrough in JupyterLab, which the test lock pins (so `make test` keeps it), on the data
# it reads (`dvc repro preprocess`).
notebook: $(VENV)/.installed-test
	dvc repro preprocess
	jupyter lab notebooks/walkthrough.ipynb

# On demand, for a change to what they guard, not for every commit (docs/testing.md): the unit
# layer with the long property-based search (10,000 examples a test), and the cross-CPU check
# under six emulated CPU models of both vendors instead of two.
test-long: $(VENV)/.installed-test
	python -m pytest -m "not e2e" --hypothesis-profile=long --durations=5
	python -m pytest tests/test_e2e_cpus.py --cpu-models=long

# `uv pip sync` makes the venv exactly the lock (and removes what is not in it); the test lock
# holds the whole runtime lock, so `make repro` and `make test` can follow each other.
# `--compile-bytecode` writes the .pyc files pip would have written: without them every dvc,
# python and stage process compiles its imports again, where Python may not write them itself
# (PYTHONDONTWRITEBYTECODE, a read-only venv). That costs ~1 s per process (docs/environment.md).
SYNC := $(UV) pip sync --python $(BIN)/python --require-hashes --compile-bytecode

$(VENV)/.installed: requirements.txt | $(UV)
	$(SYNC) requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(SYNC) requirements-test.txt
	touch $@

# pip installs uv from its hashed entry in the lock, so the installer is checked like the rest.
$(UV):
	test -x $(BIN)/python || python3 -m venv $(VENV)
	awk '/^uv==/ {found = 1} found {print} found && !/\\$$/ {exit}' requirements.txt \
		> $(VENV)/uv-requirement.txt
	$(BIN)/python -m pip install --disable-pip-version-check --no-deps --require-hashes \
		-r $(VENV)/uv-requirement.txt

# Regenerates both locks from requirements.in and requirements-test.in. Versions already in
# the lock are kept where they still fit (uv reads the output file as preferences); to move one
# that no .in file pins: `make lock LOCK_ARGS=--upgrade-package=certifi`.
lock: | $(UV)
	$(UV) pip compile $(LOCK_FLAGS) $(LOCK_ARGS) requirements.in -o requirements.txt
	$(UV) pip compile $(LOCK_FLAGS) $(LOCK_ARGS) requirements-test.in -c requirements.txt \
		-o requirements-test.txt

# Fails, without touching the locks, when they no longer match the .in files: it locks again
# in a scratch copy (same preferences, so new releases upstream do not count) and compares.
check-lock: | $(UV)
	rm -rf $(VENV)/lock-check && mkdir -p $(VENV)/lock-check
	cp requirements.in requirements.txt requirements-test.in requirements-test.txt \
		$(VENV)/lock-check/
	$(MAKE) --no-print-directory -C $(VENV)/lock-check -f $(abspath Makefile) lock \
		UV=$(abspath $(UV))
	@for lock in requirements.txt requirements-test.txt; do \
		cmp -s $$lock $(VENV)/lock-check/$$lock || { \
			echo "error: $$lock is stale: it no longer matches $${lock%.txt}.in;" \
				"run \`make lock\` and commit the result"; exit 1; }; \
	done
