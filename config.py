"""Configuration: the only module that reads the process environment.

Two profiles share one code path; they differ only in the URLs below.

* embedded default (``make run``): SQLite under ``instance/``, a SQLite-backed Celery broker,
  Chroma on disk, the local llama.cpp model on 127.0.0.1;
* production (``docker-compose.yml``): ``DATABASE_URL`` (PostgreSQL), ``REDIS_URL``
  (broker, shared state, rate limits), ``CHROMA_URL`` and any OpenAI-compatible provider.

``load_config()`` picks the class named by ``LLMOPS_CONFIG`` (``default``, ``production``,
``testing``) and every value may be overridden by an environment variable of the same name.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _env_float(name: str, default: float) -> float:
    return float(_env(name, str(default)))


def celery_settings(broker_url: str, longest_task_s: int) -> dict:
    """Celery settings; the visibility timeout must exceed the longest task (seconds)."""
    # kombu's SQLAlchemy transport hands broker_transport_options to create_engine(), so the
    # Redis-only visibility timeout must not be passed to it.
    transport_options: dict = {}
    if broker_url.startswith(("redis://", "rediss://")):
        transport_options = {"visibility_timeout": longest_task_s * 2}
    return {
        "broker_url": broker_url,
        "broker_transport_options": transport_options,
        "broker_connection_retry_on_startup": True,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": longest_task_s,
        "task_soft_time_limit": max(longest_task_s - 30, 30),
        "task_default_queue": "memory",
        "task_routes": {
            "llmops.tasks.memory.*": {"queue": "memory"},
            "llmops.tasks.conversations.*": {"queue": "memory"},
            "llmops.tasks.maintenance.*": {"queue": "maintenance"},
            "llmops.tasks.usage.purge_usage_logs": {"queue": "maintenance"},
            "llmops.tasks.usage.reconcile_usage": {"queue": "maintenance"},
            "llmops.tasks.indexing.*": {"queue": "indexing"},
            "llmops.tasks.usage.*": {"queue": "usage"},
        },
        "imports": ("llmops.tasks.memory", "llmops.tasks.maintenance", "llmops.tasks.indexing", "llmops.tasks.usage",
                    "llmops.tasks.conversations"),
        "beat_schedule": {
            "redispatch-pending-memory": {
                "task": "llmops.tasks.maintenance.redispatch_pending_memory",
                "schedule": 60.0,
            },
            "redispatch-stuck-documents": {
                "task": "llmops.tasks.maintenance.redispatch_stuck_documents",
                "schedule": 120.0,
            },
            "sweep-index-orphans": {
                "task": "llmops.tasks.maintenance.sweep_index_orphans",
                "schedule": 3600.0,
            },
            "purge-expired-state": {
                "task": "llmops.tasks.maintenance.purge_expired_state",
                "schedule": 3600.0,
            },
            "sweep-orphan-files": {
                "task": "llmops.tasks.maintenance.sweep_orphan_files",
                "schedule": 6 * 3600.0,
            },
            "reconcile-usage": {
                "task": "llmops.tasks.usage.reconcile_usage",
                "schedule": 60.0,
            },
            "purge-usage-logs": {
                "task": "llmops.tasks.usage.purge_usage_logs",
                "schedule": 3600.0,
            },
        },
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
    }


class Config:
    """Embedded default profile: nothing to install beyond the project's own files."""

    ENV_NAME = "default"
    # Where the embedded profile keeps its files (database, broker, Chroma, uploads, the secret key).
    INSTANCE_DIR = Path(_env("LLMOPS_INSTANCE_DIR", str(BASE_DIR / "instance")))
    # Signs sessions; unset: a random key generated once and kept in ``instance/secret_key``
    # (0600) by ``llmops/secret_keys.py``. The production profile refuses to start without a
    # SECRET_KEY of at least SECRET_KEY_MIN_LENGTH characters (and never the old development default).
    SECRET_KEY = _env("SECRET_KEY")
    SECRET_KEY_MIN_LENGTH = 32
    GENERATE_SECRET_KEY = True
    JWT_SECRET_KEY = _env("JWT_SECRET_KEY")  # unset: SECRET_KEY
    # Encrypts secrets kept for users (seed 000's per-conversation upstream API keys); unset:
    # SECRET_KEY. Changing it makes the stored keys unreadable (they must be re-sent).
    DATA_ENCRYPTION_KEY = _env("DATA_ENCRYPTION_KEY")
    # Seed 000's document upload answers once the document is indexed (its clients expect the
    # segment count); past this many seconds it answers with the document still indexing.
    SEED000_UPLOAD_WAIT_S = _env_float("SEED000_UPLOAD_WAIT_S", 120.0)
    # Studio tokens (seconds): a short-lived access token and a refresh token (``POST /auth/refresh``).
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(seconds=_env_int("JWT_ACCESS_TOKEN_EXPIRES", 15 * 60))
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(seconds=_env_int("JWT_REFRESH_TOKEN_EXPIRES", 30 * 24 * 3600))
    # Seed 000's ``/api/users/login`` token (seconds): its clients cannot refresh, so it lives longer.
    SEED000_TOKEN_EXPIRES = timedelta(seconds=_env_int("SEED000_TOKEN_EXPIRES", 7 * 24 * 3600))
    # Who may create an account: "open" (anyone), "invite" (an admin's invite code), "closed" (CLI only).
    REGISTRATION = _env("REGISTRATION", "open")
    # An account's status (disabled flag, session version) is cached this long in the state store (seconds);
    # every change rewrites it at once, so this only bounds how long a lost write could linger.
    ACCOUNT_STATE_TTL_S = _env_int("ACCOUNT_STATE_TTL_S", 3600)
    JWT_ENCODE_ISSUER = "llmops"
    JWT_DECODE_ISSUER = "llmops"
    JWT_ALGORITHM = "HS256"
    JSON_SORT_KEYS = False
    # The largest request body accepted (bytes); larger ones answer 413.
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 16 * 1024 * 1024)

    # The database (SQLAlchemy URL): SQLite for the embedded profile, PostgreSQL in production.
    SQLALCHEMY_DATABASE_URI = _env(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'llmops.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # Shared state (token revocation, stop flags, caches): "database" or a redis:// URL.
    STATE_STORE_URL = _env("STATE_STORE_URL", _env("REDIS_URL", "database"))
    # Gateway token quotas (llmops/quota.py): "database" (conditional SQL) or a redis:// URL (Lua).
    QUOTA_STORE_URL = _env("QUOTA_STORE_URL", STATE_STORE_URL)
    # Per process: a request past this many concurrent Redis calls waits for a connection (5 s at most).
    REDIS_MAX_CONNECTIONS = _env_int("REDIS_MAX_CONNECTIONS", 256)
    # flask-limiter storage: memory:// is right for the single embedded api process.
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", _env("REDIS_URL", "memory://"))
    RATELIMIT_HEADERS_ENABLED = True
    # Password logins per e-mail address.
    LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute")

    # The Celery broker: a SQLite file (embedded) or Redis. Tasks may run LONGEST_TASK_SECONDS at most
    # (the Redis visibility timeout is twice that).
    BROKER_URL = _env("CELERY_BROKER_URL", _env("REDIS_URL", f"sqla+sqlite:///{INSTANCE_DIR / 'broker.db'}"))
    LONGEST_TASK_SECONDS = _env_int("LONGEST_TASK_SECONDS", 1800)
    CELERY = celery_settings(BROKER_URL, LONGEST_TASK_SECONDS)
    # A long-term-memory fold still pending after this many seconds is dispatched again.
    MEMORY_REDISPATCH_AFTER_S = _env_int("MEMORY_REDISPATCH_AFTER_S", 120)

    # Where uploaded files are kept, and the largest upload (bytes; larger ones answer 413).
    UPLOAD_FOLDER = _env("UPLOAD_FOLDER", str(INSTANCE_DIR / "uploads"))
    # The web console's build (web/dist, made by `make run`), served at / by llmops/api/console.py.
    CONSOLE_DIST = _env("CONSOLE_DIST", str(BASE_DIR / "web" / "dist"))
    UPLOAD_MAX_BYTES = _env_int("UPLOAD_MAX_BYTES", 15 * 1024 * 1024)
    # Uploads, parsed text and images (llmops/storage.py): "local" (UPLOAD_FOLDER: one machine
    # only) or "s3" (an S3-compatible object store every api and worker host reaches).
    STORAGE_BACKEND = _env("STORAGE_BACKEND", "local")
    S3_BUCKET = _env("S3_BUCKET", "llmops")
    S3_ENDPOINT_URL = _env("S3_ENDPOINT_URL")  # unset: AWS S3; e.g. http://minio:9000
    S3_REGION = _env("S3_REGION", "us-east-1")
    S3_ACCESS_KEY_ID = _env("S3_ACCESS_KEY_ID")
    S3_SECRET_ACCESS_KEY = _env("S3_SECRET_ACCESS_KEY")
    S3_PREFIX = _env("S3_PREFIX", "")  # object names start with this (a bucket shared with others)
    # The maintenance beat deletes stored files no record needs once they are this old (seconds).
    ORPHAN_FILE_GRACE_S = _env_int("ORPHAN_FILE_GRACE_S", 3600)
    # A studio front end served from another origin (comma-separated origins, e.g.
    # "http://localhost:5173"; "*" allows any origin but then without credentials). Unset: no CORS.
    CORS_ORIGINS = [o.strip() for o in (_env("CORS_ORIGINS", "") or "").split(",") if o.strip()]
    # Front ends written for the course platform read only the envelope's ``code``: "1" answers
    # envelope errors with HTTP 200 (the status stays in the body's ``code``).
    ENVELOPE_ERRORS_HTTP_200 = _env("ENVELOPE_ERRORS_HTTP_200", "0").lower() in ("1", "true", "yes", "on")
    # Embeddings: "local" (all-MiniLM-L6-v2) or an OpenAI-compatible API (base URL + model + dim).
    EMBEDDING_PROVIDER = _env("EMBEDDING_PROVIDER", "local")
    EMBEDDING_BASE_URL = _env("EMBEDDING_BASE_URL")
    EMBEDDING_API_KEY = _env("EMBEDDING_API_KEY")
    EMBEDDING_MODEL = _env("EMBEDDING_MODEL", "all-MiniLM-L6-v2")
    EMBEDDING_DIMENSION = _env_int("EMBEDDING_DIMENSION", 384)
    EMBEDDING_BATCH_SIZE = _env_int("EMBEDDING_BATCH_SIZE", 64)
    # Threads the local embedding model uses per worker process; 0 = CPU cores / worker processes
    # (``CELERY_WORKER_CONCURRENCY``), so parsing in one process overlaps embedding in another.
    EMBEDDING_THREADS = _env_int("EMBEDDING_THREADS", 0)
    # Full-text snapshots kept per process, in postings (~8 bytes each); least recently used go first.
    FULLTEXT_CACHE_MAX_POSTINGS = _env_int("FULLTEXT_CACHE_MAX_POSTINGS", 20_000_000)
    # A document left in a pipeline stage longer than this is dispatched again (beat, worker start).
    DOCUMENT_STUCK_AFTER_S = _env_int("DOCUMENT_STUCK_AFTER_S", 900)
    # Claims on background work (seconds): an indexing run / memory fold holds its row this long
    # and renews it every third of that while it works; a killed run's work is re-dispatched once
    # its lease lapses. A document whose runs die this many times in a row stops with an error.
    INDEXING_LEASE_S = _env_int("INDEXING_LEASE_S", 60)
    INDEXING_MAX_ATTEMPTS = _env_int("INDEXING_MAX_ATTEMPTS", 3)
    MEMORY_LEASE_S = _env_int("MEMORY_LEASE_S", 60)
    # A memory fold whose runs die this many times in a row (e.g. its worker is killed each time)
    # is given up: the round is marked ``failed`` and stays out of the summary.
    MEMORY_MAX_ATTEMPTS = _env_int("MEMORY_MAX_ATTEMPTS", 3)
    # A document waiting for a service that is down (vector store, embedding provider) is queued
    # again after this many seconds.
    INDEXING_RETRY_DELAY_S = _env_int("INDEXING_RETRY_DELAY_S", 30)
    # Parsing bounds per document: wall time (s), pages (PDF pages, slides), bytes a PDF's streams
    # or an Office file's parts expand to.
    PARSE_TIMEOUT_S = _env_int("PARSE_TIMEOUT_S", 300)
    PARSE_MAX_PAGES = _env_int("PARSE_MAX_PAGES", 2000)
    PARSE_MAX_DECOMPRESSED_BYTES = _env_int("PARSE_MAX_DECOMPRESSED_BYTES", 200 * 1024 * 1024)
    # Bytes of uploaded files an account may keep (413 past it); 0 = no limit.
    ACCOUNT_STORAGE_BYTES = _env_int("ACCOUNT_STORAGE_BYTES", 1024 * 1024 * 1024)
    CHROMA_URL = _env("CHROMA_URL")  # http://host:8000 → HttpClient; unset → PersistentClient
    CHROMA_PATH = _env("CHROMA_PATH", str(INSTANCE_DIR / "chroma"))

    # Model registry: YAML shipped in the repo, base URLs and keys from the environment.
    MODEL_REGISTRY_PATH = _env(
        "MODEL_REGISTRY_PATH", str(BASE_DIR / "llmops" / "providers" / "models.yaml")
    )
    # The local llama.cpp server (started by ``make run``) and the model new apps start on.
    LOCAL_LLM_BASE_URL = _env("LOCAL_LLM_BASE_URL", "http://127.0.0.1:8081/v1")
    DEFAULT_LLM_PROVIDER = _env("DEFAULT_LLM_PROVIDER", "local")
    DEFAULT_LLM_MODEL = _env("DEFAULT_LLM_MODEL", "smollm2-135m")
    # Every *_API_KEY variable, so the registry can name a provider's key by its variable.
    PROVIDER_API_KEYS = {k: v for k, v in os.environ.items() if k.endswith("_API_KEY") and v}
    # LLMOPS_BASE_URL_<PROVIDER>=https://... overrides a provider's base URL.
    PROVIDER_BASE_URLS = {
        k[len("LLMOPS_BASE_URL_"):].lower(): v
        for k, v in os.environ.items()
        if k.startswith("LLMOPS_BASE_URL_") and v
    }
    # Upstream model calls: connect timeout, idle gap, whole-call deadline (seconds) and retries
    # before the first byte.
    LLM_CONNECT_TIMEOUT_S = _env_float("LLM_CONNECT_TIMEOUT_S", 5.0)
    LLM_READ_TIMEOUT_S = _env_float("LLM_READ_TIMEOUT_S", 60.0)  # idle gap between stream chunks
    LLM_TOTAL_TIMEOUT_S = _env_float("LLM_TOTAL_TIMEOUT_S", 300.0)
    LLM_MAX_RETRIES = _env_int("LLM_MAX_RETRIES", 2)

    # A ``ping`` event is sent on a quiet stream this often (seconds), so proxies keep it open.
    SSE_PING_INTERVAL_S = _env_float("SSE_PING_INTERVAL_S", 10.0)
    # How long ``GET /analysis/:app_id`` serves a computed result from the state store (seconds).
    ANALYSIS_CACHE_TTL_S = _env_int("ANALYSIS_CACHE_TTL_S", 60)

    # Gateway (/v1): API keys are looked up at most this often per process (seconds).
    API_KEY_CACHE_TTL_S = _env_float("API_KEY_CACHE_TTL_S", 10.0)
    # Usage records are buffered per api process and sent to the ``usage`` queue in batches.
    USAGE_FLUSH_INTERVAL_S = _env_float("USAGE_FLUSH_INTERVAL_S", 1.0)
    USAGE_FLUSH_BATCH = _env_int("USAGE_FLUSH_BATCH", 500)
    # A settled call whose usage row is not written after this many seconds (its process died with
    # the row in its buffer) is written by the reconciliation job (beat, each minute); a call not
    # settled LLM_TOTAL_TIMEOUT_S + this after it started is settled by it (usage_service.reconcile).
    USAGE_HOLD_GRACE_S = _env_float("USAGE_HOLD_GRACE_S", 120.0)
    # An upstream that failed (429/5xx/timeout) is tried last for this many seconds.
    GATEWAY_COOLDOWN_S = _env_float("GATEWAY_COOLDOWN_S", 30.0)
    # Usage-log rows are kept this many days (seed 004: 30), then rolled up per day and deleted.
    USAGE_LOG_RETENTION_DAYS = _env_int("USAGE_LOG_RETENTION_DAYS", 30)
    # Money is in integer credits, 1 credit = 1e-6 USD. A new account starts with this many
    # (default 0: nobody spends the operator's paid provider keys until given credit by an admin
    # grant or a redeem code; price-0 models such as the local one are free anyway).
    NEW_ACCOUNT_CREDIT = _env_int("NEW_ACCOUNT_CREDIT", 0)
    # Price of the configured embedding model in USD per 1M tokens (= credits per token); set it
    # for a paid remote embedding API (EMBEDDING_PROVIDER=openai), 0 = free.
    EMBEDDING_PRICE = _env_float("EMBEDDING_PRICE", 0.0)
    # /api/redeem, per IP and per presented key: guessing codes is slowed down.
    REDEEM_RATE_LIMIT = _env("REDEEM_RATE_LIMIT", "10 per minute")
    # Seed 004's rate_limit.billing_query_limit / log_query_limit, per API key (per minute there).
    BILLING_QUERY_RATE_LIMIT = _env("BILLING_QUERY_RATE_LIMIT", "10 per minute")
    LOG_QUERY_RATE_LIMIT = _env("LOG_QUERY_RATE_LIMIT", "20 per minute")
    # Seed 003's /api/v1 clients send no key (it was an internal service): their requests are
    # charged to this API key (create one with `flask --app wsgi llmops create-api-key`).
    SEED003_API_KEY = _env("SEED003_API_KEY")
    # Those keyless requests are accepted only from these networks (CIDR list) and this often per IP.
    SEED003_ALLOWED_NETWORKS = _env("SEED003_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
    SEED003_RATE_LIMIT = _env("SEED003_RATE_LIMIT", "60 per minute")

    # Security (llmops/api/security.py). Behind a reverse proxy: how many X-Forwarded-For hops to
    # trust (0: the headers are ignored; per-IP limits then see the proxy's address).
    TRUSTED_PROXY_HOPS = _env_int("TRUSTED_PROXY_HOPS", 0)
    # Failed API-key authentications per client address before the key surfaces answer 429.
    API_KEY_FAILURE_RATE_LIMIT = _env("API_KEY_FAILURE_RATE_LIMIT", "20 per minute")
    # Keys kept in each process's key cache (least recently used go first).
    API_KEY_CACHE_SIZE = _env_int("API_KEY_CACHE_SIZE", 10_000)
    # /metrics answers only with "Authorization: Bearer <METRICS_TOKEN>" when set.
    METRICS_TOKEN = _env("METRICS_TOKEN")
    # Speech synthesis (voice engine audio): per sentence, a deadline and a cap on espeak-ng's output.
    TTS_TIMEOUT_S = _env_float("TTS_TIMEOUT_S", 20.0)
    TTS_MAX_OUTPUT_BYTES = _env_int("TTS_MAX_OUTPUT_BYTES", 8 * 1024 * 1024)
    # Image URLs in chat messages are fetched by the server (public addresses only) and inlined.
    IMAGE_FETCH_TIMEOUT_S = _env_float("IMAGE_FETCH_TIMEOUT_S", 10.0)
    IMAGE_FETCH_MAX_BYTES = _env_int("IMAGE_FETCH_MAX_BYTES", 10 * 1024 * 1024)
    IMAGE_FETCH_MAX_IMAGES = _env_int("IMAGE_FETCH_MAX_IMAGES", 8)
    IMAGE_FETCH_ALLOW_PRIVATE = False  # tests only: allow loopback/private image hosts

    # Third-party login (course module 06): GitHub OAuth app credentials and the front end's
    # callback URL; the GitHub URLs are overridable (tests serve a local OAuth 2 provider).
    GITHUB_CLIENT_ID = _env("GITHUB_CLIENT_ID")
    GITHUB_CLIENT_SECRET = _env("GITHUB_CLIENT_SECRET")
    GITHUB_REDIRECT_URI = _env("GITHUB_REDIRECT_URI")
    GITHUB_AUTHORIZE_URL = _env("GITHUB_AUTHORIZE_URL", "https://github.com/login/oauth/authorize")
    GITHUB_TOKEN_URL = _env("GITHUB_TOKEN_URL", "https://github.com/login/oauth/access_token")
    GITHUB_API_URL = _env("GITHUB_API_URL", "https://api.github.com")
    # ``state`` must come back with the code (CSRF); a front end that sends only ``code`` needs false.
    OAUTH_STATE_REQUIRED = _env("OAUTH_STATE_REQUIRED", "1") not in ("0", "false", "no")
    OAUTH_STATE_TTL_S = _env_int("OAUTH_STATE_TTL_S", 600)
    OAUTH_HTTP_TIMEOUT_S = _env_float("OAUTH_HTTP_TIMEOUT_S", 10.0)

    # Agents with tools (llmops/tools, docs/api.md "Agents with tools"): the loop's limits per turn,
    # the tools an app may bind, outgoing tool calls, and the keys of builtin tools that need an
    # internet service (a builtin tool whose key is unset is hidden and refused on save).
    AGENT_MAX_ITERATIONS = _env_int("AGENT_MAX_ITERATIONS", 5)
    AGENT_TIME_BUDGET_S = _env_float("AGENT_TIME_BUDGET_S", 120.0)
    AGENT_MAX_TOOLS = _env_int("AGENT_MAX_TOOLS", 10)
    TOOL_HTTP_TIMEOUT_S = _env_float("TOOL_HTTP_TIMEOUT_S", 10.0)
    TOOL_MAX_RESPONSE_BYTES = _env_int("TOOL_MAX_RESPONSE_BYTES", 512 * 1024)
    TOOL_OBSERVATION_MAX_CHARS = _env_int("TOOL_OBSERVATION_MAX_CHARS", 4000)
    # API tools and the URL fetcher refuse loopback/private/link-local addresses unless this is set.
    API_TOOLS_ALLOW_PRIVATE = _env("API_TOOLS_ALLOW_PRIVATE", "0") in ("1", "true", "yes")
    SERPER_API_KEY = _env("SERPER_API_KEY")
    SERPER_BASE_URL = _env("SERPER_BASE_URL", "https://google.serper.dev")
    OPENWEATHER_API_KEY = _env("OPENWEATHER_API_KEY")
    OPENWEATHER_BASE_URL = _env("OPENWEATHER_BASE_URL", "https://api.openweathermap.org")
    IMAGE_GENERATION_API_KEY = _env("IMAGE_GENERATION_API_KEY")
    IMAGE_GENERATION_BASE_URL = _env("IMAGE_GENERATION_BASE_URL", "https://api.openai.com/v1")
    # The assistant agent's model (course module 13); unset: the studio's helper model.
    ASSISTANT_AGENT_PROVIDER = _env("ASSISTANT_AGENT_PROVIDER")
    ASSISTANT_AGENT_MODEL = _env("ASSISTANT_AGENT_MODEL")

    # Server process settings (read by workers/gunicorn.conf.py).
    # API_PORT, not PORT: process runners such as honcho set PORT for every process they start.
    HOST = _env("API_HOST", "127.0.0.1")
    PORT = _env_int("API_PORT", 5000)
    WEB_CONCURRENCY = _env_int("WEB_CONCURRENCY", 1)
    WORKER_CONNECTIONS = _env_int("WORKER_CONNECTIONS", 2000)
    ACCESS_LOG = _env("ACCESS_LOG", "1") not in ("0", "false", "no")
    # gunicorn workers' Prometheus samples (multiprocess mode), emptied when the api starts.
    PROMETHEUS_MULTIPROC_DIR = _env("PROMETHEUS_MULTIPROC_DIR", str(INSTANCE_DIR / "prometheus"))


class ProductionConfig(Config):
    """Production profile: PostgreSQL, Redis and a Chroma server, from the environment."""

    ENV_NAME = "production"
    GENERATE_SECRET_KEY = False
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
    HOST = _env("API_HOST", "0.0.0.0")
    WEB_CONCURRENCY = _env_int("WEB_CONCURRENCY", 4)
    REGISTRATION = _env("REGISTRATION", "invite")


class TestingConfig(Config):
    """Used by the test-suite; tests pass the URLs of the profile they exercise."""

    ENV_NAME = "testing"
    TESTING = True
    LOGIN_RATE_LIMIT = "1000 per minute"
    API_KEY_FAILURE_RATE_LIMIT = "10000 per minute"  # tests send many wrong keys on purpose
    SEED003_RATE_LIMIT = "10000 per minute"
    RATELIMIT_STORAGE_URI = "memory://"
    LLM_MAX_RETRIES = 0
    # Tests drain the usage buffer themselves (``tests/api/test_gateway.flush``); a background flush
    # in between would send records to the broker, out of the test's reach.
    USAGE_FLUSH_INTERVAL_S = 3600.0
    # API tests index documents themselves; seed 000's upload answers at once.
    SEED000_UPLOAD_WAIT_S = 0.0


REGISTRATION_POLICIES = ("open", "invite", "closed")
for _config in (Config, ProductionConfig):
    if _config.REGISTRATION not in REGISTRATION_POLICIES:
        raise ValueError(f"REGISTRATION must be one of {', '.join(REGISTRATION_POLICIES)}, not {_config.REGISTRATION!r}")

CONFIGS = {"default": Config, "production": ProductionConfig, "testing": TestingConfig}


def load_config(name: str | None = None) -> type[Config]:
    """Return the configuration class named by ``name`` or ``LLMOPS_CONFIG`` (default ``default``)."""
    return CONFIGS[name or _env("LLMOPS_CONFIG", "default")]


def process_environment() -> dict[str, str]:
    """Variables that keep every library offline (docs/offline.md); set by wsgi.py and celery_app.py."""
    return {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "SCARF_NO_ANALYTICS": "true",
        "DO_NOT_TRACK": "true",
        "UNSTRUCTURED_DISABLE_NOTICE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    }


def apply_process_environment() -> None:
    """Set the offline variables in this process (before heavy libraries are imported)."""
    for key, value in process_environment().items():
        os.environ.setdefault(key, value)
