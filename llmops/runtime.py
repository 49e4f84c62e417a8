"""The per-process objects of one app — clients, pools and caches — in one typed object.

``create_app`` builds a ``Runtime`` as ``app.runtime``; code running in an app context reads it with
``runtime()`` (``runtime().vector_store``, ``runtime().api_key_cache``, ...). Providers and rag never
call ``runtime()``: a service passes them the objects they need.

Members come in three kinds, each declared here with its type:

* **eager** attributes set in ``__init__`` (the state store and the money ledger: every request
  may need them, and a bad URL should fail at start-up);
* ``@per_process`` members, built on first use (under the runtime's lock, so once) and dropped in
  a child process made by ``fork`` (Celery's prefork pool, a preloaded gunicorn) so the child builds
  its own: sockets, connection pools, threads and locks do not survive a fork, and a cache copied
  from the parent would be served stale;
* ``@built_once`` members, built on first use and kept across a fork (an object an eager member
  already holds, which must stay the same object).

Adding a member: declare it below — an eager one as an annotated attribute set in ``__init__``, a
lazy one as a method under ``@per_process`` (or ``@built_once``) whose return annotation is its type
and whose body builds it from ``self.config`` — and read it as ``runtime().<name>``. Tests replace a
member with ``monkeypatch.setattr(app.runtime, "<name>", value)`` and forget a lazy one with
``app.runtime.reset("<name>")``. Flask extensions keep their own ``app.extensions`` entries.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from cachetools import LRUCache, TTLCache
from flask import Flask, current_app

if TYPE_CHECKING:
    import redis
    import sqlalchemy as sa

    from llmops.providers.chat import ChatClient
    from llmops.providers.embeddings import EmbeddingModel
    from llmops.providers.registry import ModelRegistry
    from llmops.providers.relay import RelayClient
    from llmops.quota import QuotaLedger
    from llmops.rag.fulltext import IndexCache
    from llmops.rag.vector_store import VectorStore
    from llmops.services.core.usage_service import UsageBuffer
    from llmops.state import StateStore
    from llmops.storage import Storage

T = TypeVar("T")

# The model registry (YAML + environment + database overrides) is re-read at most this often,
# so every process sees a change made through another one within it.
REGISTRY_TTL_S = 5.0
# Chat clients built for users' own API keys kept per process (each holds a connection pool).
USER_KEY_CLIENTS_MAX = 64


class _Lazy(Generic[T]):
    """A member built by ``build(runtime)`` on first read and then stored on the instance."""

    def __init__(self, build: Callable[[Any], T], per_process: bool) -> None:
        self.build, self.per_process = build, per_process
        self.name = build.__name__
        self.__doc__ = build.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> _Lazy[T]: ...
    @overload
    def __get__(self, instance: Runtime, owner: type | None = None) -> T: ...

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        built = instance.__dict__
        if self.name in built:
            return built[self.name]
        with instance._lock:
            if self.name not in built:
                built[self.name] = self.build(instance)
            return built[self.name]


def per_process(build: Callable[[Any], T]) -> _Lazy[T]:
    """A lazy member built once per process (dropped in a forked child)."""
    return _Lazy(build, per_process=True)


def built_once(build: Callable[[Any], T]) -> _Lazy[T]:
    """A lazy member built once and kept across a fork."""
    return _Lazy(build, per_process=False)


class Runtime:
    """The clients and caches of one app in this process (see the module docstring)."""

    #: where the state store lives: a Redis server or this app's database (``llmops.state``)
    state_store: StateStore
    #: the money ledger: holds, reservations and stream slots (``llmops.quota``)
    quota_ledger: QuotaLedger
    #: endpoints that authenticate with an API key (failed attempts are limited per address);
    #: seeded by ``api.security``, learnt at an endpoint's first refused key
    key_auth_endpoints: set[str]
    #: computed from the finished URL map on first use by the api module that reads it
    console_api_segments: set[str] | None = None
    openapi_spec: dict[str, Any] | None = None

    def __init__(self, app: Flask) -> None:
        """Build the eager members from ``app.config`` (inside an app context: the database
        state store takes the app's engine)."""
        from llmops.extensions import db
        from llmops.quota import make_quota_ledger
        from llmops.state import make_state_store

        self.app = app
        self.config = app.config
        self._lock = threading.RLock()
        self.key_auth_endpoints = set()
        pool = app.config["REDIS_MAX_CONNECTIONS"]
        self.state_store = make_state_store(app.config["STATE_STORE_URL"], lambda: db.engine, pool)
        self.quota_ledger = make_quota_ledger(app.config["QUOTA_STORE_URL"], lambda: self.ledger_engine, pool)
        _runtimes.add(self)

    # -- storage and retrieval ------------------------------------------------------------

    @per_process
    def storage(self) -> Storage:
        """Uploaded files and parsed texts: the backend named by ``STORAGE_BACKEND``."""
        from llmops.storage import make_storage

        return make_storage(self.config)

    @per_process
    def embedding_model(self) -> EmbeddingModel:
        """The configured embedding model (the local one loads its weights on first use)."""
        from llmops.providers.embeddings import LocalEmbeddings, OpenAIEmbeddings

        config = self.config
        if config["EMBEDDING_PROVIDER"] == "local":
            return LocalEmbeddings(batch_size=config["EMBEDDING_BATCH_SIZE"], threads=config["EMBEDDING_THREADS"])
        return OpenAIEmbeddings(config["EMBEDDING_BASE_URL"], config["EMBEDDING_API_KEY"], config["EMBEDDING_MODEL"],
                                config["EMBEDDING_DIMENSION"], config["EMBEDDING_BATCH_SIZE"])

    @per_process
    def vector_store(self) -> VectorStore:
        """The vector store; its Chroma client is made on first use, so a process starts (and
        answers what needs no vectors) while its Chroma server is down."""
        from llmops.rag.vector_store import VectorStore, make_chroma_client

        url, path = self.config["CHROMA_URL"], self.config["CHROMA_PATH"]
        return VectorStore(factory=lambda: make_chroma_client(url, path))

    @per_process
    def fulltext_cache(self) -> IndexCache:
        """Full-text (BM25) snapshots per dataset, at most ``FULLTEXT_CACHE_MAX_POSTINGS`` postings."""
        from llmops.rag.fulltext import IndexCache

        return IndexCache(self.config["FULLTEXT_CACHE_MAX_POSTINGS"])

    # -- models and keys --------------------------------------------------------------------

    @per_process
    def model_registry(self) -> TTLCache[str, ModelRegistry]:
        """The model registry under the key ``"registry"`` for ``REGISTRY_TTL_S`` seconds."""
        return TTLCache(maxsize=1, ttl=REGISTRY_TTL_S, timer=time.monotonic)

    @per_process
    def chat_clients(self) -> dict[tuple[str, str, str], ChatClient]:
        """Chat clients with the providers' configured keys, by (provider, base URL, key)."""
        return {}

    @per_process
    def user_key_chat_clients(self) -> LRUCache[tuple[str, str, str], ChatClient]:
        """Chat clients with users' own keys (seed 000), the least recently used dropped beyond
        ``USER_KEY_CLIENTS_MAX`` (not closed: a stream may still use it)."""
        return LRUCache(maxsize=USER_KEY_CLIENTS_MAX)

    @per_process
    def api_key_cache(self) -> TTLCache[str, Any]:
        """API key digest → ``KeyPrincipal`` (or None for an unknown key), ``API_KEY_CACHE_SIZE``
        entries for ``API_KEY_CACHE_TTL_S`` seconds (``services.gateway.api_key_service``)."""
        return TTLCache(maxsize=self.config["API_KEY_CACHE_SIZE"], ttl=self.config["API_KEY_CACHE_TTL_S"],
                        timer=time.monotonic)

    @per_process
    def relay_clients(self) -> dict[tuple[str, str, str | None], RelayClient]:
        """The gateway's pooled upstream clients, by (provider, base URL, key)."""
        return {}

    @per_process
    def gateway_cooldowns(self) -> dict[tuple[str, str], float]:
        """(provider, model) → until when (``time.monotonic``) the gateway tries it after the others."""
        return {}

    # -- money, usage and metrics --------------------------------------------------------------

    @built_once
    def ledger_engine(self) -> sa.Engine:
        """The money ledger's own engine, with a pool of its own: a request holding its session's
        connection while it reserves or settles can never starve it (with one shared pool, N such
        requests waiting for a second connection would deadlock)."""
        import sqlalchemy as sa

        return sa.create_engine(self.config["SQLALCHEMY_DATABASE_URI"], pool_pre_ping=True, pool_size=5,
                                max_overflow=20)

    @per_process
    def usage_buffer(self) -> UsageBuffer:
        """Usage records waiting to be sent to the ``usage`` queue (a thread flushes them)."""
        from llmops.services.core.usage_service import UsageBuffer

        return UsageBuffer(self.app)

    @per_process
    def metrics_redis(self) -> redis.Redis:
        """A client of the Celery broker (Redis), to read queue depths for ``/metrics``."""
        import redis

        return redis.Redis.from_url(self.config["CELERY"]["broker_url"], socket_timeout=2, socket_connect_timeout=2)

    @per_process
    def metrics_broker_engine(self) -> sa.Engine:
        """An engine on the Celery broker's database (``sqla+`` transport), to read queue depths."""
        import sqlalchemy as sa

        return sa.create_engine(self.config["CELERY"]["broker_url"].removeprefix("sqla+"))

    # -- bookkeeping --------------------------------------------------------------------------

    def peek(self, name: str) -> Any | None:
        """Lazy member ``name`` if it has been built in this process, else None (never builds)."""
        return self.__dict__.get(name)

    def reset(self, *names: str) -> None:
        """Forget lazy members (all per-process ones when no name is given): the next read builds
        them again."""
        with self._lock:
            for name in names or _members(type(self), per_process=True):
                self.__dict__.pop(name, None)

    def _after_fork(self) -> None:
        # The lock may have been held by a thread that does not exist in the child.
        self._lock = threading.RLock()
        self.reset()


def _members(cls: type, per_process: bool) -> list[str]:
    return [name for name, value in vars(cls).items() if isinstance(value, _Lazy) and value.per_process == per_process]


def runtime() -> Runtime:
    """The current app's ``Runtime`` (needs an app context)."""
    return current_app.runtime  # type: ignore[attr-defined]  # set by create_app


_runtimes: weakref.WeakSet[Runtime] = weakref.WeakSet()


def _reset_after_fork() -> None:
    for each in list(_runtimes):
        each._after_fork()


os.register_at_fork(after_in_child=_reset_after_fork)
