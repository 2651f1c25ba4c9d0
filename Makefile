# The README's two commands: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.syncfw-installed
# wheels of syncfw's dependencies and its build backend: the connector guide's walkthrough test
# installs syncfw into a fresh virtual environment from here, so `make test` needs no package index
WHEELHOUSE := $(VENV)/wheelhouse
# every built-in connector is its own distribution, installed like a third party's
CONNECTORS := $(wildcard connectors/*/pyproject.toml)
# with its `typing` extra when it has one (the files connector's pandas stubs, for mypy), so that
# `make typecheck` installs nothing and needs no package index once .venv is set up
TYPED := $(dir $(shell grep -l '^typing *=' $(CONNECTORS) /dev/null))
# every integration with an orchestrator (integrations/dagster: syncfw-dagster) likewise, with its test extra
INTEGRATIONS := $(wildcard integrations/*/pyproject.toml)

.PHONY: demo test lint typecheck unit setup servers clean

$(STAMP): pyproject.toml $(CONNECTORS) $(INTEGRATIONS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]" \
		$(foreach c,$(dir $(CONNECTORS)),-e "$(c)$(if $(filter $(c),$(TYPED)),[typing])") \
		$(foreach i,$(dir $(INTEGRATIONS)),-e "$(i)[test]")
	$(BIN)/python -m pip install --quiet -e "connectors/sql/[postgres,duckdb]"  # the drivers its tests use
	$(BIN)/python -m pip download --quiet --dest $(WHEELHOUSE) ".[testing]" hatchling editables
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/syncfw demo

lint: $(STAMP)
	$(BIN)/ruff check syncfw connectors integrations tests
	$(BIN)/ruff format --check syncfw connectors integrations tests

# mypy --strict over the core, every built-in connector and every integration (their stubs were
# installed with .venv: the connectors' `typing` extras)
typecheck: $(STAMP)
	$(BIN)/mypy syncfw $(addsuffix syncfw_*,$(dir $(CONNECTORS) $(INTEGRATIONS)))

# the backend tests' PostgreSQL and Redis servers (installed from Debian's packages when missing)
servers:
	.ci/servers

unit: $(STAMP) servers
	$(BIN)/pytest -q -n 2

test: lint typecheck unit

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# the benchmark suite, not part of `make test`: it rewrites docs/benchmarks.json and docs/benchmarks.md
# (`.venv/bin/python bench/run.py --only NAME` measures one scenario again and keeps the others)
.PHONY: bench bench-quick

# the peers the benchmark measures syncfw beside (notion2pandas): the `bench` extra, never a runtime dependency
BENCH_STAMP := $(VENV)/.syncfw-bench-installed
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python bench/run.py

bench-quick: $(BENCH_STAMP)
	$(BIN)/python bench/run.py --quick
