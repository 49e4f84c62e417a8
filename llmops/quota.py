"""Money held for model calls: the account's balance and the calling key's cap, reserved together
before an upstream call and settled after it, atomically. Amounts are integer credits
(1 credit = 1e-6 USD).

A reservation takes ``n`` credits from the account's ``balance`` and adds them to the key's
``used_quota`` (when a key makes the call), only if both allow it: the balance stays >= 0 and
``used_quota <= quota`` (a key without ``quota`` has no cap of its own). ``settle`` replaces the
reservation by the real cost; when the real cost exceeds what was reserved (the upstream counted
more prompt tokens than our estimate), the excess is taken only as far as the balance goes — the
balance never goes below 0, and what was taken (``charged``) is what the usage log records.

``QUOTA_STORE_URL`` picks the backend (the same values as ``STATE_STORE_URL``):

* ``database`` (embedded profile): conditional ``UPDATE``s of the key row and then the account row
  in one transaction (``... WHERE used_quota + n <= quota``, ``... WHERE balance >= n``); either
  refusing rolls both back. Row locks make it atomic on PostgreSQL and SQLite alike, and the
  fixed order (key, then account) cannot deadlock. ``account.balance``/``used`` and
  ``api_key.used_quota`` are always exact.
* ``redis://`` (production): one Lua script checks and decrements both counters
  (``llmops:bal:<account>``, credits left; ``llmops:cap:<key>``, credits left under the key's cap),
  so any number of api replicas share one budget without touching the database on the hot path.
  A missing counter is seeded from the database row; the usage flush (``usage_service.write_usage``)
  applies settled costs to the rows afterwards. Documented worst case: after a Redis restart an
  account can overspend by the usage not yet flushed (a second or so of traffic); a grant racing
  the very first seeding of a counter can reach Redis only at its next seeding.

Every admin grant, debit and redeemed code changes ``account.balance`` in the database first and
then calls ``credit`` so the Redis counter (when it exists) moves by the same amount.

**Holds** (nothing lost when a process dies): ``reserve`` may record a hold (``Hold``) — the call's
request id, what was reserved and the usage row to write if the call never settles — in the same
atomic step (the Lua script, or the reservation's transaction in ``quota_hold``); ``settle``
turns it into the settled usage row in the same step, and refuses (returns ``(None, None)``)
when the hold was already settled, so a call is never settled twice. The usage writer deletes
holds whose rows it stored; ``expired_holds`` lists the rest past their expiry for the
reconciliation job (``usage_service.reconcile``): an open one is settled at its ``lost_cost``,
a settled one (its row died in a process's buffer) is written.

**The account's standing** (the gateway's hot path): ``reserve`` may be given ``standing``, the
Redis key where ``account_service`` publishes the account's ``"<disabled 0|1>:<version>"`` in the
state store, when the ledger shares the state store's Redis (``reads_state``). The script then
refuses a disabled account (``ACCOUNT_DISABLED``) and reserves nothing when the key is absent
(``STANDING_UNKNOWN``: the caller loads it from the database and retries) in the same round trip
as the reservation, instead of a ``GET`` of its own before it.

``acquire_stream``/``release_stream`` count a key's open streams (``api_key.max_streams``): in
Redis a sorted set of open streams with an expiry (a crashed process's streams time out); in the
embedded profile, which runs one api process, a per-process counter.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from llmops.models import Account, ApiKey, QuotaHold

KEY_REFUSED, ACCOUNT_REFUSED = "key", "account"
ACCOUNT_DISABLED, STANDING_UNKNOWN = "disabled", "standing-unknown"  # refusals of a reservation given ``standing``
HOLDS, HOLD_EXPIRIES = "llmops:holds", "llmops:holds:expiry"  # the Redis ledger's holds
UNCAPPED = 2**62  # the Redis cap counter of a key without a cap of its own


@dataclass
class Hold:
    """What ``reserve`` records with a reservation: the call's ``request_id``, the usage row to
    write if its process dies before settling (``record``), the credits that row costs
    (``lost_cost``) and when the call is certainly over (``expires_at``, Unix seconds)."""

    request_id: str
    record: dict
    lost_cost: int
    expires_at: float


class QuotaLedger(Protocol):
    #: True when ``settle`` already applies the cost to the database rows.
    persists_usage: bool

    def reserve(self, account_id: uuid.UUID, key_id: uuid.UUID | None, credits: int,
                hold: Hold | None = None, standing: str | None = None) -> str | None: ...
    def reads_state(self, store) -> bool: ...
    def settle(self, account_id: uuid.UUID, key_id: uuid.UUID | None, reserved: int, actual: int,
               hold_id: str | None = None, record: dict | None = None,
               grace_s: float = 120.0) -> tuple[int | None, int | None]: ...
    def release_holds(self, request_ids: list[str], session) -> None: ...
    def expired_holds(self, now: float, limit: int) -> list[dict]: ...
    def credit(self, account_id: uuid.UUID, credits: int) -> None: ...
    def forget(self, key_id: uuid.UUID) -> None: ...
    def acquire_stream(self, key_id: uuid.UUID, limit: int, ttl_s: float) -> str | None: ...
    def release_stream(self, key_id: uuid.UUID, token: str) -> None: ...


class _LocalStreams:
    """Open streams per key in this process (the embedded profile has one api process)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._open: dict[uuid.UUID, set[str]] = {}

    def acquire_stream(self, key_id: uuid.UUID, limit: int, ttl_s: float) -> str | None:
        """A token for one more open stream of the key, or None when ``limit`` are open."""
        with self._lock:
            streams = self._open.setdefault(key_id, set())
            if len(streams) >= limit:
                return None
            token = uuid.uuid4().hex
            streams.add(token)
            return token

    def release_stream(self, key_id: uuid.UUID, token: str) -> None:
        with self._lock:
            self._open.get(key_id, set()).discard(token)


class DatabaseQuotaLedger(_LocalStreams):
    """Conditional updates of ``api_key.used_quota`` and ``account.balance``/``used``, each call
    in its own short transaction."""

    persists_usage = True

    def __init__(self, engine: Engine):
        super().__init__()
        self.engine = engine
        self.keys = ApiKey.__table__
        self.accounts = Account.__table__
        self.holds = QuotaHold.__table__

    def reserve(self, account_id: uuid.UUID, key_id: uuid.UUID | None, credits: int,
                hold: Hold | None = None, standing: str | None = None) -> str | None:
        """Hold ``credits`` on the key and the account (and record ``hold``) → None, or which one
        refused (``"key"``/``"account"``; then nothing is held). ``standing`` must be None (this
        ledger reads no state store: ``reads_state``)."""
        if standing is not None:
            raise ValueError("the database ledger cannot check an account's standing")
        if credits <= 0 and hold is None:
            return None
        k, a = self.keys.c, self.accounts.c
        with self.engine.connect() as conn, conn.begin() as transaction:
            if credits > 0 and key_id is not None:
                held = conn.execute(self.keys.update().where(
                    k.id == key_id, sa.or_(k.quota.is_(None), k.used_quota + credits <= k.quota),
                ).values(used_quota=k.used_quota + credits)).rowcount
                if held != 1:
                    transaction.rollback()
                    return KEY_REFUSED
            if credits > 0:
                held = conn.execute(self.accounts.update().where(a.id == account_id, a.balance >= credits)
                                    .values(balance=a.balance - credits)).rowcount
                if held != 1:
                    transaction.rollback()
                    return ACCOUNT_REFUSED
            if hold is not None:
                conn.execute(self.holds.insert().values(
                    request_id=hold.request_id, account_id=account_id, api_key_id=key_id, reserved=max(credits, 0),
                    state="open", record=json.dumps({"record": hold.record, "lost_cost": hold.lost_cost}),
                    expires_at=_naive(hold.expires_at)))
        return None

    def settle(self, account_id: uuid.UUID, key_id: uuid.UUID | None, reserved: int, actual: int,
               hold_id: str | None = None, record: dict | None = None,
               grace_s: float = 120.0) -> tuple[int | None, int | None]:
        """Replace the reservation by the real cost → (credits charged, balance after); the excess
        over the reservation is taken as far as the balance goes. With ``hold_id``: the hold
        becomes ``record`` (cost and balance filled in) in the same transaction; (None, None) and
        nothing changed when it is not open any more (already settled)."""
        if hold_id is None and reserved == 0 and actual == 0:
            return 0, None
        with self.engine.connect() as conn, conn.begin() as transaction:
            if hold_id is not None:
                taken = conn.execute(self.holds.update().where(
                    self.holds.c.request_id == hold_id, self.holds.c.state == "open").values(state="settled")).rowcount
                if taken != 1:  # settled already (by the call, or by the reconciliation job)
                    transaction.rollback()
                    return None, None
            charged, balance = self._settle(conn, account_id, key_id, reserved, actual)
            if hold_id is not None:
                row = {**(record or {}), "cost_credits": charged, "cost_usd": charged / 1_000_000,
                       "balance_after": balance}
                conn.execute(self.holds.update().where(self.holds.c.request_id == hold_id).values(
                    state="settled", record=json.dumps({"record": row}),
                    expires_at=_naive(time.time() + grace_s)))
        return charged, balance

    def _settle(self, conn, account_id: uuid.UUID, key_id: uuid.UUID | None, reserved: int,
                actual: int) -> tuple[int, int | None]:
        if reserved == 0 and actual == 0:
            return 0, None
        a, k = self.accounts.c, self.keys.c
        extra = actual - reserved
        row = conn.execute(self.accounts.update().where(a.id == account_id, a.balance >= extra)
                           .values(balance=a.balance - extra, used=a.used + actual)
                           .returning(a.balance)).first()
        charged = actual
        if row is None:  # the excess is more than is left: take what is left (compare-and-set)
            while row is None:
                left = conn.execute(sa.select(a.balance).where(a.id == account_id)).scalar()
                if left is None:
                    return 0, None
                charged = reserved + max(left, 0)
                row = conn.execute(self.accounts.update().where(a.id == account_id, a.balance == left)
                                   .values(balance=a.balance - (charged - reserved), used=a.used + charged)
                                   .returning(a.balance)).first()
        if key_id is not None and charged != reserved:
            conn.execute(self.keys.update().where(k.id == key_id)
                         .values(used_quota=k.used_quota + (charged - reserved)))
        return charged, int(row.balance)

    def release_holds(self, request_ids: list[str], session) -> None:
        """Drop the holds of usage rows ``session`` is writing (in its transaction)."""
        if request_ids:
            session.execute(self.holds.delete().where(self.holds.c.request_id.in_(request_ids)))

    def expired_holds(self, now: float, limit: int) -> list[dict]:
        """Holds past their expiry → dicts ``request_id``, ``account_id``, ``key_id``, ``reserved``,
        ``state`` and the stored ``record`` (plus ``lost_cost`` for an open hold)."""
        h = self.holds.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(self.holds).where(h.expires_at < _naive(now))
                                .order_by(h.expires_at).limit(limit)).all()
        return [{"request_id": r.request_id, "account_id": r.account_id, "key_id": r.api_key_id,
                 "reserved": int(r.reserved), "state": r.state, **json.loads(r.record)} for r in rows]

    def reads_state(self, store) -> bool:
        return False

    def credit(self, account_id: uuid.UUID, credits: int) -> None:
        pass  # the balance column itself was changed by the caller's transaction

    def forget(self, key_id: uuid.UUID) -> None:
        pass


