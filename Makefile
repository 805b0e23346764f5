# Thin verbs; the logic lives in build/, collector/, tests/ and bench/.
# `make demo` and `make test` install what they need on a fresh machine.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TRACKER_SOURCES := $(wildcard tracker/*.py) $(wildcard tracker/jsruntime/org/transcrypt/*.py)
ACCOUNT ?=
COLLECTOR ?=
COOKIE_DOMAIN ?=
IDENTIFY_FORMS ?=
CONSENT ?=
CONSENT_TOOL ?=
CONSENT_CATEGORY ?=
# any (default), magento, shopify or custom: the store's data layers and cookie channels.
PLATFORM ?= any
BUILD_FLAGS = $(if $(IDENTIFY_FORMS),--identify-forms,) $(if $(CONSENT),--consent '$(CONSENT)' --consent-tool '$(CONSENT_TOOL)' --consent-category '$(CONSENT_CATEGORY)',) --platform '$(PLATFORM)'
PORT ?= 8000
# make demo SESSION_TIMEOUT=60 PURCHASE_GRACE=0: sessions end after a minute idle, then their
# triggers reach /demo/webhook (an abandoned basket's after PURCHASE_GRACE seconds more).
SESSION_TIMEOUT ?= 1800
PURCHASE_GRACE ?= 300
PYTEST_ARGS ?=

.PHONY: all
all: test

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

.PHONY: install
install: $(VENV)/.installed node_modules/.installed

dist/generic/ometria.js: $(TRACKER_SOURCES) build/build_tags.py package-lock.json $(wildcard accounts.toml) $(VENV)/.installed node_modules/.installed
	$(PY) build/build_tags.py --generic-only

# make build                                    every account in accounts.toml
# make build ACCOUNT=acme COLLECTOR=https://…    one account
.PHONY: build
build: install
ifeq ($(ACCOUNT),)
	$(PY) build/build_tags.py
else
	$(PY) build/build_tags.py --account '$(ACCOUNT)' --collector '$(COLLECTOR)' --cookie-domain '$(COOKIE_DOMAIN)' $(BUILD_FLAGS)
endif

# A readable bundle with a source map leading back to tracker/*.py (dist/dev/tags/).
.PHONY: build-dev
build-dev: install
ifeq ($(ACCOUNT),)
	$(PY) build/build_tags.py --dev
else
	$(PY) build/build_tags.py --dev --account '$(ACCOUNT)' --collector '$(COLLECTOR)' --cookie-domain '$(COOKIE_DOMAIN)' $(BUILD_FLAGS)
endif

.PHONY: chromium
chromium:
	scripts/ensure-chromium

# Every engine the engine job drives (Chromium, Firefox ESR, WebKitGTK, WPE), from Debian's packages.
.PHONY: engines
engines:
	scripts/ensure-engines

.PHONY: postgres
postgres:
	scripts/ensure-postgres

.PHONY: lint
lint: install
	$(VENV)/bin/ruff check .

.PHONY: test
# Two runs: unit, integration and browser tests on four workers (one test file per worker: its
# servers and fixtures stay together; most of their time is waiting, so four fit two CPUs), then
# the engine job on two (each engine's tests on one worker, two engines side by side).
test: install engines postgres lint dist/generic/ometria.js
	$(PY) -m pytest -n 4 --dist loadfile tests/unit tests/integration tests/browser $(PYTEST_ARGS)
	$(PY) -m pytest -n 2 --dist loadgroup tests/engines $(PYTEST_ARGS)

# The engine job alone; ENGINES=firefox (or chromium,wpe...) picks engines.
.PHONY: test-engines
test-engines: install engines dist/generic/ometria.js
	$(PY) -m pytest tests/engines $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: install
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

.PHONY: test-browser
test-browser: install chromium dist/generic/ometria.js
	$(PY) -m pytest tests/browser $(PYTEST_ARGS)

.PHONY: demo
demo: install build
	$(PY) -m collector serve --demo --port $(PORT) --session-timeout $(SESSION_TIMEOUT) --purchase-grace $(PURCHASE_GRACE)

# The same demo on PostgreSQL (a local cluster of its own) with two collector workers.
.PHONY: demo-postgres
demo-postgres: install postgres build
	PORT=$(PORT) SESSION_TIMEOUT=$(SESSION_TIMEOUT) PURCHASE_GRACE=$(PURCHASE_GRACE) $(PY) scripts/demo_postgres.py

.PHONY: serve
serve: install dist/generic/ometria.js
	$(PY) -m collector serve --port $(PORT)

bench/node_modules/.installed: bench/package.json bench/package-lock.json
	cd bench && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENV)/.bench-installed: bench/requirements.txt $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	touch $@

# Figures side by side with the peers: bench/results.json and bench/RESULTS.md (about 6 minutes).
.PHONY: bench
bench: install chromium postgres build bench/node_modules/.installed $(VENV)/.bench-installed
	scripts/ensure-apt /usr/bin/wrk wrk
	$(PY) bench/run.py

.PHONY: reliability
reliability: install chromium dist/generic/ometria.js
	$(PY) bench/reliability.py --report

.PHONY: schema
schema: install
	$(PY) -m collector schema > collector/contract.schema.json

.PHONY: clean
clean:
	rm -rf dist var .pytest_cache test-results
