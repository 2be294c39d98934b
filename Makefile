# The two commands of the README's quick start:
#   make demo   set up a virtual environment, install aeflow, run it on a sample workspace
#   make test   set up, then lint, type-check and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint types unit venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel

venv: $(BIN)/python

demo: venv
	$(BIN)/pip install -q .
	$(BIN)/aeflow demo --dir demo

test: venv
	$(BIN)/pip install -q -c constraints.txt '.[dev,ews]'
	$(MAKE) lint types unit

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types:
	$(BIN)/mypy

unit:
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) build *.egg-info demo .mypy_cache .pytest_cache .ruff_cache
