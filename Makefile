# Vitrina: `make demo` runs the product with demo data; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test install lint services clean frontend

# The product alone for the demo; the test tools (ruff, localstripe, notebooks) on top.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

install: $(STAMP)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

# The web cabinet: built into frontend/dist (served by the API at /) when it is missing or
# older than its sources; npm ci installs exactly the lock file, and no browser is downloaded.
FRONTEND_DIST := frontend/dist/index.html
FRONTEND_SOURCES := $(shell find frontend/src -type f 2>/dev/null) frontend/index.html \
	frontend/package.json frontend/package-lock.json frontend/vite.config.ts frontend/tsconfig.json

FRONTEND_MODULES := frontend/node_modules/.package-lock.json

$(FRONTEND_MODULES): frontend/package-lock.json
	cd frontend && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error

$(FRONTEND_DIST): $(FRONTEND_MODULES) $(FRONTEND_SOURCES)
	cd frontend && npm run build
	touch $(FRONTEND_DIST)

frontend: $(FRONTEND_DIST)

demo: $(STAMP) $(FRONTEND_DIST)
	$(BIN)/vitrina demo setup
	$(BIN)/vitrina demo serve

# PostgreSQL and Redis servers for the throwaway instances the tests start, unless the
# caller names existing ones with TEST_DATABASE_URL and TEST_REDIS_URL.
services:
	@if [ -z "$$TEST_DATABASE_URL" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi
	@if [ -z "$$TEST_REDIS_URL" ] && ! command -v redis-server >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; fi
	@if [ ! -x /usr/bin/chromium ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi

test: $(TEST_STAMP) services $(FRONTEND_MODULES) $(FRONTEND_DIST)
	cd frontend && npm test --silent
	$(BIN)/ruff check .
	$(BIN)/pytest

clean:
	rm -rf var .pytest_cache test-artifacts
