"""App analysis (course module 14): five indicators over the last 7 days with their change over
the 7 days before, and 7-day trends.

Every round (``message`` row) of the app counts, whatever the surface (debug chat, Open API,
web app) and status, soft-deleted ones included (they happened and cost). Days are UTC; the
current period is the 7 days of the trend (today since midnight and the 6 days before), the
previous period the 7 days before that. Units and definitions:

- ``total_messages``: rounds;
- ``active_accounts``: distinct users with at least one round: a web app's end user, an Open API
  call's ``end_user_id``, else the app's owner (debug chat, API calls without an end user);
- ``avg_of_conversation_messages``: rounds ÷ distinct conversations;
- ``token_output_rate``: answer tokens ÷ seconds from request to last token, over rounds that
  ended normally (tokens per second);
- ``cost_consumption``: USD at the registry's prices of each round's model (prompt and answer
  tokens priced separately; 0 for free models).

Each indicator is ``{data, pop}`` where ``pop`` is (current − previous) ÷ previous (0 when the
previous value is 0); ``qoq`` repeats ``pop`` and ``avg_messages_pre_conversation`` repeats
``avg_of_conversation_messages`` (both spellings appear in the course's document). Results are
kept in the state store for ``ANALYSIS_CACHE_TTL_S`` seconds.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from llmops.extensions import db
from llmops.models import Conversation, Message
from llmops.models.base import unix, utcnow
from llmops.runtime import runtime
from llmops.services.studio import app_service, chat_service

DAYS = 7
INDICATORS = ("total_messages", "active_accounts", "avg_of_conversation_messages", "token_output_rate",
              "cost_consumption")
TRENDS = ("total_messages", "active_accounts", "avg_of_conversation_messages", "cost_consumption")
ALIASES = {"avg_of_conversation_messages": "avg_messages_pre_conversation"}


def get_analysis(account_id: uuid.UUID, app_id: uuid.UUID) -> dict:
    """§14.1 for the owner's app (``NotFoundError`` otherwise), served from the cache when fresh."""
    app = app_service.get_owned_app(account_id, app_id)
    ttl = int(current_app.config["ANALYSIS_CACHE_TTL_S"])
    store = runtime().state_store
    key = f"analysis:{app.id}"
    if ttl > 0:
        cached = store.get(key)
        if cached:
            return json.loads(cached)
    result = compute(app.id, utcnow())
    if ttl > 0:
        store.set(key, json.dumps(result), ttl)
    return result


def compute(app_id: uuid.UUID, now: datetime) -> dict:
    """The analysis of ``app_id`` as of ``now`` (naive UTC), uncached."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    current_start = today - timedelta(days=DAYS - 1)
    previous_start = current_start - timedelta(days=DAYS)
    rows = db.session.execute(
        sa.select(Message.created_at, Message.conversation_id, Message.account_id, Message.status,
                  Message.prompt_tokens, Message.answer_tokens, Message.response_latency, Message.provider,
                  Message.model, Conversation.invoke_from, Conversation.created_by, Conversation.end_user_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.app_id == app_id, Message.created_at >= previous_start, Message.created_at <= now)
    ).all()
    current = [r for r in rows if r.created_at >= current_start]
    previous = [r for r in rows if r.created_at < current_start]
    now_values, before = _indicators(current), _indicators(previous)
    result: dict = {}
    for name in INDICATORS:
        pop = round((now_values[name] - before[name]) / before[name], 4) if before[name] else 0
        result[name] = {"data": now_values[name], "pop": pop, "qoq": pop}
    days = [current_start + timedelta(days=i) for i in range(DAYS)]
    per_day = [_indicators([r for r in current if day <= r.created_at < day + timedelta(days=1)]) for day in days]
    for name in TRENDS:
        result[f"{name}_trend"] = {"x_axis": [unix(d) for d in days], "y_axis": [v[name] for v in per_day]}
    for name, alias in ALIASES.items():
        result[alias], result[f"{alias}_trend"] = result[name], result[f"{name}_trend"]
    return result


def _indicators(rows: list) -> dict:
    users = {_user(r) for r in rows}
    conversations = {r.conversation_id for r in rows}
    finished = [r for r in rows if r.status == "normal"]
    seconds = sum(r.response_latency for r in finished) / 1000
    cost = sum(chat_service.message_price(r) for r in rows)  # the price each round's events reported
    return {
        "total_messages": len(rows),
        "active_accounts": len(users),
        "avg_of_conversation_messages": round(len(rows) / len(conversations), 2) if conversations else 0,
        "token_output_rate": round(sum(r.answer_tokens for r in finished) / seconds, 2) if seconds else 0,
        "cost_consumption": round(cost, 6),
    }


def _user(row) -> str:
    if row.invoke_from == "web_app" and row.created_by is not None:
        return f"account:{row.created_by}"
    if row.invoke_from == "service_api" and row.end_user_id:
        return f"end-user:{row.end_user_id}"
    return f"account:{row.account_id}"
