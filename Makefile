# Two commands for a new user (README): `make serve` and `make test`.
# Both build .venv on first use; nothing outside this folder is touched.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test lint bench clean

$(BIN)/chatnut: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

serve: $(BIN)/chatnut
	$(BIN)/chatnut serve

lint: $(BIN)/chatnut
	$(BIN)/ruff check app/be tests data bench
	$(BIN)/ruff format --check app/be tests data bench
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

# Ours beside the original chatnut 0.4.2 (installed into .bench/ on first use)
# and the SDK's empty tool; prints the tables and writes them to .bench/latest.md.
bench: $(BIN)/chatnut
	$(BIN)/python -m bench --out .bench/latest.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
