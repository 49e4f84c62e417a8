"""Gateway usage: one record per request, buffered per process and written in batches.

``record`` never touches the database or the broker on the request path: it appends to this
process's buffer; a background flusher sends the buffer every ``USAGE_FLUSH_INTERVAL_S`` (or
``USAGE_FLUSH_BATCH`` records) as one message to the ``usage`` queue, and the worker's
``write_usage`` inserts the batch in one statement. ``request_id`` is unique, so a batch delivered
twice is written once. Each record with a cost also becomes an ``account_ledger`` row (kind
``usage``, one per settled call). When the quota ledger lives in Redis, ``write_usage`` also
applies the batch's costs (credits) to ``account.balance``/``used`` and ``api_key.used_quota``
(the database ledger already did that when the call settled).

Nothing is lost when a process stops: the buffer is flushed when the process exits (gunicorn's
``worker_exit`` hook on SIGTERM/restart, ``atexit`` otherwise), a flush the broker refuses is
written to the database directly, and each call's hold (``llmops.quota``) keeps its usage row
until that row is stored — so the reconciliation job (``reconcile``, beat) writes the rows of a
process killed outright and settles the calls it left open.
"""

from __future__ import annotations

import atexit
import json
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, current_app

from llmops.extensions import db
from llmops.models import Account, AccountLedger, ApiKey, UsageLog
from llmops.runtime import runtime
from llmops.services.common import enqueue

WRITE_USAGE_TASK = "llmops.tasks.usage.write_usage"
MAX_BUFFERED = 100_000


class UsageBuffer:
    """Records waiting to be sent; a daemon thread (a greenlet under gevent) flushes them."""

    def __init__(self, app: Flask):
        self.app = app
        self.records: list[dict] = []
        self.lock = threading.Lock()
        self.wakeup = threading.Event()
        self.thread: threading.Thread | None = None
        atexit.register(self.close)

    def add(self, record: dict) -> None:
        with self.lock:
            self.records.append(record)
            if len(self.records) > MAX_BUFFERED:  # the broker has been down a long time
                del self.records[: len(self.records) - MAX_BUFFERED]
            full = len(self.records) >= self.app.config["USAGE_FLUSH_BATCH"]
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="usage-flusher", daemon=True)
                self.thread.start()
        if full:
            self.wakeup.set()

    def drain(self) -> list[dict]:
        with self.lock:
            records, self.records = self.records, []
        return records

    def flush(self) -> int:
        """Send what is buffered as one ``usage`` message → how many records. When the broker
        refuses it, the records are written to the database directly; when that fails too they go
        back to the buffer for the next attempt."""
        records = self.drain()
        if not records:
            return 0
        try:
            enqueue(WRITE_USAGE_TASK, [records], "usage", app=self.app)
        except Exception:  # noqa: BLE001 — the broker is down: write them ourselves
            self.app.logger.warning("the broker refused %d usage records: writing them directly", len(records),
                                    exc_info=True)
            try:
                with self.app.app_context():
                    write_usage(records)
            except Exception:  # noqa: BLE001 — keep them; the next flush retries
                self.app.logger.exception("could not write %d usage records", len(records))
                with self.lock:
                    self.records[:0] = records
                return 0
        return len(records)

    def close(self) -> None:
        """Flush what is left (the process is exiting); safe to call more than once."""
        try:
            self.flush()
        except Exception:  # noqa: BLE001 — at exit: the holds let the reconciliation job recover them
            self.app.logger.exception("final usage flush failed")

    def _run(self) -> None:
        while True:
            self.wakeup.wait(self.app.config["USAGE_FLUSH_INTERVAL_S"])
            self.wakeup.clear()
            self.flush()


def record(**fields) -> None:
    """Queue one usage record (plain JSON values; see ``UsageLog`` for the fields)."""
    fields.setdefault("request_id", uuid.uuid4().hex)
    fields.setdefault("created_at", time.time())
    runtime().usage_buffer.add(fields)


def write_usage(records: list[dict]) -> int:
    """Insert a batch (the ``usage`` task) → rows written; duplicates by ``request_id`` are skipped."""
    if not records:
        return 0
    ids = [r["request_id"] for r in records]
    seen = set(db.session.scalars(sa.select(UsageLog.request_id).where(UsageLog.request_id.in_(ids))))
    rows, per_key, last_used, charges = [], defaultdict(int), {}, []
    for r in records:
        if r["request_id"] in seen:
            continue
        seen.add(r["request_id"])
        created = datetime.fromtimestamp(float(r["created_at"]), UTC).replace(tzinfo=None)
        key_id = uuid.UUID(r["api_key_id"]) if r.get("api_key_id") else None
        rows.append({
            "id": uuid.uuid4(), "request_id": r["request_id"], "api_key_id": key_id,
            "account_id": uuid.UUID(r["account_id"]), "endpoint": r["endpoint"], "model": r["model"][:128],
            "provider": r.get("provider", ""), "is_stream": bool(r.get("is_stream")),
            "prompt_tokens": int(r.get("prompt_tokens", 0)), "completion_tokens": int(r.get("completion_tokens", 0)),
            "estimated": bool(r.get("estimated")), "cost_usd": float(r.get("cost_usd", 0.0)),
            "cost_credits": int(r.get("cost_credits", 0)), "surface": str(r.get("surface") or "gateway")[:20],
            "latency_ms": int(r.get("latency_ms", 0)), "first_token_ms": r.get("first_token_ms"),
            "status": r["status"], "status_code": int(r.get("status_code", 200)), "error": (r.get("error") or "")[:2000],
            "created_at": created,
        })
        if key_id is not None:
            per_key[key_id] += int(r.get("cost_credits", 0))
            last_used[key_id] = max(last_used.get(key_id, created), created)
        if int(r.get("cost_credits", 0)) > 0:
            charges.append((r, created))
    if rows:
        db.session.execute(sa.insert(UsageLog), rows)
    ledger = runtime().quota_ledger
    persisted = ledger.persists_usage
    if persisted:
        ledger.release_holds(ids, db.session)  # the database ledger: in this transaction
    for r, created in charges:
        _ledger_usage(r, created, persisted)
    for key_id, when in last_used.items():
        values = {"last_used_at": when}
        if not persisted:
            values["used_quota"] = ApiKey.used_quota + per_key[key_id]
        db.session.execute(sa.update(ApiKey).where(ApiKey.id == key_id).values(**values))
    db.session.commit()
    if not persisted:
        ledger.release_holds(ids)  # only once the rows are stored: a failed commit keeps them for the reconciliation
    return len(rows)


def _ledger_usage(record: dict, created: datetime, persisted: bool) -> None:
    """The ledger row of one settled call; with the Redis ledger, apply its cost to the account
    first (the database ledger applied it when the call settled and sent the balance after it)."""
    cost, account_id = int(record["cost_credits"]), uuid.UUID(record["account_id"])
    balance = record.get("balance_after")
    if not persisted:
        balance = db.session.execute(sa.update(Account).where(Account.id == account_id).values(
            balance=Account.balance - cost, used=Account.used + cost).returning(Account.balance)).scalar()
    elif balance is None:
        balance = db.session.scalar(sa.select(Account.balance).where(Account.id == account_id))
    if balance is None:
        return  # the account is gone
    db.session.add(AccountLedger(account_id=account_id, delta=-cost, balance_after=int(balance), kind="usage",
                                 reason=f"{record.get('surface') or 'gateway'} {record['model']}"[:500],
                                 request_id=record["request_id"], created_at=created))


def flush_on_exit(app: Flask) -> None:
    """Flush ``app``'s usage buffer now (gunicorn's ``worker_exit`` hook)."""
    usage = app.runtime.peek("usage_buffer")
    if usage is not None:
        usage.close()


DRIFT_STATE_KEY = "quota:drift"


