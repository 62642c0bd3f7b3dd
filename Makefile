# One virtual environment, set up once and reused by every target.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# Every dependency is pinned in constraints.txt (the versions the tests passed with; how to
# refresh it is written at its top); pyproject.toml keeps lower bounds. torch goes first, on its
# own, because an unpinned torch pulls a multi-GB CUDA build; 2.13.0 is the CPU wheel available
# on this machine.
PIN     := -c constraints.txt

.PHONY: install demo test bench lint docs clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(PIN) --upgrade pip
	$(BIN)/python -m pip install --quiet $(PIN) torch
	$(BIN)/python -m pip install --quiet $(PIN) -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/rnnkit demo

# Two worker processes (pytest-xdist), one per core of the CI machine: 12.9 min serial. Whole files
# go to one worker (--dist loadfile), so a module's trained fixtures are built once, not once per
# worker. Plain `pytest tests/x.py` stays serial (no -n in pyproject's addopts).
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

docs: $(STAMP)
	$(BIN)/mkdocs build --strict

# lint-imports checks the layering contracts in .importlinter (tests/test_package.py runs them too).
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/mypy src
	$(BIN)/lint-imports .importlinter --no-cache

clean:
	rm -rf $(VENV) build site *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
