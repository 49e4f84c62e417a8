# Production images: `--target api` (gunicorn) and `--target worker` (Celery workers and beat).
# Both install the runtime requirement files that `make install` installs (requirements.txt and
# requirements-rag.txt, pinned by constraints.txt; tests/deploy/test_install_path.py checks that the
# two agree). requirements-dev.txt (tests, lint, benchmarks) is left out; so is requirements-llm.txt
# (the embedded profile's local llama.cpp model: production calls an OpenAI-compatible provider).
#
# The api carries the knowledge-base stack too: it embeds queries with the local model
# (sentence-transformers) and segments them for full-text search (jieba); the worker parses
# documents (unstructured) as well.
#
# torch is pinned in constraints.txt; PyPI's Linux wheel of it is the CUDA build (several GB). For
# the CPU build pass a wheel index or a mirror that has it: --build-arg PIP_EXTRA_INDEX_URL=...
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: compilers and a virtual environment with every runtime dependency -----------------------
FROM ${PYTHON_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
ARG PIP_EXTRA_INDEX_URL=""
RUN python -m venv /opt/venv && pip install --upgrade pip wheel
WORKDIR /build
COPY requirements.txt requirements-rag.txt constraints.txt ./
COPY vendor/en_core_web_sm ./vendor/en_core_web_sm
RUN pip install -r requirements.txt -r requirements-rag.txt -c constraints.txt
# As in the Makefile: unstructured[pdf] pulls in torchvision, whose PyPI wheel does not load beside
# the pinned CPU torch and breaks transformers' imports; the fast PDF strategy does not need it.
RUN pip uninstall -y torchvision

# --- web: the console (web/ → web/dist, served by the api at /), built from the lock file ------------
FROM node:20-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# --- runtime: no compilers; the app, the venv and an unprivileged user ------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# espeak-ng speaks the voice engine's audio answers (seed 001); libmagic1 lets unstructured
# recognise file types by content.
RUN apt-get update \
    && apt-get install -y --no-install-recommends espeak-ng libmagic1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /srv --shell /usr/sbin/nologin llmops \
    && mkdir -p /srv/instance && chown llmops /srv/instance
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LLMOPS_CONFIG=production \
    LLMOPS_INSTANCE_DIR=/srv/instance \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    SCARF_NO_ANALYTICS=true \
    DO_NOT_TRACK=true
WORKDIR /srv/app
COPY --chown=root:root . .
COPY --from=web --chown=root:root /web/dist ./web/dist
USER llmops

# --- api: gunicorn with gevent workers (WEB_CONCURRENCY, default 4 in production) --------------------
FROM runtime AS api
ENV API_HOST=0.0.0.0 API_PORT=5000
EXPOSE 5000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/healthz', timeout=3)"]
CMD ["gunicorn", "-c", "workers/gunicorn.conf.py", "wsgi:app"]

# --- worker: one Celery worker for the queues given (compose runs one service per queue) ------------
FROM runtime AS worker
CMD ["celery", "-A", "celery_app", "worker", "-Q", "indexing,memory,usage,maintenance", "--loglevel", "INFO"]