def reconcile(now: float | None = None, limit: int = 1000) -> dict:
    """The reconciliation job (beat): settle and write calls whose process died, then compare
    the Redis ledger with the database.

    * an **open** hold past its expiry (the call started ``LLM_TOTAL_TIMEOUT_S`` +
      ``USAGE_HOLD_GRACE_S`` ago and never settled) is settled at its estimated prompt and its
      usage row written with status ``lost``;
    * a **settled** hold past its expiry (its row died in a process's buffer) has its row written;
    * Redis ledger only: each account counter and capped key counter is compared with the
      database (``balance`` or ``quota - used_quota``, less what open holds reserve and what
      settled holds' unwritten rows cost); a difference found twice in a row, unchanged, is
      corrected in Redis. The drift is kept for ``/metrics`` (``llmops_quota_drift_credits``).

    → ``{"settled", "written", "drift_credits", "drift_counters", "corrected"}``."""
    ledger = runtime().quota_ledger
    now = time.time() if now is None else now
    grace = current_app.config["USAGE_HOLD_GRACE_S"]
    records, settled = [], 0
    for hold in ledger.expired_holds(now, limit):
        record = dict(hold.get("record") or {})
        if hold["state"] == "open":
            charged, balance = ledger.settle(hold["account_id"], hold["key_id"], hold["reserved"],
                                             int(hold.get("lost_cost") or 0), hold_id=hold["request_id"],
                                             record=record, grace_s=grace)
            if charged is None:
                continue  # the call settled meanwhile
            record.update(cost_credits=charged, balance_after=balance)
            settled += 1
        record["cost_usd"] = int(record.get("cost_credits") or 0) / 1_000_000
        records.append(record)
    if records:
        write_usage(records)
    result = {"settled": settled, "written": len(records), "drift_credits": 0, "drift_counters": 0, "corrected": 0}
    if hasattr(ledger, "counters"):
        result.update(_reconcile_drift(ledger))
    store = runtime().state_store
    store.set(DRIFT_STATE_KEY, json.dumps({"credits": result["drift_credits"], "counters": result["drift_counters"],
                                           "at": now}), 7 * 24 * 3600)
    return result


def _reconcile_drift(ledger) -> dict:
    """Compare the Redis counters with the database; correct a drift seen unchanged twice."""
    from llmops.quota import HOLDS

    holds = [json.loads(raw) for raw in ledger.client.hvals(HOLDS)]
    counters = ledger.counters()
    pending: dict[str, int] = defaultdict(int)  # credits Redis took that the database has not seen
    for hold in holds:
        record = hold.get("record") or {}
        amount = int(hold.get("reserved") or 0) if hold.get("state") == "open" else int(record.get("cost_credits") or 0)
        pending[f"llmops:bal:{record.get('account_id')}"] += amount
        if record.get("api_key_id"):
            pending[f"llmops:cap:{record['api_key_id']}"] += amount
    accounts = {n: uuid.UUID(n.rsplit(":", 1)[1]) for n in counters if n.startswith("llmops:bal:")}
    keys = {n: uuid.UUID(n.rsplit(":", 1)[1]) for n in counters if n.startswith("llmops:cap:") and n != "llmops:cap:-"}
    db.session.expire_all()
    expected: dict[str, int] = {}
    if accounts:
        balances = dict(db.session.execute(sa.select(Account.id, Account.balance)
                                           .where(Account.id.in_(accounts.values()))).all())
        expected.update({n: max(balances[i], 0) for n, i in accounts.items() if i in balances})
    if keys:
        rows = db.session.execute(sa.select(ApiKey.id, ApiKey.quota, ApiKey.used_quota)
                                  .where(ApiKey.id.in_(keys.values()), ApiKey.quota.is_not(None))).all()
        caps = {r.id: max(r.quota - r.used_quota, 0) for r in rows}
        expected.update({n: caps[i] for n, i in keys.items() if i in caps})
    db.session.rollback()
    drift = {n: expected[n] - pending.get(n, 0) - counters[n] for n in expected if n in counters}
    drift = {n: d for n, d in drift.items() if d}
    store = runtime().state_store
    previous = json.loads(store.get("quota:drift:counters") or "{}")
    corrected = 0
    for name, delta in drift.items():
        if previous.get(name) == delta:
            ledger.adjust(name, delta)
            corrected += 1
    store.set("quota:drift:counters", json.dumps({n: d for n, d in drift.items() if previous.get(n) != d}), 3600)
    return {"drift_credits": sum(abs(d) for d in drift.values()), "drift_counters": len(drift), "corrected": corrected}


def last_drift() -> dict | None:
    """The last reconciliation's drift ``{"credits", "counters", "at"}`` (None before the first)."""
    raw = runtime().state_store.get(DRIFT_STATE_KEY)
    return json.loads(raw) if raw else None
