"""A published app's web app against the live stack and the real local model: an end user's
streamed chat, the conversation named by the worker, the owner's analysis."""

from __future__ import annotations

import time
import uuid

from tests.sse import parse_sse


def _register(api, name: str) -> dict:
    body = {"name": name, "email": f"{name.lower()}-{uuid.uuid4().hex[:10]}@example.com", "password": "secret123"}
    response = api.post("/auth/register", json=body)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['data']['access_token']}"}


def test_end_user_streams_a_web_app_chat_with_the_real_model(api, auth_headers):
    owner = auth_headers
    app_id = api.post("/apps", json={"name": "Web helper"}, headers=owner).json()["data"]["id"]
    api.post(f"/apps/{app_id}/config", headers=owner, json={
        "preset_prompt": "You are a friendly assistant. Answer in one sentence.",
        "model_config": {"parameters": {"temperature": 0.2, "max_tokens": 48}}})
    assert api.post(f"/apps/{app_id}/publish", headers=owner).status_code == 200
    token = api.get(f"/apps/{app_id}/published-config", headers=owner).json()["data"]["web_app"]["token"]
    end_user = _register(api, "Visitor")
    info = api.get(f"/web-apps/{token}", headers=end_user).json()["data"]
    assert info["id"] == app_id and info["name"] == "Web helper"

    started = time.perf_counter()
    first_byte = None
    raw = []
    with api.stream("POST", f"/web-apps/{token}/chat", headers=end_user,
                    json={"conversation_id": "", "query": "What is the capital of France?"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for chunk in response.iter_text():
            if first_byte is None and "agent_message" in chunk:
                first_byte = time.perf_counter() - started
            raw.append(chunk)
    events = parse_sse("".join(raw))
    names = [e for e, _ in events]
    assert names.count("agent_message") >= 2 and names[-1] == "agent_end", names
    answer = "".join(d["answer"] for e, d in events if e == "agent_message")
    assert answer.strip()
    conversation_id = events[0][1]["conversation_id"]
    assert first_byte is not None

    messages = api.get(f"/conversations/{conversation_id}/messages", headers=end_user).json()["data"]["list"]
    assert [m["answer"] for m in messages] == [answer]
    # the owner cannot read the end user's conversation
    assert api.get(f"/conversations/{conversation_id}/messages", headers=owner).status_code == 404

    # named at once with the query's start, then by the worker with the model's title
    name_url = f"/conversations/{conversation_id}/name"
    fallback = "What is the capital of France?"
    name = api.get(name_url, headers=end_user).json()["data"]["name"]
    deadline = time.time() + 90
    while name == fallback and time.time() < deadline:
        time.sleep(1)
        name = api.get(name_url, headers=end_user).json()["data"]["name"]
    assert name and name != fallback and name != "New Conversation" and len(name) <= 40, name
    listed = api.get(f"/web-apps/{token}/conversations", headers=end_user).json()["data"]
    assert [(c["id"], c["name"]) for c in listed] == [(conversation_id, name)]

    analysis = api.get(f"/analysis/{app_id}", headers=owner).json()["data"]
    assert analysis["total_messages"]["data"] == 1 and analysis["active_accounts"]["data"] == 1
    assert analysis["token_output_rate"]["data"] > 0
    print(f"web-app chat: first agent_message after {first_byte * 1000:.0f} ms; conversation named {name!r}")
