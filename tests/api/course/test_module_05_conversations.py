"""Course module 05 (end users' conversations): the doc's requests replayed; ownership; auto-name."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.api.course.webapp_helpers import publish, web_chat


@pytest.fixture
def conversation(client, auth, other_auth, new_app, fake) -> tuple[str, str]:
    """(token, conversation id) of a web-app conversation of ``other_auth`` with three rounds."""
    token = publish(client, auth, new_app)
    conversation_id = web_chat(client, other_auth, token, "q0")[0][1]["conversation_id"]
    for i in (1, 2):
        web_chat(client, other_auth, token, f"q{i}", conversation_id)
    return token, conversation_id


def test_5_2_messages_newest_first_with_the_docs_fields(client, other_auth, conversation):
    _, conversation_id = conversation
    response = client.get(f"/conversations/{conversation_id}/messages", headers=other_auth)
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["paginator"] == {"current_page": 1, "page_size": 20, "total_page": 1, "total_record": 3}
    assert [m["query"] for m in data["list"]] == ["q2", "q1", "q0"]
    item = data["list"][0]
    for key in ("id", "conversation_id", "query", "image_urls", "answer", "total_token_count", "latency",
                "agent_thoughts", "created_at"):
        assert key in item, key
    assert item["conversation_id"] == conversation_id and item["answer"] == "Hello, world!"
    assert isinstance(item["latency"], float | int) and item["total_token_count"] == 15  # 11 + 4 (fake's usage)
    page = client.get(f"/conversations/{conversation_id}/messages?current_page=2&page_size=2",
                      headers=other_auth).get_json()["data"]
    assert [m["query"] for m in page["list"]] == ["q0"] and page["paginator"]["total_page"] == 2


def test_5_2_created_at_cursor_keeps_new_rounds_off_the_pages(app, client, other_auth, conversation):
    token, conversation_id = conversation
    from llmops.extensions import db
    from llmops.models import Message

    with app.app_context():  # q0 an hour ago, the others now
        rows = db.session.query(Message).filter_by(conversation_id=uuid.UUID(conversation_id)).all()
        oldest = next(m for m in rows if m.query == "q0")
        oldest.created_at = oldest.created_at.replace(microsecond=0) - __import__("datetime").timedelta(hours=1)
        db.session.commit()
        cursor = int(oldest.created_at.replace(tzinfo=__import__("datetime").UTC).timestamp())
    listed = client.get(f"/conversations/{conversation_id}/messages?created_at={cursor}", headers=other_auth)
    assert [m["query"] for m in listed.get_json()["data"]["list"]] == ["q0"]
    now = int(time.time()) + 1
    listed = client.get(f"/conversations/{conversation_id}/messages?created_at={now}", headers=other_auth)
    assert len(listed.get_json()["data"]["list"]) == 3
    far = client.get(f"/conversations/{conversation_id}/messages?created_at=32503680000", headers=other_auth)
    assert far.status_code == 200 and len(far.get_json()["data"]["list"]) == 3
    for bad in ("created_at=abc", "page_size=51", "current_page=0", "created_at=-1", f"created_at={2**40}"):
        response = client.get(f"/conversations/{conversation_id}/messages?{bad}", headers=other_auth)
        assert response.status_code == 422 and bad.split("=")[0] in response.get_json()["data"], bad


def test_5_3_delete_conversation_removes_it_and_its_messages(client, other_auth, conversation):
    token, conversation_id = conversation
    response = client.post(f"/conversations/{conversation_id}/delete", headers=other_auth)
    assert response.status_code == 200 and response.get_json()["code"] == "success"
    assert client.get(f"/conversations/{conversation_id}/messages", headers=other_auth).status_code == 404
    assert client.post(f"/conversations/{conversation_id}/delete", headers=other_auth).status_code == 404
    body = {"conversation_id": conversation_id, "query": "again"}
    assert client.post(f"/web-apps/{token}/chat", json=body, headers=other_auth).status_code == 404


def test_5_4_delete_one_message(client, other_auth, conversation):
    _, conversation_id = conversation
    listed = client.get(f"/conversations/{conversation_id}/messages", headers=other_auth).get_json()["data"]["list"]
    message_id = listed[1]["id"]
    url = f"/conversations/{conversation_id}/messages/{message_id}/delete"
    assert client.post(url, headers=other_auth).status_code == 200
    assert client.post(url, headers=other_auth).status_code == 404
    left = client.get(f"/conversations/{conversation_id}/messages", headers=other_auth).get_json()["data"]["list"]
    assert [m["query"] for m in left] == ["q2", "q0"]
    # ids must match: a message of another conversation is not found through this one
    other = f"/conversations/{uuid.uuid4()}/messages/{left[0]['id']}/delete"
    assert client.post(other, headers=other_auth).status_code == 404


def test_5_4_works_on_the_debug_conversation_too(client, auth, new_app, fake):
    message = client.post(f"/apps/{new_app}/debug", json={"query": "hi"}, headers=auth).get_json()["data"]
    conversation_id = message["conversation_id"]
    listed = client.get(f"/conversations/{conversation_id}/messages", headers=auth).get_json()["data"]["list"]
    assert [m["id"] for m in listed] == [message["id"]]
    url = f"/conversations/{conversation_id}/messages/{message['id']}/delete"
    assert client.post(url, headers=auth).status_code == 200
    assert client.get(f"/apps/{new_app}/messages", headers=auth).get_json()["data"]["list"] == []


def test_5_5_5_6_name_get_and_rename(client, other_auth, conversation):
    _, conversation_id = conversation
    response = client.get(f"/conversations/{conversation_id}/name", headers=other_auth)
    assert response.status_code == 200 and response.get_json()["data"] == {"name": "q0"}  # the fallback name
    renamed = client.post(f"/conversations/{conversation_id}/name", json={"name": "新的LLMOps会话"}, headers=other_auth)
    assert renamed.status_code == 200 and renamed.get_json()["code"] == "success"
    assert client.get(f"/conversations/{conversation_id}/name", headers=other_auth).get_json()["data"] == {
        "name": "新的LLMOps会话"}
    for body in ({}, {"name": ""}, {"name": "   "}, {"name": "x" * 101}, {"name": 5}):
        response = client.post(f"/conversations/{conversation_id}/name", json=body, headers=other_auth)
        assert response.status_code == 422 and "name" in response.get_json()["data"], body


def test_5_7_pin_and_unpin(client, other_auth, conversation):
    token, conversation_id = conversation
    url = f"/conversations/{conversation_id}/is-pinned"
    assert client.post(url, json={"is_pinned": True}, headers=other_auth).get_json()["code"] == "success"
    pinned = client.get(f"/web-apps/{token}/conversations?is_pinned=true", headers=other_auth).get_json()["data"]
    assert [c["id"] for c in pinned] == [conversation_id] and pinned[0]["is_pinned"] is True
    client.post(url, json={"is_pinned": False}, headers=other_auth)
    assert client.get(f"/web-apps/{token}/conversations?is_pinned=true", headers=other_auth).get_json()["data"] == []
    for body in ({}, {"is_pinned": "perhaps"}):
        response = client.post(url, json=body, headers=other_auth)
        assert response.status_code == 422 and "is_pinned" in response.get_json()["data"]


def test_another_accounts_conversation_is_404_everywhere(client, auth, other_auth, new_app, conversation, fake):
    _, conversation_id = conversation
    # the app's owner is not the end user: the web-app conversation is not theirs
    message_id = client.get(f"/conversations/{conversation_id}/messages",
                            headers=other_auth).get_json()["data"]["list"][0]["id"]
    debug_id = client.post(f"/apps/{new_app}/debug", json={"query": "hi"}, headers=auth).get_json()["data"][
        "conversation_id"]
    for stranger, cid in ((auth, conversation_id), (other_auth, debug_id)):
        calls = [("get", f"/conversations/{cid}/messages", None), ("get", f"/conversations/{cid}/name", None),
                 ("post", f"/conversations/{cid}/name", {"name": "mine"}),
                 ("post", f"/conversations/{cid}/is-pinned", {"is_pinned": True}),
                 ("post", f"/conversations/{cid}/messages/{message_id}/delete", None),
                 ("post", f"/conversations/{cid}/delete", None)]
        for method, url, body in calls:
            response = getattr(client, method)(url, json=body, headers=stranger)
            assert response.status_code == 404, (method, url)
            assert response.get_json()["code"] == "not_found"
    assert client.get(f"/conversations/{uuid.uuid4()}/name", headers=auth).status_code == 404
    assert client.get(f"/conversations/{conversation_id}/name").status_code == 401
    # an app deleted by its owner takes its conversations with it
    client.post(f"/apps/{new_app}/delete", headers=auth)
    assert client.get(f"/conversations/{conversation_id}/messages", headers=other_auth).status_code == 404


def test_auto_name_from_the_model_replaces_the_fallback(app, client, auth, other_auth, new_app, fake):
    from llmops.services.studio import conversation_service

    token = publish(client, auth, new_app)
    events = web_chat(client, other_auth, token, "  What is   a large language model and how does it work in detail?")
    conversation_id, message_id = (uuid.UUID(events[0][1][k]) for k in ("conversation_id", "message_id"))
    name_url = f"/conversations/{conversation_id}/name"
    fallback = client.get(name_url, headers=other_auth).get_json()["data"]["name"]
    assert fallback == "What is a large language model and how…" and len(fallback) <= 40
    fake.behaviour.answer_chunks = ['Title: "LLMs explained".', "\nextra line"]
    with app.app_context():  # what the worker's task runs
        assert conversation_service.auto_name(conversation_id, message_id) == "LLMs explained"
    assert fake.requests[-1]["max_tokens"] == 24
    assert client.get(name_url, headers=other_auth).get_json()["data"]["name"] == "LLMs explained"
    # a second round does not rename
    web_chat(client, other_auth, token, "and more?", str(conversation_id))
    assert client.get(name_url, headers=other_auth).get_json()["data"]["name"] == "LLMs explained"


def test_auto_name_keeps_the_fallback_when_the_model_fails_or_the_user_renamed(app, client, auth, other_auth,
                                                                             new_app, fake):
    from llmops.providers.errors import ProviderError
    from llmops.services.studio import conversation_service

    token = publish(client, auth, new_app)
    events = web_chat(client, other_auth, token, "Plan a trip to Kyoto")
    conversation_id, message_id = (uuid.UUID(events[0][1][k]) for k in ("conversation_id", "message_id"))
    fake.behaviour.fail_status, fake.behaviour.fail_times = 500, 5
    with app.app_context(), pytest.raises(ProviderError):
        conversation_service.auto_name(conversation_id, message_id)
    name_url = f"/conversations/{conversation_id}/name"
    assert client.get(name_url, headers=other_auth).get_json()["data"]["name"] == "Plan a trip to Kyoto"
    fake.reset()
    fake.behaviour.answer_chunks = ["  "]
    with app.app_context():
        assert conversation_service.auto_name(conversation_id, message_id) is None  # nothing usable
    client.post(name_url, json={"name": "Kyoto"}, headers=other_auth)
    fake.behaviour.answer_chunks = ["Trip planning"]
    with app.app_context():
        assert conversation_service.auto_name(conversation_id, message_id) is None
    assert client.get(name_url, headers=other_auth).get_json()["data"]["name"] == "Kyoto"
