"""Shared short-lived state seen by every process: token revocations, stream stop flags.

``STATE_STORE_URL`` picks the backend: ``database`` (the embedded profile: a table in the same
SQLite/PostgreSQL database) or a ``redis://`` URL (production: shared by every api replica).
Keys expire after ``ttl_s`` seconds.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from llmops.models.base import utcnow
from llmops.models.platform import StateEntry


class StateStore(Protocol):
    def set(self, key: str, value: str, ttl_s: int) -> None: ...
    def add(self, key: str, value: str, ttl_s: int) -> bool: ...
    def get(self, key: str) -> str | None: ...
    def delete(self, key: str) -> None: ...
    def ping(self) -> None: ...


class DatabaseStateStore:
    """Rows in ``state_entry``; each call is its own short transaction (not the request's)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.table = StateEntry.__table__

    def set(self, key: str, value: str, ttl_s: int) -> None:
        expires_at = utcnow() + timedelta(seconds=ttl_s)
        with self.engine.begin() as conn:
            updated = conn.execute(
                self.table.update().where(self.table.c.key == key).values(value=value, expires_at=expires_at)
            ).rowcount
            if not updated:
                try:
                    with conn.begin_nested():
                        conn.execute(self.table.insert().values(key=key, value=value, expires_at=expires_at))
                except sa.exc.IntegrityError:  # a concurrent set won the insert: overwrite it
                    conn.execute(
                        self.table.update().where(self.table.c.key == key).values(value=value, expires_at=expires_at)
                    )

    def add(self, key: str, value: str, ttl_s: int) -> bool:
        """Set ``key`` only when it is absent (or expired); True when this call set it."""
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(self.table.delete().where(self.table.c.key == key, self.table.c.expires_at <= now))
            try:
                with conn.begin_nested():
                    conn.execute(self.table.insert().values(key=key, value=value,
                                                            expires_at=now + timedelta(seconds=ttl_s)))
            except sa.exc.IntegrityError:
                return False
        return True

    def get(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(self.table.c.value).where(self.table.c.key == key, self.table.c.expires_at > utcnow())
            ).scalar()

    def delete(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.table.delete().where(self.table.c.key == key))

    def purge_expired(self) -> int:
        """Delete expired rows; returns how many (run by the maintenance beat job)."""
        with self.engine.begin() as conn:
            return conn.execute(self.table.delete().where(self.table.c.expires_at <= utcnow())).rowcount

    def ping(self) -> None:
        self.get("__ping__")


def redis_client(url: str, max_connections: int = 256, timeout_s: float = 5.0):
    """A Redis client for one process whose pool *waits* (up to ``timeout_s`` seconds) for a free
    connection once ``max_connections`` are in use. redis-py's default pool raises
    ``MaxConnectionsError`` at 100 instead, which a gevent worker holding hundreds of concurrent
    requests (each touching Redis a few times) reaches at once."""
    import redis

    pool = redis.BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=timeout_s,
                                                 socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
    return redis.Redis(connection_pool=pool)


class RedisStateStore:
    """Keys under ``llmops:state:`` in Redis with native expiry."""

    def __init__(self, url: str, max_connections: int = 256):
        self.url = url
        self.client = redis_client(url, max_connections)
        self.prefix = "llmops:state:"

    def redis_key(self, key: str) -> str:
        """The Redis key holding ``key`` (a Lua script of the quota ledger reads it: ``llmops.quota``)."""
        return self.prefix + key

    def set(self, key: str, value: str, ttl_s: int) -> None:
        self.client.set(self.prefix + key, value, ex=max(int(ttl_s), 1))

    def add(self, key: str, value: str, ttl_s: int) -> bool:
        return bool(self.client.set(self.prefix + key, value, ex=max(int(ttl_s), 1), nx=True))

    def get(self, key: str) -> str | None:
        value = self.client.get(self.prefix + key)
        return value.decode() if value is not None else None

    def delete(self, key: str) -> None:
        self.client.delete(self.prefix + key)

    def purge_expired(self) -> int:
        return 0  # Redis expires keys itself

    def ping(self) -> None:
        self.client.ping()


def make_state_store(url: str, engine_factory, max_connections: int = 256) -> StateStore:
    """Build the store named by ``url``; ``engine_factory()`` gives the SQLAlchemy engine;
    ``max_connections`` bounds a Redis store's pool in this process."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStateStore(url, max_connections)
    if url == "database":
        return DatabaseStateStore(engine_factory())
    raise ValueError(f"STATE_STORE_URL must be 'database' or a redis:// URL, not {url!r}")
