# Isthmus — the two commands: `make demo` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck layers unit openapi bench clean venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

## Run the gateway on 127.0.0.1:8000 wired to the sandbox emulators (no Redis, no credentials).
demo: $(STAMP)
	$(BIN)/isthmus demo

## Every gate and the whole suite.
test: $(STAMP)
	@command -v redis-server >/dev/null || { echo "redis-server is missing: apt-get install redis-server"; exit 1; }
	@command -v initdb >/dev/null || ls /usr/local/bin/initdb /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "PostgreSQL server binaries are missing (initdb, postgres): apt-get install postgresql"; exit 1; }
	@command -v chromium >/dev/null || apt-get install -y chromium || { apt-get update && apt-get install -y chromium; } || { echo "chromium is missing (browser tests): apt-get install chromium"; exit 1; }
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -p no:cacheprovider

openapi: $(STAMP)
	$(BIN)/isthmus openapi

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

## Load-test the gateway (not part of `make test`); writes bench/results and BENCHMARKS.md.
bench: $(BENCH_STAMP)
	@command -v wrk >/dev/null || apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.orders
	$(BIN)/python -m bench.sync

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .isthmus
