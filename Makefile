# CloudQueue: the two commands a newcomer needs are `make dev` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: dev test venv lint

$(BIN)/cloudqueue: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/cloudqueue

## Run the whole system locally: API, queue, Pipe, state machine, Lambdas, table, UI.
dev: venv
	$(BIN)/cloudqueue dev

## The test suite (unit, workflow, local end-to-end, template, browser).
test: venv
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check functions local tests
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml
