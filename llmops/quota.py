"""Per-key token quota, reserved before an upstream call and settled after it, atomically.

``QUOTA_STORE_URL`` picks the backend (the same values as ``STATE_STORE_URL``):

* ``database`` (embedded profile): one conditional ``UPDATE api_key SET used_quota = used_quota + n
  WHERE id = ? AND used_quota + n <= quota`` per reservation. The row lock makes it atomic on
  PostgreSQL and SQLite alike; ``api_key.used_quota`` is always exact.
* ``redis://`` (production): a Lua script checks and decrements ``llmops:quota:<key id>`` (the
  tokens left) in one step, so any number of api replicas share one budget without touching the
  database on the hot path. The counter is seeded from the database row (``quota - used_quota``)
  the first time a key is seen; the usage flush (``usage_service.flush``) adds settled tokens to
  ``used_quota`` afterwards, so after a Redis restart a key can overspend by at most the usage
  not yet flushed (a second or so of traffic).

Keys with no quota (``None``) are never refused here. Amounts are tokens (prompt + completion).
"""

from __future__ import annotations

import uuid
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from llmops.models.api_key import ApiKey


class QuotaLedger(Protocol):
    #: True when ``settle`` already records the spend in ``api_key.used_quota``.
    persists_usage: bool

    def reserve(self, key_id: uuid.UUID, quota: int | None, used_quota: int, tokens: int) -> bool: ...
    def settle(self, key_id: uuid.UUID, quota: int | None, reserved: int, actual: int) -> None: ...
    def credit(self, key_id: uuid.UUID, tokens: int) -> None: ...
    def forget(self, key_id: uuid.UUID) -> None: ...


class DatabaseQuotaLedger:
    """Conditional updates of ``api_key.used_quota``, each in its own short transaction."""

    persists_usage = True

    def __init__(self, engine: Engine):
        self.engine = engine
        self.table = ApiKey.__table__

    def reserve(self, key_id: uuid.UUID, quota: int | None, used_quota: int, tokens: int) -> bool:
        """Add ``tokens`` to the key's use unless that passes its quota → whether it was added."""
        c = self.table.c
        with self.engine.begin() as conn:
            updated = conn.execute(self.table.update().where(
                c.id == key_id, sa.or_(c.quota.is_(None), c.used_quota + tokens <= c.quota),
            ).values(used_quota=c.used_quota + tokens)).rowcount
        return updated == 1

    def settle(self, key_id: uuid.UUID, quota: int | None, reserved: int, actual: int) -> None:
        """Replace the reservation by the tokens actually used."""
        if actual != reserved:
            c = self.table.c
            with self.engine.begin() as conn:
                conn.execute(self.table.update().where(c.id == key_id).values(used_quota=c.used_quota + (actual - reserved)))

    def credit(self, key_id: uuid.UUID, tokens: int) -> None:
        pass  # the quota column itself was raised by the caller's transaction

    def forget(self, key_id: uuid.UUID) -> None:
        pass


# KEYS[1] = tokens left; ARGV[1] = tokens → tokens left after, -1 (refused) or -2 (no counter yet).
_RESERVE = """
local remaining = redis.call('GET', KEYS[1])
if not remaining then
  return -2
end
if tonumber(remaining) >= tonumber(ARGV[1]) then
  return redis.call('DECRBY', KEYS[1], ARGV[1])
end
return -1
"""
# Adjust only a counter that exists: a missing one is seeded from the database when next needed.
_ADJUST = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return nil
"""


class RedisQuotaLedger:
    """Tokens left per key in Redis, checked and decremented by one Lua script. A missing counter
    is seeded (``SET NX``) from the database row, never from a cached snapshot of the key."""

    persists_usage = False

    def __init__(self, url: str, engine_factory):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.engine_factory = engine_factory
        self._reserve = self.client.register_script(_RESERVE)
        self._adjust = self.client.register_script(_ADJUST)
        self.prefix = "llmops:quota:"

    def reserve(self, key_id: uuid.UUID, quota: int | None, used_quota: int, tokens: int) -> bool:
        if quota is None:
            return True
        counter = self.prefix + str(key_id)
        result = int(self._reserve(keys=[counter], args=[tokens]))
        if result == -2:
            self._seed(key_id, counter)
            result = int(self._reserve(keys=[counter], args=[tokens]))
        return result >= 0

    def _seed(self, key_id: uuid.UUID, counter: str) -> None:
        table = ApiKey.__table__
        with self.engine_factory().connect() as conn:
            row = conn.execute(sa.select(table.c.quota, table.c.used_quota).where(table.c.id == key_id)).first()
        left = max((row.quota or 0) - row.used_quota, 0) if row is not None and row.quota is not None else 0
        self.client.set(counter, left, nx=True)

    def settle(self, key_id: uuid.UUID, quota: int | None, reserved: int, actual: int) -> None:
        if quota is not None and actual != reserved:
            self._adjust(keys=[self.prefix + str(key_id)], args=[reserved - actual])

    def credit(self, key_id: uuid.UUID, tokens: int) -> None:
        self._adjust(keys=[self.prefix + str(key_id)], args=[tokens])

    def forget(self, key_id: uuid.UUID) -> None:
        """Drop the counter (the quota was changed by hand): it is re-seeded from the database."""
        self.client.delete(self.prefix + str(key_id))


def make_quota_ledger(url: str, engine_factory) -> QuotaLedger:
    """The ledger named by ``url`` (``database`` or a redis:// URL)."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisQuotaLedger(url, engine_factory)
    if url == "database":
        return DatabaseQuotaLedger(engine_factory())
    raise ValueError(f"QUOTA_STORE_URL must be 'database' or a redis:// URL, not {url!r}")
