# Two commands do all set-up on a fresh machine (see README.md):
#   make run   – install, migrate, seed the demo merchant, serve the prod build
#   make test  – install, then unit + end-to-end tests on SQLite and PostgreSQL

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 3000
BUN := tools/node_modules/.bin/bun
export PATH := $(CURDIR)/tools/node_modules/.bin:$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test test-unit test-e2e deps browser bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(BUN): tools/package.json
	cd tools && npm install --no-audit --no-fund --silent
	touch $@

deps: $(VENV)/.installed $(BUN)

# Debian's Chromium for Playwright (Playwright's own browser download cannot work here).
browser:
	@command -v chromium >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

run: deps
	$(BIN)/python -m perkstar_ui.cli migrate
	$(BIN)/python -m perkstar_ui.cli seed-demo
	@echo ""
	@echo "  Perkstar is starting at http://localhost:$(PORT)/login"
	@echo "  Demo login: demo@perkstar.test / perkstar-demo"
	@echo ""
	PERKSTAR_PORT=$(PORT) $(BIN)/reflex run --env prod --single-port --backend-port $(PORT)

test: deps browser
	$(BIN)/python scripts/run_tests.py

test-unit: deps
	$(BIN)/python -m pytest tests/unit

bench: deps
	$(BIN)/python -m bench.run

clean:
	rm -rf .web .states $(VENV) tools/node_modules perkstar.db*
