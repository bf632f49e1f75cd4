# Two commands do everything on a fresh machine: `make run` and `make test`.
# Each installs what it needs first (idempotent; stamps live in .cache/).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NODE_BIN := $(CURDIR)/node_modules/.bin
export PATH := $(NODE_BIN):$(PATH)
export WRANGLER_SEND_METRICS := false
export NEXT_TELEMETRY_DISABLED := 1
STAMPS := .cache/stamps
WORKERS_SDK := workers-runtime-sdk==1.9.5

.PHONY: setup run run-worker lint test test-fast bench bench-backends bench-lighthouse clean

setup: $(STAMPS)/python $(STAMPS)/node $(STAMPS)/sdk $(STAMPS)/pyodide-bundle

$(STAMPS)/python: pyproject.toml backends/python-postgres/pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test]" -e "backends/python-postgres[test]"
	@touch $@

$(STAMPS)/node: package.json package-lock.json frontend/package.json frontend/package-lock.json
	@mkdir -p $(STAMPS)
	npm ci --no-audit --no-fund --loglevel=error
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The Workers SDK, for the Pyodide harness (downloaded, never committed).
$(STAMPS)/sdk: Makefile
	@mkdir -p $(STAMPS) .cache/wheels
	$(PY) -m pip download --quiet --disable-pip-version-check --no-deps -d .cache/wheels "$(WORKERS_SDK)"
	@touch $@

# The Pyodide bundle for Python Workers on real workerd, offline (harness/workerd/README.md).
# build_bundle.py keeps its own stamp of every input and rebuilds only when one changes.
$(STAMPS)/pyodide-bundle: package-lock.json $(wildcard harness/workerd/*) $(STAMPS)/python $(STAMPS)/node
	@mkdir -p $(STAMPS)
	$(PY) harness/workerd/build_bundle.py
	@touch $@

# Debian packages: the Docker suite (engine, debootstrap for base images), ruby-sqlite
# (Ruby, Sinatra, Puma), python-postgres (PostgreSQL), the browser suite (chromium).
$(STAMPS)/system: scripts/install_system_packages.sh
	@mkdir -p $(STAMPS)
	./scripts/install_system_packages.sh
	@touch $@

run: setup $(STAMPS)/system
	$(PY) -m devstack

# The same stack, but the gateway is the Worker (src/entry.py) under wrangler dev on real workerd
# (offline Pyodide bundle), in cloud mode over wrangler's local KV (README, "make run-worker").
run-worker: setup $(STAMPS)/system
	$(PY) -m devstack --gateway worker

PY_DIRS := src local_runner tools harness scripts tests bench

# Style, types and the backends' TypeScript; part of `make test`.
lint: setup
	$(VENV)/bin/ruff check $(PY_DIRS)
	$(VENV)/bin/ruff format --check $(PY_DIRS)
	$(VENV)/bin/mypy
	tsc --noEmit -p backends/bun-sqlite/tsconfig.json
	tsc --noEmit -p backends/cf-d1/tsconfig.json
	cd frontend && npm run --silent typecheck && npm run --silent lint && npm run --silent check:types

# GTD_FULL_SUITE: the contract suite refuses to shrink to one external target here.
# Four pytest processes side by side (the Docker suite, the browser suite, the contract suite, the rest), then the time per suite
# (scripts/run_suites.py; --serial runs them one after the other).
test: setup $(STAMPS)/system lint
	GTD_FULL_SUITE=1 $(PY) scripts/run_suites.py

# Everything but the Docker suite, for a quick loop while developing.
test-fast: setup lint
	GTD_FULL_SUITE=1 $(PY) -m pytest tests --ignore=tests/system/docker

# The gateway suite (python -m bench, docs/benchmarks.md); BENCH_ARGS=--quick for a ~3–5 minute run.
bench: setup
	./bench/run.sh $(BENCH_ARGS)

# The GTD workload against every backend, directly and through the gateway
# (docs/benchmarks.md); BENCH_ARGS=--quick for a 1–2 minute run.
bench-backends: setup $(STAMPS)/system
	$(PY) -m bench.backends $(BENCH_ARGS)

# Lighthouse (npm, pinned in bench/lighthouse) mobile and desktop on the inbox with 10,000 tasks
# in bun-sqlite (docs/benchmarks.md); BENCH_ARGS=--runs 1 for a quick look.
bench-lighthouse: setup $(STAMPS)/system $(STAMPS)/lighthouse
	$(PY) -m bench.lighthouse $(BENCH_ARGS)

$(STAMPS)/lighthouse: bench/lighthouse/package.json bench/lighthouse/package-lock.json
	@mkdir -p $(STAMPS)
	cd bench/lighthouse && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

clean:
	rm -rf .cache/stamps
