# One verb per task; CI (.ci/run) runs the same verbs a newcomer runs.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install run test test-pg lint bench clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

## Start the broker, every service and the gateway on the embedded defaults (SQLite, Tansu).
run: install
	$(BIN)/python deploy/run_local.py

## The whole suite on SQLite and the embedded broker.
test: install
	$(BIN)/python -m pytest

## The same suite against PostgreSQL (one database per service, created and dropped by the tests).
test-pg: install
	EWTP_TEST_DB=postgres $(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared gateway services
	$(BIN)/lint-imports

bench: install
	$(BIN)/python bench/gateway_bench.py
	$(BIN)/python bench/feed_bench.py

clean:
	rm -rf .data
