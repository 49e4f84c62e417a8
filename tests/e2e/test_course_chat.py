"""The course front end's debug chat (``POST /apps/:id/conversations``) against the real local
model through the live stack: every event carries the course's agent fields, the chunks arrive
in ``thought`` beside ``answer``, and the saved message lists them as ``agent_thoughts``."""

from __future__ import annotations

from tests.sse import parse_sse

EVENT_FIELDS = {"id", "event", "conversation_id", "message_id", "task_id", "thought", "observation", "tool",
                "tool_input", "answer", "latency", "total_token_count", "total_price", "created_at"}


def test_course_debug_chat_streams_real_model_text(api, auth_headers):
    app_id = api.post("/apps", json={"name": "Course", "fileList": []}, headers=auth_headers).json()["data"]["id"]
    draft = {"preset_prompt": "Answer in one short sentence.", "long_term_memory": {"enable": True},
             "model_config": {"provider": "local", "model": "smollm2-135m", "parameters": {"max_tokens": 48}}}
    assert api.post(f"/apps/{app_id}/draft-app-config", json=draft, headers=auth_headers).json()["code"] == "success"
    response = api.post(f"/apps/{app_id}/conversations", json={"query": "What is a large language model?"},
                        headers=auth_headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = [(name, data) for name, data in parse_sse(response.text) if name != "ping"]
    assert events[0][0] == "long_term_memory_recall" and events[-1][0] == "agent_end", events[-1]
    for name, data in events:
        assert not EVENT_FIELDS - set(data), name
        assert data["event"] == name and isinstance(data["latency"], float)
    chunks = [data for name, data in events if name == "agent_message"]
    text = "".join(d["thought"] for d in chunks)
    assert text.strip() and text == "".join(d["answer"] for d in chunks)
    end = events[-1][1]
    assert end["total_token_count"] > 0 and 0 < end["latency"] < 120 and end["total_price"] == 0.0

    messages = api.get(f"/apps/{app_id}/conversations/messages", headers=auth_headers).json()["data"]["list"]
    assert messages[0]["id"] == end["message_id"] and messages[0]["answer"] == text
    thoughts = messages[0]["agent_thoughts"]
    assert [t["event"] for t in thoughts] == ["long_term_memory_recall", "agent_message"]
    assert thoughts[1]["thought"] == text and thoughts[1]["id"] == chunks[0]["id"]