# KEYS: account counter, key counter, holds hash, holds expiry zset, the account's standing;
# ARGV: credits, "1" when the key counter applies, hold request id ("" for none), hold JSON, hold
# expiry, "1" when the standing is checked.
# → 1 held, -1 account refused, -4 key refused, -2/-3 account/key counter missing (seed it),
# -5 the account is disabled, -6 its standing is not published (load it).
_RESERVE = """
if ARGV[6] == '1' then
  local standing = redis.call('GET', KEYS[5])
  if not standing then return -6 end
  if string.sub(standing, 1, 1) == '1' then return -5 end
end
local need = tonumber(ARGV[1])
if need > 0 then
  local balance = redis.call('GET', KEYS[1])
  if not balance then return -2 end
  if ARGV[2] == '1' then
    local left = redis.call('GET', KEYS[2])
    if not left then return -3 end
    if tonumber(left) < need then return -4 end
  end
  if tonumber(balance) < need then return -1 end
  redis.call('DECRBY', KEYS[1], need)
  if ARGV[2] == '1' then redis.call('DECRBY', KEYS[2], need) end
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[3])
end
return 1
"""
# KEYS as _RESERVE; ARGV: excess over the reservation (may be negative), "1" when the key counter
# applies, hold request id ("" for none), the settled usage row (JSON), its expiry, reserved.
# → {taken, 1}, or {0, 0} when the hold is not open any more (nothing changed).
_SETTLE = """
if ARGV[3] ~= '' then
  local hold = redis.call('HGET', KEYS[3], ARGV[3])
  if not hold then return {0, 0} end
  if cjson.decode(hold)['state'] ~= 'open' then return {0, 0} end
end
local take = tonumber(ARGV[1])
local balance = redis.call('GET', KEYS[1])
if balance then
  balance = tonumber(balance)
  if take > 0 and take > balance then take = math.max(balance, 0) end
  redis.call('DECRBY', KEYS[1], take)
end
if ARGV[2] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then redis.call('DECRBY', KEYS[2], take) end
if ARGV[3] ~= '' then
  local row = cjson.decode(ARGV[4])
  row['cost_credits'] = tonumber(ARGV[6]) + take
  redis.call('HSET', KEYS[3], ARGV[3], cjson.encode({state = 'settled', record = row}))
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[3])
end
return {take, 1}
"""
# Adjust only a counter that exists: a missing one is seeded from the database when next needed.
_ADJUST = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return nil
"""
# KEYS: the key's open streams (sorted set, score = expiry); ARGV: now, expiry, limit, token.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) - tonumber(ARGV[1])) + 60)
return 1
"""


