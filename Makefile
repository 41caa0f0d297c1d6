# The two commands of the README: `make run` (the whole system) and `make test` (every test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-faults test-fuzz bench bench-quick install clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/crm run

test: install $(BIN)/kustomize
	$(BIN)/python -m pytest

# kustomize renders deploy/k8s for tests/unit/test_deploy.py. Built from source through the Go module
# proxy, so only a package registry has to be reachable (no release download): about 90 s, once.
KUSTOMIZE_VERSION ?= v5.7.1
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)

$(BIN)/kustomize: | $(BIN)/.installed
	GOBIN=$(abspath $(BIN)) $(GO) install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

# The fault scenarios in their long form, figures printed: 20 restarts of the whole system on existing
# data, then 10 broker restarts under a light write load (`make test` runs 3 and 2 of them).
test-faults: install
	CRM_FAULT_SYSTEM_RESTARTS=20 CRM_FAULT_BROKER_RESTARTS=10 $(BIN)/python -m pytest tests/faults -s -p no:cacheprovider

# The contract fuzz test in its long form: every service, on both databases, against its OpenAPI document, with
# schemathesis's random fuzzing phase added to the examples and coverage phases `make test` runs, and many
# examples per operation (CRM_FUZZ_EXAMPLES there: 5).
test-fuzz: install
	CRM_FUZZ_EXAMPLES=200 CRM_FUZZ_BACKENDS=sqlite,postgresql CRM_FUZZ_PHASES=examples,coverage,fuzzing $(BIN)/python -m pytest tests/integration/test_openapi_fuzz.py -s -p no:cacheprovider

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
