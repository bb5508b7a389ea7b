# Each target sets itself up on a fresh machine (Python, make and apt are enough).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: run test lint check bench bench-events clean

$(PY):
	@scripts/ensure-packages venv=python3-venv
	@rm -rf $(VENV) && $(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(PY)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt pyproject.toml $(VENV)/.runtime
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

## run: the bridge on http://127.0.0.1:8080 with the embedded SQLite store.
##      Without REEVO_API_KEY it runs in sandbox mode, delivering to the bundled Reevo stand-in.
run: $(VENV)/.runtime
	@mkdir -p var
	@if [ -z "$$REEVO_API_KEY" ]; then export BRIDGE_SANDBOX=1; fi; \
	  exec $(VENV)/bin/gunicorn -c gunicorn.conf.py app:app

## lint: ruff (style and likely bugs) and mypy (types), as pyproject.toml configures them.
lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(PY) -m mypy

## test: lint, then the whole suite, with every service it needs started by the tests themselves
##       (a private redis-server; Debian's chromium and chromium-driver for the console's browser tests).
test: lint
	@scripts/ensure-packages redis-server=redis-server openssl=openssl chromium=chromium chromedriver=chromium-driver
	$(PY) -m pytest -q

## check: lint every mapping file.
check: $(VENV)/.runtime
	$(PY) -m bridge check

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache

## bench: benchmarks, each reported as a ratio to a baseline run in the same process.
bench: $(VENV)/.dev
	@scripts/ensure-packages redis-server=redis-server openssl=openssl wrk=wrk
	$(PY) bench/run.py

## bench-events: only the console's queries on a store of 200,000 events (BENCH_EVENTS=N for another size).
bench-events: $(VENV)/.dev
	@scripts/ensure-packages redis-server=redis-server
	$(PY) bench/bench_events.py
