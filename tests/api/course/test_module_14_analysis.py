"""Course module 14 (analysis): exact indicators, period-over-period change and 7-day trends from
rounds inserted at known times on every surface; cache; owner only."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

import pytest

from tests.conftest import register


def _seed(app, owner_email: str, app_id: str, end_user_emails: list[str]) -> int:
    """Rounds of ``app_id`` on a priced model (gpt-4o-mini: $0.15 / $0.60 per 1M) → today's Unix start."""
    from llmops.extensions import db
    from llmops.models import Account, Conversation, Message
    from llmops.models.base import utcnow

    with app.app_context():
        owner = db.session.query(Account).filter_by(email=owner_email).one().id
        u1, u2 = (db.session.query(Account).filter_by(email=e).one().id for e in end_user_emails)
        today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        aid = uuid.UUID(app_id)

        def conversation(invoke_from: str, **extra) -> uuid.UUID:
            c = Conversation(id=uuid.uuid4(), app_id=aid, account_id=owner, invoke_from=invoke_from, **extra)
            db.session.add(c)
            return c.id

        def message(cid, days_ago: int, prompt: int, answer: int, latency_ms: int, status: str = "normal",
                    app=aid, deleted: bool = False) -> None:
            db.session.add(Message(
                id=uuid.uuid4(), app_id=app, conversation_id=cid, account_id=owner, task_id=uuid.uuid4(),
                query="q", answer="a", provider="openai", model="gpt-4o-mini", prompt_tokens=prompt,
                answer_tokens=answer, total_tokens=prompt + answer, response_latency=latency_ms, status=status,
                is_deleted=deleted, created_at=today - timedelta(days=days_ago), updated_at=today))

        c1 = conversation("web_app", created_by=u1)
        c2 = conversation("web_app", created_by=u2)
        c3 = conversation("debugger")
        c4 = conversation("service_api", end_user_id="ext-1")
        db.session.flush()
        # current period: today and the 6 days before
        message(c1, 0, 1000, 500, 2000)
        message(c1, 0, 1000, 500, 2000, deleted=True)  # deleted later: still happened, still cost
        message(c2, 2, 2000, 1000, 4000)
        message(c3, 6, 0, 0, 100, status="error")
        # previous period: the 7 days before
        message(c4, 7, 1000, 1000, 10000)
        message(c4, 13, 1000, 1000, 10000)
        # outside both periods
        message(c4, 14, 5000, 5000, 1000)
        db.session.commit()
        return int(today.replace(tzinfo=UTC).timestamp())


def test_14_1_indicators_pop_and_trends(app, client, auth, new_app):
    end_users = [register(client, "U1"), register(client, "U2")]
    today = _seed(app, auth["X-Email"], new_app, [u["X-Email"] for u in end_users])
    # rounds of another app of the same owner do not count
    other_app = client.post("/apps", json={"name": "Other"}, headers=auth).get_json()["data"]["id"]
    response = client.get(f"/analysis/{new_app}", headers=auth)  # the doc's request
    assert response.status_code == 200
    data = response.get_json()["data"]

    assert data["total_messages"] == {"data": 4, "pop": 1.0, "qoq": 1.0}  # 4 vs 2
    assert data["active_accounts"] == {"data": 3, "pop": 2.0, "qoq": 2.0}  # U1, U2, owner vs ext-1
    assert data["avg_of_conversation_messages"]["data"] == 1.33  # 4 rounds / 3 conversations vs 2 / 1
    assert data["avg_of_conversation_messages"]["pop"] == pytest.approx(-0.335)
    assert data["avg_messages_pre_conversation"] == data["avg_of_conversation_messages"]  # the doc's example key
    assert data["token_output_rate"]["data"] == 250.0  # 2000 answer tokens / 8 s vs 2000 / 20 s
    assert data["token_output_rate"]["pop"] == 1.5
    assert data["cost_consumption"]["data"] == 0.0018  # 4000 × 0.15e-6 + 2000 × 0.6e-6 (USD)
    assert data["cost_consumption"]["pop"] == 0.2  # vs 2000 × 0.15e-6 + 2000 × 0.6e-6 = 0.0015

    x_axis = [today - 86400 * d for d in range(6, -1, -1)]
    assert data["total_messages_trend"] == {"x_axis": x_axis, "y_axis": [1, 0, 0, 0, 1, 0, 2]}
    assert data["active_accounts_trend"] == {"x_axis": x_axis, "y_axis": [1, 0, 0, 0, 1, 0, 1]}
    assert data["avg_of_conversation_messages_trend"]["y_axis"] == [1.0, 0, 0, 0, 1.0, 0, 2.0]
    assert data["avg_messages_pre_conversation_trend"] == data["avg_of_conversation_messages_trend"]
    assert data["cost_consumption_trend"]["x_axis"] == x_axis
    assert data["cost_consumption_trend"]["y_axis"] == [0, 0, 0, 0, 0.0009, 0, 0.0009]

    empty = client.get(f"/analysis/{other_app}", headers=auth).get_json()["data"]
    assert empty["total_messages"] == {"data": 0, "pop": 0, "qoq": 0}
    assert empty["token_output_rate"]["data"] == 0 and empty["total_messages_trend"]["y_axis"] == [0] * 7


def test_14_1_counts_live_rounds_of_every_surface_and_is_cached(app, client, auth, other_auth, new_app, fake, monkeypatch):
    from tests.api.course.webapp_helpers import publish, web_chat

    client.post(f"/apps/{new_app}/debug", json={"query": "debug"}, headers=auth)
    token = publish(client, auth, new_app)
    conversation_id = web_chat(client, other_auth, token, "web")[0][1]["conversation_id"]
    first = client.get(f"/analysis/{new_app}", headers=auth).get_json()["data"]
    assert first["total_messages"]["data"] == 2 and first["active_accounts"]["data"] == 2
    web_chat(client, other_auth, token, "again", conversation_id)
    assert client.get(f"/analysis/{new_app}", headers=auth).get_json()["data"] == first  # served from the cache
    monkeypatch.setitem(app.config, "ANALYSIS_CACHE_TTL_S", 0)
    fresh = client.get(f"/analysis/{new_app}", headers=auth).get_json()["data"]
    assert fresh["total_messages"]["data"] == 3 and fresh["avg_of_conversation_messages"]["data"] == 1.5


def test_14_1_owner_only(client, auth, other_auth, new_app):
    assert client.get(f"/analysis/{new_app}", headers=other_auth).status_code == 404
    assert client.get(f"/analysis/{uuid.uuid4()}", headers=auth).status_code == 404
    assert client.get(f"/analysis/{new_app}").status_code == 401
    assert client.get("/analysis/not-a-uuid", headers=auth).status_code == 404
