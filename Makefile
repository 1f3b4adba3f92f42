# scenario-toolkit: every command a user needs. The first target builds .venv from a Python >= 3.12.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export MPLBACKEND ?= Agg

.PHONY: help setup demo test lint format bench calibrate lab app clean

help:
	@echo "make demo   - set up .venv, run the Russia-Iran forecast, write charts to reports/"
	@echo "make test   - set up .venv, lint, run the whole test suite"
	@echo "make lab    - open JupyterLab on notebooks/"
	@echo "make app    - serve the forecast dashboard with Voila at http://127.0.0.1:$(APP_PORT)/"
	@echo "make bench  - run the benchmarks and print their figures"
	@echo "make calibrate - simulate 200 worlds per regime and show the forecasts are calibrated"

$(STAMP): pyproject.toml
	@PYBIN=$$(scripts/find-python.sh) && echo "Using $$PYBIN" && \
	  { [ -x $(PY) ] || $$PYBIN -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/scenarios forecast russia-iran --engine exact
	$(VENV)/bin/scenarios report russia-iran --out reports --format png,svg --force

lint: $(STAMP)
	$(VENV)/bin/ruff check toolkit tests benchmarks
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff format toolkit tests benchmarks

# The suite runs in TEST_WORKERS processes (pytest-xdist; 0 runs it in this process).
TEST_WORKERS ?= 2
test: $(STAMP) lint
	$(PY) -m pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS))

bench: $(STAMP)
	$(PY) benchmarks/bench_engines.py
	$(PY) benchmarks/bench_dashboard.py
	$(PY) benchmarks/bench_dynamic.py
	$(PY) benchmarks/bench_sweep.py

WORLDS ?= 200
calibrate: $(STAMP)
	$(PY) benchmarks/calibrate.py --worlds $(WORLDS)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

APP_PORT ?= 8866
app: $(STAMP)
	$(VENV)/bin/voila notebooks/01_forecast_dashboard.ipynb --port=$(APP_PORT) \
	  --Voila.ip=127.0.0.1 --no-browser --show_tracebacks=True

clean:
	rm -rf $(VENV) reports .pytest_cache .ruff_cache
