"""Pricing, billing and usage reports over the gateway's usage log (docs/api.md A ``GET /usage``,
B ``/v1/dashboard/billing/*``, C4 ``/api/pricing``, ``/api/logs``; seed 004 and one-api/new-api).

Money: integer credits, 1 credit = 1e-6 USD (``metering``); ``usage_log.cost_credits`` is what
each call was charged (``cost_usd`` the same in dollars). The billing endpoints answer in dollars,
as one-api's clients expect. Days are UTC.
"""

from __future__ import annotations

import statistics
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app

from llmops.errors import ValidateError
from llmops.extensions import db
from llmops.models import Account, UsageDaily, UsageLog
from llmops.models.base import unix, utcnow
from llmops.services.common import paginate
from llmops.services.core import model_service
from llmops.services.gateway.api_key_service import KeyPrincipal


def pricing() -> dict:
    """Every configured language/embedding model with its price (USD per 1M tokens)."""
    registry = model_service.get_registry()
    items = []
    for provider in registry.providers.values():
        if not registry.is_configured(provider.name):
            continue
        for model in provider.models.values():
            items.append({"model": model.name, "provider": provider.name, "kind": model.kind,
                          "input_price": model.input_price, "output_price": model.output_price,
                          "unit": "USD per 1M tokens", "context_window": model.context_window})
    return {"object": "list", "data": items}


def subscription(principal: KeyPrincipal) -> dict:
    """one-api's ``/v1/dashboard/billing/subscription`` for the calling key (bare JSON): the hard
    limit is what the key may spend in all, in USD — its cap when it has one, else its account's
    (balance + used)."""
    if principal.quota is not None:
        credits = principal.quota
    else:
        account = db.session.get(Account, principal.account_id)
        credits = (account.balance + account.used) if account is not None else 0
    limit = round(credits / 1_000_000, 6)
    return {
        "object": "billing_subscription", "has_payment_method": True,
        "soft_limit_usd": limit, "hard_limit_usd": limit, "system_hard_limit_usd": limit,
        "access_until": unix(principal.expires_at) or 0,
    }


def billing_usage(principal: KeyPrincipal, start_date: str | None, end_date: str | None) -> dict:
    """one-api's ``/v1/dashboard/billing/usage``: ``total_usage`` in US cents for the calling key
    between ``start_date`` (inclusive) and ``end_date`` (exclusive), ``YYYY-MM-DD``; default: the
    last 100 days."""
    end = _parse_day(end_date, "end_date") if end_date else utcnow().date() + timedelta(days=1)
    start = _parse_day(start_date, "start_date") if start_date else end - timedelta(days=100)
    if start >= end:
        raise ValidateError("start_date must be before end_date", data={"start_date": ["must be before end_date"]})
    total = _cost_between(principal.id, start, end)
    return {"object": "list", "total_usage": round(total * 100, 6)}


def list_logs(principal: KeyPrincipal, current_page: int, page_size: int) -> tuple[list[dict], dict]:
    """The calling key's usage records, newest first (seed 004 ``/api/logs``)."""
    query = sa.select(UsageLog).where(UsageLog.api_key_id == principal.id)
    rows, page = paginate(query, (UsageLog.created_at.desc(), UsageLog.id), current_page, page_size)
    return [log_to_dict(r) for r in rows], page


def list_account_logs(account_id: uuid.UUID, current_page: int, page_size: int,
                      api_key_id: uuid.UUID | None = None) -> tuple[list[dict], dict]:
    """``GET /usage/logs``: the account's request log (every surface; one key's with
    ``api_key_id``), newest first, in ``log_to_dict``'s shape plus ``api_key_id``."""
    query = sa.select(UsageLog).where(UsageLog.account_id == account_id)
    if api_key_id:
        query = query.where(UsageLog.api_key_id == api_key_id)
    rows, page = paginate(query, (UsageLog.created_at.desc(), UsageLog.id), current_page, page_size)
    return [{**log_to_dict(r), "api_key_id": str(r.api_key_id) if r.api_key_id else None} for r in rows], page


def log_to_dict(row: UsageLog) -> dict:
    return {
        "id": str(row.id), "request_id": row.request_id, "endpoint": row.endpoint, "model": row.model,
        "provider": row.provider, "is_stream": row.is_stream, "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens, "total_tokens": row.prompt_tokens + row.completion_tokens,
        "estimated": row.estimated, "cost_usd": round(row.cost_usd, 8), "cost_credits": row.cost_credits,
        "surface": row.surface, "latency_ms": row.latency_ms,
        "first_token_ms": row.first_token_ms, "status": row.status, "status_code": row.status_code,
        "error": row.error, "created_at": unix(row.created_at),
    }


def usage_report(account_id: uuid.UUID, start_date: str | None, end_date: str | None,
                 api_key_id: uuid.UUID | None = None) -> list[dict]:
    """``GET /usage``: per key and UTC day (``start_date`` inclusive, ``end_date`` exclusive,
    default the last 30 days), newest first: requests, errors, prompt/completion tokens, cost,
    p50 latency. Days still in the usage log are computed from it; older ones come from the
    daily roll-ups the retention job wrote before deleting them."""
    today = utcnow().date()
    end = _parse_day(end_date, "end_date") if end_date else today + timedelta(days=1)
    start = _parse_day(start_date, "start_date") if start_date else end - timedelta(days=30)
    if start >= end or (end - start).days > 366:
        raise ValidateError("the range must be 1 to 366 days", data={"start_date": ["1 to 366 days before end_date"]})
    first_logged = _first_logged_day()
    query = sa.select(UsageDaily).where(UsageDaily.account_id == account_id, UsageDaily.day >= start,
                                        UsageDaily.day < min(end, first_logged))
    if api_key_id:
        query = query.where(UsageDaily.api_key_id == api_key_id)
    rows = [_daily_to_dict(r.day, r.api_key_id, r.requests, r.errors, r.prompt_tokens, r.completion_tokens,
                           r.cost_usd, [r.latency_p50_ms]) for r in _merge_models(db.session.scalars(query).all())]
    if end > first_logged:
        rows.extend(_logged_days(account_id, max(start, first_logged), end, api_key_id))
    return sorted(rows, key=lambda r: (r["day"], r["api_key_id"]), reverse=True)


def rollup(day: date) -> int:
    """Recompute the ``usage_daily`` rows of ``day`` from the log → rows written (idempotent)."""
    start, end = _bounds(day)
    groups: dict[tuple, list] = defaultdict(list)
    accounts = {}
    for row in db.session.execute(sa.select(
            UsageLog.api_key_id, UsageLog.account_id, UsageLog.model, UsageLog.status, UsageLog.prompt_tokens,
            UsageLog.completion_tokens, UsageLog.cost_usd, UsageLog.latency_ms)
            .where(UsageLog.created_at >= start, UsageLog.created_at < end, UsageLog.api_key_id.is_not(None))):
        groups[(row.api_key_id, row.model)].append(row)
        accounts[row.api_key_id] = row.account_id
    db.session.execute(sa.delete(UsageDaily).where(UsageDaily.day == day))
    for (key_id, model), rows in groups.items():
        db.session.add(UsageDaily(
            day=day, api_key_id=key_id, model=model, account_id=accounts[key_id], requests=len(rows),
            errors=sum(r.status == "error" for r in rows), prompt_tokens=sum(r.prompt_tokens for r in rows),
            completion_tokens=sum(r.completion_tokens for r in rows), cost_usd=sum(r.cost_usd for r in rows),
            latency_p50_ms=int(statistics.median(r.latency_ms for r in rows))))
    db.session.commit()
    return len(groups)


def purge_logs() -> int:
    """Roll up, then delete usage-log rows older than ``USAGE_LOG_RETENTION_DAYS`` → rows deleted
    (beat job); the reports switch to the roll-ups at the same day (``_first_logged_day``)."""
    cutoff = _bounds(_first_logged_day())[0]
    oldest = db.session.scalar(sa.select(sa.func.min(UsageLog.created_at)).where(UsageLog.created_at < cutoff))
    if oldest is not None:
        day = oldest.date()
        while day < cutoff.date():
            rollup(day)
            day += timedelta(days=1)
    deleted = db.session.execute(sa.delete(UsageLog).where(UsageLog.created_at < cutoff)).rowcount
    db.session.commit()
    return deleted


