# openqio: the README's commands. Everything installs into the repository (.venv, node_modules).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SDK_STAMP := .venv-sdk/.installed
RAY_STAMP := $(VENV)/.ray-installed
# Each editable install printed setuptools' boxed notice about packages at the top of the checkout (the layout is
# meant: they are imported from here), which read like an error on a first `make run`.
EDITABLE := PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install --quiet -e

.PHONY: run test test-unit lint bench install sdk-env ray-extra clean

# Python 3.11+ and Node 20+ (README), checked before anything is installed: a venv made with an older Python failed
# its install, and then every later `make run` with it, also once a newer Python was there.
NEEDS_PY311 := -c 'import sys; sys.exit(sys.version_info < (3, 11))'
NEEDS_NODE20 := -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)'

$(PY):
	@$(PYTHON) $(NEEDS_PY311) 2>/dev/null || { echo "openqio needs Python 3.11 or newer; $(PYTHON) is" \
		"$$($(PYTHON) --version 2>/dev/null || echo missing): run make PYTHON=python3.11 (or newer) run" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	@$(PY) $(NEEDS_PY311) || { echo "$(VENV) was made with $$($(PY) --version 2>&1); openqio needs Python 3.11 or" \
		"newer: rm -rf $(VENV), then make PYTHON=python3.11 (or newer) run" >&2; exit 1; }
	$(EDITABLE) ".[test,ocean,lint]"
	@touch $@

node_modules/.bin/azurite-blob: package.json package-lock.json
	@node $(NEEDS_NODE20) 2>/dev/null || { echo "openqio runs Azurite on Node.js 20 or newer (with npm); node is" \
		"$$(node --version 2>/dev/null || echo missing)" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(STAMP) node_modules/.bin/azurite-blob

# Start Azurite (data under .openqio/azurite), the HTTPS gateway and the runner pool. Ctrl-C stops everything.
run: install
	$(VENV)/bin/openqio serve --with-azurite

sdk-env: $(SDK_STAMP)

# The `ray` extra (OPENQIO_EXECUTOR=ray): the tests run the Ray executor on a real local cluster; `make run` needs none.
ray-extra: $(RAY_STAMP)

$(RAY_STAMP): pyproject.toml $(STAMP)
	$(EDITABLE) ".[test,ocean,ray]"
	@touch $@

$(SDK_STAMP): tests/sdk/requirements.txt | $(PY)
	bash scripts/sdk_env.sh

# ruff (lint and import order) and mypy, with the settings in pyproject.toml; `make test` runs it first.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# The solver cache is warmed once, with a progress line, before pytest: tests then start services that only load
# it (a cold compile takes about two minutes of one core, more on a busy machine). The suite then runs on
# TEST_WORKERS pytest-xdist processes, each module (and all the Ray tests together) on one of them
# (tests/conftest.py): most of a test's time is waiting for processes it started, so two workers share two cores
# well (the whole suite: 13 min on one, 8.5 on two, on the 2-core development VM).
TEST_WORKERS ?= 2

test: install sdk-env ray-extra lint
	bash scripts/ensure_chromium.sh
	$(PY) -m solver_runner.warmup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

test-unit: $(STAMP)
	$(PY) -m solver_runner.warmup
	$(PY) -m pytest -q tests/unit

bench: install
	$(EDITABLE) ".[test,ocean,bench,ray]"
	$(PY) -m benchmarks.solvers
	$(PY) -m benchmarks.catalog
	$(PY) -m benchmarks.service

clean:
	rm -rf $(VENV) .venv-sdk node_modules .pytest_cache .bench