class RedisQuotaLedger:
    """Credits left per account and per capped key in Redis, checked and decremented by one Lua
    script. A missing counter is seeded (``SET NX``) from the database row, never from a cached
    snapshot."""

    persists_usage = False

    def __init__(self, url: str, engine_factory, max_connections: int = 256):
        from llmops.state import redis_client

        self.url = url
        self.client = redis_client(url, max_connections)
        self.engine_factory = engine_factory
        self._reserve = self.client.register_script(_RESERVE)
        self._settle = self.client.register_script(_SETTLE)
        self._adjust = self.client.register_script(_ADJUST)
        self._acquire = self.client.register_script(_ACQUIRE)

    @staticmethod
    def _counters(account_id: uuid.UUID, key_id: uuid.UUID | None) -> list[str]:
        return [f"llmops:bal:{account_id}", f"llmops:cap:{key_id}" if key_id else "llmops:cap:-"]

    def reserve(self, account_id: uuid.UUID, key_id: uuid.UUID | None, credits: int,
                hold: Hold | None = None, standing: str | None = None) -> str | None:
        """As ``DatabaseQuotaLedger.reserve``, in one script; with ``standing`` (see the module's
        docstring) also ``ACCOUNT_DISABLED`` or ``STANDING_UNKNOWN``, and then nothing is held."""
        if credits <= 0 and hold is None and standing is None:
            return None
        keys = [*self._counters(account_id, key_id), HOLDS, HOLD_EXPIRIES, standing or HOLDS]
        capped = "1" if key_id is not None else "0"
        hold_args = ["", "", 0]
        if hold is not None:
            hold_args = [hold.request_id, orjson.dumps({"state": "open", "reserved": max(credits, 0),
                                                        "lost_cost": hold.lost_cost, "record": hold.record}),
                         hold.expires_at]
        args = [max(credits, 0), capped, *hold_args, "1" if standing else "0"]
        for _ in range(3):
            result = int(self._reserve(keys=keys, args=args))
            if result == -2:
                self._seed_account(account_id, keys[0])
            elif result == -3:
                self._seed_key(key_id, keys[1])
            else:
                break
        if result == 1:
            return None
        return {-4: KEY_REFUSED, -5: ACCOUNT_DISABLED, -6: STANDING_UNKNOWN}.get(result, ACCOUNT_REFUSED)

    def reads_state(self, store) -> bool:
        """Whether ``store`` (a ``llmops.state`` store) lives in this ledger's Redis, so a reservation
        can check a key of it (``standing``) in the same step."""
        return getattr(store, "url", None) == self.url and hasattr(store, "redis_key")

    def _seed_account(self, account_id: uuid.UUID, counter: str) -> None:
        table = Account.__table__
        with self.engine_factory().connect() as conn:
            balance = conn.execute(sa.select(table.c.balance).where(table.c.id == account_id)).scalar()
        self.client.set(counter, max(balance or 0, 0), nx=True)

    def _seed_key(self, key_id: uuid.UUID, counter: str) -> None:
        table = ApiKey.__table__
        with self.engine_factory().connect() as conn:
            row = conn.execute(sa.select(table.c.quota, table.c.used_quota).where(table.c.id == key_id)).first()
        if row is None:
            left = 0
        else:
            left = UNCAPPED if row.quota is None else max(row.quota - row.used_quota, 0)
        self.client.set(counter, left, nx=True)

    def settle(self, account_id: uuid.UUID, key_id: uuid.UUID | None, reserved: int, actual: int,
               hold_id: str | None = None, record: dict | None = None,
               grace_s: float = 120.0) -> tuple[int | None, int | None]:
        """→ (credits charged, None): the database rows follow at the usage flush; (None, None)
        when the hold ``hold_id`` is not open any more (nothing changed)."""
        if hold_id is None and reserved == 0 and actual == 0:
            return 0, None
        keys = [*self._counters(account_id, key_id), HOLDS, HOLD_EXPIRIES]
        taken, fresh = self._settle(keys=keys, args=[
            actual - reserved, "1" if key_id is not None else "0", hold_id or "",
            orjson.dumps(record or {}), time.time() + grace_s, reserved])
        if not int(fresh):
            return None, None
        return reserved + int(taken), None

    def release_holds(self, request_ids: list[str], session=None) -> None:
        """Drop the holds of usage rows that are being written."""
        if request_ids:
            pipe = self.client.pipeline(transaction=False)
            pipe.hdel(HOLDS, *request_ids)
            pipe.zrem(HOLD_EXPIRIES, *request_ids)
            pipe.execute()

    def expired_holds(self, now: float, limit: int) -> list[dict]:
        """As ``DatabaseQuotaLedger.expired_holds``."""
        ids = [i.decode() if isinstance(i, bytes) else i
               for i in self.client.zrangebyscore(HOLD_EXPIRIES, "-inf", now, start=0, num=limit)]
        if not ids:
            return []
        holds = []
        for request_id, raw in zip(ids, self.client.hmget(HOLDS, ids), strict=True):
            if raw is None:  # written meanwhile
                self.client.zrem(HOLD_EXPIRIES, request_id)
                continue
            hold = json.loads(raw)
            record = hold.get("record") or {}
            holds.append({"request_id": request_id, "account_id": uuid.UUID(record["account_id"]),
                          "key_id": uuid.UUID(record["api_key_id"]) if record.get("api_key_id") else None,
                          "reserved": int(hold.get("reserved", 0)), **hold})
        return holds

    def counters(self) -> dict[str, int]:
        """Every account and key counter in Redis → {name: credits left} (for the drift check)."""
        names = [n.decode() if isinstance(n, bytes) else n
                 for pattern in ("llmops:bal:*", "llmops:cap:*") for n in self.client.scan_iter(pattern, count=1000)]
        values = self.client.mget(names) if names else []
        return {n: int(v) for n, v in zip(names, values, strict=True) if v is not None}

    def adjust(self, counter: str, delta: int) -> None:
        """Move an existing counter by ``delta`` (the reconciliation's correction)."""
        self._adjust(keys=[counter], args=[delta])

    def credit(self, account_id: uuid.UUID, credits: int) -> None:
        self._adjust(keys=[self._counters(account_id, None)[0]], args=[credits])

    def forget(self, key_id: uuid.UUID) -> None:
        """Drop the key's cap counter (its cap was changed): re-seeded from the database."""
        self.client.delete(self._counters(uuid.UUID(int=0), key_id)[1])

    def acquire_stream(self, key_id: uuid.UUID, limit: int, ttl_s: float) -> str | None:
        token, now = uuid.uuid4().hex, time.time()
        held = self._acquire(keys=[f"llmops:streams:{key_id}"], args=[now, now + ttl_s, limit, token])
        return token if int(held) == 1 else None

    def release_stream(self, key_id: uuid.UUID, token: str) -> None:
        self.client.zrem(f"llmops:streams:{key_id}", token)


def _naive(unix_s: float) -> datetime:
    """Unix seconds → the naive-UTC datetime the database stores."""
    return datetime.fromtimestamp(unix_s, UTC).replace(tzinfo=None)


def make_quota_ledger(url: str, engine_factory, max_connections: int = 256) -> QuotaLedger:
    """The ledger named by ``url`` (``database`` or a redis:// URL; ``max_connections`` bounds its pool)."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisQuotaLedger(url, engine_factory, max_connections)
    if url == "database":
        return DatabaseQuotaLedger(engine_factory())
    raise ValueError(f"QUOTA_STORE_URL must be 'database' or a redis:// URL, not {url!r}")