def _logged_days(account_id: uuid.UUID, start: date, end: date, api_key_id: uuid.UUID | None) -> list[dict]:
    query = sa.select(UsageLog.api_key_id, UsageLog.created_at, UsageLog.status, UsageLog.prompt_tokens,
                      UsageLog.completion_tokens, UsageLog.cost_usd, UsageLog.latency_ms).where(
        UsageLog.account_id == account_id, UsageLog.created_at >= _bounds(start)[0],
        UsageLog.created_at < _bounds(end)[0], UsageLog.api_key_id.is_not(None))
    if api_key_id:
        query = query.where(UsageLog.api_key_id == api_key_id)
    groups: dict[tuple, list] = defaultdict(list)
    for row in db.session.execute(query):
        groups[(row.created_at.date(), row.api_key_id)].append(row)
    return [_daily_to_dict(day, key_id, len(rows), sum(r.status == "error" for r in rows),
                           sum(r.prompt_tokens for r in rows), sum(r.completion_tokens for r in rows),
                           sum(r.cost_usd for r in rows), [r.latency_ms for r in rows])
            for (day, key_id), rows in groups.items()]


def _first_logged_day() -> date:
    """The first day whose log rows are all still there (before it: roll-ups only)."""
    days = current_app.config["USAGE_LOG_RETENTION_DAYS"]
    return utcnow().date() - timedelta(days=days)


def _merge_models(rows: list[UsageDaily]) -> list:
    """Roll-ups are per model; the report is per key and day (p50 of the per-model p50s)."""
    merged: dict[tuple, UsageDaily] = {}
    latencies: dict[tuple, list] = defaultdict(list)
    for r in rows:
        key = (r.day, r.api_key_id)
        latencies[key].append(r.latency_p50_ms)
        if key not in merged:
            merged[key] = UsageDaily(day=r.day, api_key_id=r.api_key_id, model="*", account_id=r.account_id,
                                     requests=0, errors=0, prompt_tokens=0, completion_tokens=0, cost_usd=0.0)
        m = merged[key]
        m.requests += r.requests
        m.errors += r.errors
        m.prompt_tokens += r.prompt_tokens
        m.completion_tokens += r.completion_tokens
        m.cost_usd += r.cost_usd
    for key, m in merged.items():
        m.latency_p50_ms = int(statistics.median(latencies[key]))
    return list(merged.values())


def _daily_to_dict(day: date, key_id, requests, errors, prompt, completion, cost, latencies) -> dict:
    return {"day": day.isoformat(), "api_key_id": str(key_id), "requests": requests, "errors": errors,
            "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "cost_usd": round(cost, 8), "latency_p50_ms": int(statistics.median(latencies)) if latencies else 0}


def _cost_between(key_id: uuid.UUID, start: date, end: date) -> float:
    """Cost of the key's requests in [start, end): the log where it is kept, roll-ups before."""
    first_logged = _first_logged_day()
    total = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(UsageDaily.cost_usd), 0.0)).where(
        UsageDaily.api_key_id == key_id, UsageDaily.day >= start, UsageDaily.day < min(end, first_logged))) or 0.0
    if end > first_logged:
        total += db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(UsageLog.cost_usd), 0.0)).where(
            UsageLog.api_key_id == key_id, UsageLog.created_at >= _bounds(max(start, first_logged))[0],
            UsageLog.created_at < _bounds(end)[0])) or 0.0
    return float(total)


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min)
    return start, start + timedelta(days=1)


FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9000, 12, 31)  # date arithmetic stays far from date.min/max


def _parse_day(value: str, field: str) -> date:
    """A ``YYYY-MM-DD`` query value between 1970-01-01 and 9000-12-31; ``ValidateError`` naming ``field``."""
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC).date()
    except (TypeError, ValueError) as exc:
        raise ValidateError(f"{field} must be a date YYYY-MM-DD", data={field: ["must be a date YYYY-MM-DD"]}) from exc
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidateError(f"{field} must be between {FIRST_DAY} and {LAST_DAY}",
                            data={field: [f"must be between {FIRST_DAY} and {LAST_DAY}"]})
    return day
