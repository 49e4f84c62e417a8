"""``search_word`` is text, not a LIKE pattern; seed 000's lists and histories are bounded and
paged; a studio registration cannot claim a seed-000 user's reserved ``.invalid`` address."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from llmops.extensions import db
from llmops.models import Message, ModelConversation
from llmops.models.base import utcnow
from tests.api.compat.test_seed000 import PASSWORD, seed_user

NAMES = ("100% pure", "50_50 split", "back\\slash", "plain name", "percentless")


@pytest.mark.parametrize("word,expected", [("%", {"100% pure"}), ("_", {"50_50 split"}),
                                           ("\\", {"back\\slash"}), ("0%", {"100% pure"})])
def test_search_word_wildcards_match_literally(client, auth, word, expected):
    for name in NAMES:
        assert client.post("/apps", json={"name": name}, headers=auth).status_code == 201
        assert client.post("/datasets", json={"name": f"{name} {uuid.uuid4().hex[:4]}"}, headers=auth).status_code == 201
    apps = client.get("/apps", query_string={"search_word": word, "page_size": 50}, headers=auth).get_json()["data"]
    assert {a["name"] for a in apps["list"]} == expected
    datasets = client.get("/datasets", query_string={"search_word": word, "page_size": 50}, headers=auth).get_json()
    assert {d["name"].rsplit(" ", 1)[0] for d in datasets["data"]["list"]} == expected


def test_seed000_lists_are_bounded_and_paged(client):
    user = seed_user(client)
    for i in range(105):
        assert client.post("/api/conversations/create", json={"title": f"c{i}"}, headers=user).status_code == 200
    default = client.get("/api/conversations/list", headers=user).get_json()
    assert len(default) == 100
    rest = client.get("/api/conversations/list?limit=100&offset=100", headers=user).get_json()
    assert [c["title"] for c in rest] == [f"c{i}" for i in range(100, 105)]
    assert client.get("/api/conversations/list?limit=100000", headers=user).status_code == 400


def test_seed000_history_is_bounded_and_paged(app, client):
    user = seed_user(client)
    number = client.post("/api/conversations/create", json={"title": "long"}, headers=user).get_json()["conversation_id"]
    with app.app_context():
        row = db.session.get(ModelConversation, number)
        conversation_id, account_id, start = row.conversation_id, row.account_id, utcnow()
        db.session.add_all(Message(conversation_id=conversation_id, account_id=account_id, task_id=uuid.uuid4(),
                                   query=f"q{i}", answer=f"a{i}", created_at=start + timedelta(seconds=i))
                           for i in range(250))
        db.session.commit()
    history = client.get(f"/api/conversations/history/{number}", headers=user).get_json()
    assert len(history["messages"]) == 400  # 200 rounds by default, not all 250
    page = client.get(f"/api/conversations/history/{number}?limit=2&offset=240", headers=user).get_json()
    assert [(m["content"], m["message_id"]) for m in page["messages"]] == [("q240", 481), ("a240", 482),
                                                                          ("q241", 483), ("a241", 484)]
    assert client.get(f"/api/conversations/history/{number}?limit=100000", headers=user).status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)
                                 .where(Message.conversation_id == conversation_id)) == 250


def test_studio_registration_cannot_take_a_seed000_address(client):
    username = f"victim_{uuid.uuid4().hex[:8]}"
    squat = client.post("/auth/register", json={"name": "x", "email": f"{username}@users.invalid", "password": "secret123"})
    assert squat.status_code == 422 and "email" in squat.get_json()["data"]
    assert client.post("/auth/register", json={"name": "x", "email": "a@b.INVALID", "password": "secret123"}).status_code == 422
    # so the seed-000 user name stays free for its owner
    registered = client.post("/api/users/register", json={"username": username, "password": PASSWORD})
    assert registered.status_code == 201
