# The two commands of the README: `make run` (the whole system) and `make test` (every test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test bench bench-quick install clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/crm run

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf var .pytest_cache

# Benchmarks (bench/, README "Benchmarks"): PostgreSQL as .ci/run sets it up, a local Kafka the
# bench starts itself, and wrk as the load generator (installed here from Debian if missing).
WRK_INSTALL := command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

bench: install
	@$(WRK_INSTALL)
	$(BIN)/crm bench

bench-quick: install
	@$(WRK_INSTALL)
	$(BIN)/crm bench --quick
