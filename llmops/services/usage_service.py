"""Gateway usage: one record per request, buffered per process and written in batches.

``record`` never touches the database or the broker on the request path: it appends to this
process's buffer; a background flusher sends the buffer every ``USAGE_FLUSH_INTERVAL_S`` (or
``USAGE_FLUSH_BATCH`` records) as one message to the ``usage`` queue, and the worker's
``write_usage`` inserts the batch in one statement. ``request_id`` is unique, so a batch delivered
twice is written once. Each record with a cost also becomes an ``account_ledger`` row (kind
``usage``, one per settled call). When the quota ledger lives in Redis, ``write_usage`` also
applies the batch's costs (credits) to ``account.balance``/``used`` and ``api_key.used_quota``
(the database ledger already did that when the call settled).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, current_app

from llmops.extensions import db
from llmops.models import Account, AccountLedger, ApiKey, UsageLog

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
        """Send what is buffered as one ``usage`` message → how many records; on a broker error
        the records go back to the buffer for the next attempt."""
        records = self.drain()
        if not records:
            return 0
        try:
            self.app.extensions["celery"].send_task(WRITE_USAGE_TASK, args=[records], queue="usage")
        except Exception:  # noqa: BLE001 — keep them; the next flush retries
            self.app.logger.exception("could not send %d usage records", len(records))
            with self.lock:
                self.records[:0] = records
            return 0
        return len(records)

    def _run(self) -> None:
        while True:
            self.wakeup.wait(self.app.config["USAGE_FLUSH_INTERVAL_S"])
            self.wakeup.clear()
            self.flush()


def buffer() -> UsageBuffer:
    extensions = current_app.extensions
    if "usage_buffer" not in extensions:
        extensions.setdefault("usage_buffer", UsageBuffer(current_app._get_current_object()))
    return extensions["usage_buffer"]


def record(**fields) -> None:
    """Queue one usage record (plain JSON values; see ``UsageLog`` for the fields)."""
    fields.setdefault("request_id", uuid.uuid4().hex)
    fields.setdefault("created_at", time.time())
    buffer().add(fields)


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
    persisted = current_app.extensions["quota_ledger"].persists_usage
    for r, created in charges:
        _ledger_usage(r, created, persisted)
    for key_id, when in last_used.items():
        values = {"last_used_at": when}
        if not persisted:
            values["used_quota"] = ApiKey.used_quota + per_key[key_id]
        db.session.execute(sa.update(ApiKey).where(ApiKey.id == key_id).values(**values))
    db.session.commit()
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
