"""Course module 09 (open API): key management in the course's shape (lists mask the key) and the
open chat (API-key auth, blocking or streaming) over the published app named by ``app_id``."""

from __future__ import annotations

import uuid

from tests.api.course.conftest import envelope, missing, parse_sse
from tests.conftest import register

KEY_FIELDS = {"id", "api_key", "is_active", "remark", "updated_at", "created_at"}
CHAT_FIELDS = {"id", "end_user_id", "conversation_id", "query", "image_urls", "answer", "total_token_count",
               "latency", "agent_thoughts", "created_at"}
THOUGHT_FIELDS = {"id", "event", "thought", "observation", "tool", "tool_input", "total_token_count", "total_price",
                  "latency", "created_at"}
EVENT_FIELDS = {"id", "end_user_id", "conversation_id", "message_id", "task_id", "thought", "observation", "answer",
                "latency", "total_token_count", "total_price", "created_at"}


def new_key(client, headers, **body) -> dict:
    return envelope(client.post("/openapi/api-keys", json={"is_active": True, "remark": "慕课网LLMOps项目API秘钥信息",
                                                           **body}, headers=headers))


def test_api_keys_replay(client, logged_in):
    created = new_key(client, logged_in)
    plain = created["api_key"]
    page = envelope(client.get("/openapi/api-keys?current_page=1&page_size=20", headers=logged_in))
    item = next(i for i in page["list"] if i["id"] == created["id"])
    assert not missing(item, KEY_FIELDS) and item["api_key"] != plain and "…" in item["api_key"]
    path = f"/openapi/api-keys/{created['id']}"
    envelope(client.post(path, json={"is_active": False, "remark": "renamed"}, headers=logged_in))
    item = next(i for i in envelope(client.get("/openapi/api-keys", headers=logged_in))["list"] if i["id"] == created["id"])
    assert item["is_active"] is False and item["remark"] == "renamed"
    envelope(client.post(f"{path}/is-active", json={"is_active": True}, headers=logged_in))
    assert client.get("/v1/models", headers={"Authorization": f"Bearer {plain}"}).status_code == 200
    envelope(client.post(f"{path}/delete", headers=logged_in))
    assert client.get("/v1/models", headers={"Authorization": f"Bearer {plain}"}).status_code == 401
    # the seed 002 routes see the same keys
    assert client.get("/api-keys", headers=logged_in).get_json()["data"]["list"] == []


def test_api_key_input_and_ownership(client, logged_in):
    response = client.post("/openapi/api-keys", json={"remark": "x" * 101}, headers=logged_in)
    assert response.status_code == 422 and {"is_active", "remark"} <= set(response.get_json()["data"])
    inactive = new_key(client, logged_in, is_active=False)
    assert client.get("/v1/models", headers={"Authorization": f"Bearer {inactive['api_key']}"}).status_code == 401
    other = register(client, "Other")
    for path, body in [("", {"is_active": True}), ("/is-active", {"is_active": True}), ("/delete", None)]:
        response = client.post(f"/openapi/api-keys/{inactive['id']}{path}", json=body, headers=other)
        assert response.status_code == 404, path


def test_open_chat_blocking_and_stream(client, logged_in, published_app, fake):
    app_id = published_app()
    bearer = {"Authorization": f"Bearer {new_key(client, logged_in)['api_key']}"}
    body = {"app_id": app_id, "query": "我想学习LLM应用开发，你有什么建议呢？", "stream": False}
    message = envelope(client.post("/openapi/chat", json=body, headers=bearer))
    assert not missing(message, CHAT_FIELDS) and message["answer"] == "Hello, world!"
    assert str(uuid.UUID(message["end_user_id"])) == message["end_user_id"]
    assert all(not missing(t, THOUGHT_FIELDS) for t in message["agent_thoughts"])

    again = {**body, "end_user_id": message["end_user_id"], "conversation_id": message["conversation_id"],
             "stream": True}
    response = client.post("/openapi/chat", json=again, headers=bearer)
    assert response.headers["Content-Type"].startswith("text/event-stream")
    events = [(e, d) for e, d in parse_sse(response.get_data(as_text=True)) if e != "ping"]
    assert events[-1][0] == "agent_end"
    for name, data in events:
        assert not missing(data, EVENT_FIELDS), name
        assert data["end_user_id"] == message["end_user_id"] and data["conversation_id"] == message["conversation_id"]
    assert "".join(d["thought"] for e, d in events if e == "agent_message") == "Hello, world!"
    # the second round carried the first as history
    assert [m["role"] for m in fake.requests[-1]["messages"]] == ["system", "user", "assistant", "user"]


def test_open_chat_refusals(client, logged_in, make_app, published_app, fake):
    key = new_key(client, logged_in)["api_key"]
    bearer = {"Authorization": f"Bearer {key}"}
    draft_only = make_app()
    response = client.post("/openapi/chat", json={"app_id": draft_only, "query": "hi", "stream": False}, headers=bearer)
    assert response.status_code == 400 and response.get_json()["code"] == "fail"
    other = register(client, "Other")
    foreign = published_app(headers=other)
    response = client.post("/openapi/chat", json={"app_id": foreign, "query": "hi", "stream": False}, headers=bearer)
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    response = client.post("/openapi/chat", json={"app_id": foreign, "query": "hi", "stream": False}, headers=logged_in)
    assert response.status_code == 401 and response.get_json()["code"] == "unauthorized"
    response = client.post("/openapi/chat", json={"query": ""}, headers=bearer)
    assert response.status_code == 422 and {"app_id", "query", "stream"} <= set(response.get_json()["data"])
    mine = published_app()
    response = client.post("/openapi/chat", json={"app_id": mine, "query": "hi", "stream": False,
                                                  "conversation_id": str(uuid.uuid4())}, headers=bearer)
    assert response.status_code == 404


def test_open_chat_with_a_key_bound_to_another_app_is_403(client, logged_in, published_app, fake):
    bound_to, other = published_app(), published_app()
    key = envelope(client.post("/api-keys", json={"remark": "bound", "app_id": bound_to}, headers=logged_in), 201)["key"]
    bearer = {"Authorization": f"Bearer {key}"}
    response = client.post("/openapi/chat", json={"app_id": other, "query": "hi", "stream": False}, headers=bearer)
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    assert envelope(client.post("/openapi/chat", json={"app_id": bound_to, "query": "hi", "stream": False},
                                headers=bearer))["answer"] == "Hello, world!"
