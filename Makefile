# Two commands for a new user (README): `make serve` and `make test`.
# Both build .venv on first use; nothing outside this folder is touched.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test lint clean

$(BIN)/chatnut: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

serve: $(BIN)/chatnut
	$(BIN)/chatnut serve

lint: $(BIN)/chatnut
	$(BIN)/ruff check app/be tests data
	$(BIN)/ruff format --check app/be tests data
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
