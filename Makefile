# Two commands for a new user (README): `make serve` and `make test`.
# Both build .venv on first use. Outside this folder, two things: the web UI
# tests drive Debian's Chromium and the PostgreSQL tests start Debian's
# PostgreSQL server (tests/postgres.py); `make test` installs each with apt
# when it is missing and it may (as root); otherwise it says what to install.
# The install tests run the real agent clients (Claude Code, Codex, Gemini CLI)
# with Node 22, all from npm into .venv/clients/ on first use (needs `npm`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test check lint docs constraints browser postgres npm clients bench clean

# constraints.txt pins every dependency to the version the suite last passed
# with, so a fresh machine (and CI) gets exactly those; `make constraints`
# rewrites it from .venv (docs/contributing.md says when and how).
$(BIN)/chatnut: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $@

constraints:
	@test -x $(BIN)/python || { echo "no .venv: make .venv/bin/chatnut first" >&2; exit 1; }
	@{ echo "# What the tests last passed with: pip freeze of .venv, without chatnut."; \
	   echo "# Installed with: pip install -c constraints.txt -e .[test] (make does)."; \
	   echo "# Refresh: docs/contributing.md, Dependencies."; \
	   $(BIN)/python -m pip freeze --exclude-editable | grep -iv '^chatnut[=@ ]'; } > constraints.txt

serve: $(BIN)/chatnut
	$(BIN)/chatnut serve

lint: $(BIN)/chatnut node_modules
	$(BIN)/ruff check app/be tests data bench
	$(BIN)/ruff format --check app/be tests data bench
	$(BIN)/mypy
	node_modules/.bin/biome check app/fe/js
	node_modules/.bin/tsc -p tsconfig.json

# The web UI's JavaScript checkers (Biome, TypeScript's checker) and axe-core
# for the accessibility tests, at the versions package-lock.json pins.
node_modules: package.json package-lock.json | npm
	npm ci --no-audit --no-fund
	touch $@

# npm, for the web UI's checkers and the real agent clients.
npm:
	@if ! command -v npm >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian's npm for the web UI's checks and the real-client tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
		else \
			echo "the web UI's checks and the real-client tests need npm: sudo apt-get install npm" >&2; \
			exit 1; \
		fi; \
	fi

# docs/configuration.md is written from the settings table (a test compares them).
docs: $(BIN)/chatnut
	$(BIN)/python -m chatnut.settings_doc > docs/configuration.md

browser:
	@if [ -z "$$CHATNUT_CHROMIUM" ] && ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian's chromium for the web UI tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "the web UI tests need Chromium: sudo apt-get install chromium" \
				"(or set CHATNUT_CHROMIUM to a Chromium binary)" >&2; \
			exit 1; \
		fi; \
	fi

postgres:
	@if [ -z "$$CHATNUT_PG_BIN" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian's postgresql for the PostgreSQL tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				postgresql postgresql-contrib >/dev/null; \
		else \
			echo "the PostgreSQL tests need a PostgreSQL server: sudo apt-get install postgresql" \
				"(or set CHATNUT_PG_BIN to the directory holding initdb and pg_ctl)" >&2; \
			exit 1; \
		fi; \
	fi

# Needs only the standard library: it runs beside the .venv build.
clients: | npm
	$(PYTHON) -m tests.clients.npm

# Three processes, a whole file each (module fixtures are set up once), the
# longest files first (tests/conftest.py; xdist keeps that order). The suite
# waits more than it computes, so a third process fills the waits of the other
# two on two cores. Every test is bounded in time (pyproject.toml), and the
# slowest tests and files are named at the end so a growing suite shows where
# its time goes.
SPREAD := --dist loadfile --no-loadscope-reorder --durations=15
PYTEST := $(BIN)/python -m pytest -n 3 $(SPREAD)

# What apt may install goes first and one at a time (apt allows one run at a
# time); then pip, npm ci and the clients' npm install side by side.
test:
	@$(MAKE) --no-print-directory browser postgres npm
	@$(MAKE) --no-print-directory -j3 lint clients
	$(PYTEST)

# The fast lane, to run constantly: lint, types and every test that needs nothing
# from outside the repository (no Chromium, no PostgreSQL, no npm client) and is
# not a soak, fuzz or fault test of many seconds (`slow`), with a smaller draw of
# hostile input. Four processes: with no browser beside them, these wait on
# servers more than they compute.
check: lint
	CHATNUT_HOSTILE_EXAMPLES=10 $(BIN)/python -m pytest -n 4 $(SPREAD) \
		-m "not browser and not postgres and not clients and not slow"

# Ours beside the original chatnut 0.4.2 (installed into .bench/ on first use)
# and the SDK's empty tool; prints the tables and writes them to .bench/latest.md.
bench: $(BIN)/chatnut postgres
	$(BIN)/python -m bench --out .bench/latest.md
	$(BIN)/python -m bench.team --out .bench/team.md
	$(BIN)/python -m bench.pg_ceiling | tee .bench/pg_ceiling.md
	$(BIN)/python -m bench.pg_read_cursors | tee .bench/pg_read_cursors.md
	$(BIN)/python -m bench.team_day --out .bench/team_day.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache node_modules
