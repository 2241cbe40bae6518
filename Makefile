# Golden Hour: the two commands are `make run` and `make test` (README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
SIMULATE ?= 1

.PHONY: run test lint setup install services-test clean scale

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version.split()[0]'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Migrate, build the road map (cached after the first time) and load the demo region.
setup: $(STAMP)
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py build_map
	$(BIN)/python manage.py seed_demo --base-url http://$(HOST):$(PORT)

run: setup
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT) $(if $(filter 1,$(SIMULATE)),--simulate,)

# The suite in parallel workers, one per core up to four (pytest-xdist).
PYTEST_WORKERS := -n auto --maxprocesses 4

# PYTEST_ARGS: more options for that run (.ci/run asks for the slowest tests' durations).
PYTEST_ARGS ?=

test: setup
	$(BIN)/python -m pytest $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The tests that need PostgreSQL, Redis and several processes (run by .ci/run).
services-test: setup
	REQUIRE_SERVICES=1 $(BIN)/python -m pytest -m services -n 2

# N daphne behind one address, a Celery worker and beat, on PostgreSQL and Redis
# (docs/operations.md, "At scale"); DATABASE_URL and REDIS_URL override the local defaults.
SERVERS ?= 2
scale: $(STAMP)
	$(BIN)/python -m scripts.scale --servers $(SERVERS) --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

clean:
	rm -rf var .mypy_cache .ruff_cache
