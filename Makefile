# Two commands do everything on a fresh machine: `make run` and `make test`.
# Each installs what it needs first (idempotent; stamps live in .cache/).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NODE_BIN := $(CURDIR)/node_modules/.bin
export PATH := $(NODE_BIN):$(PATH)
export WRANGLER_SEND_METRICS := false
STAMPS := .cache/stamps
WORKERS_SDK := workers-runtime-sdk==1.9.5

.PHONY: setup run test test-fast bench clean

setup: $(STAMPS)/python $(STAMPS)/node $(STAMPS)/sdk

$(STAMPS)/python: pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test]"
	@touch $@

$(STAMPS)/node: package.json package-lock.json
	@mkdir -p $(STAMPS)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The Workers SDK, for the Pyodide harness (downloaded, never committed).
$(STAMPS)/sdk: Makefile
	@mkdir -p $(STAMPS) .cache/wheels
	$(PY) -m pip download --quiet --disable-pip-version-check --no-deps -d .cache/wheels "$(WORKERS_SDK)"
	@touch $@

# Debian packages the Docker suite needs (engine, debootstrap for base images).
$(STAMPS)/system:
	@mkdir -p $(STAMPS)
	./scripts/install_system_packages.sh
	@touch $@

run: setup
	$(PY) scripts/run_stack.py

test: setup $(STAMPS)/system
	$(PY) -m pytest tests

# Everything but the Docker suite, for a quick loop while developing.
test-fast: setup
	$(PY) -m pytest tests --ignore=tests/docker

bench: setup
	./bench/run.sh

clean:
	rm -rf .cache/stamps
