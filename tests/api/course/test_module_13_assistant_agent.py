"""Course module 13 (辅助Agent): the assistant agent's chat, stop, messages and
delete-conversation; its tools create and configure apps and knowledge bases for the signed-in
account only."""

from __future__ import annotations

import json
import uuid

import pytest

from llmops.runtime import runtime
from tests.api.course.conftest import envelope, parse_sse
from tests.conftest import register

MESSAGE_FIELDS = {"id", "conversation_id", "query", "image_urls", "answer", "total_token_count", "latency",
                  "agent_thoughts", "created_at"}


@pytest.fixture
def assistant_model(app, tool_model, monkeypatch):
    monkeypatch.setitem(app.config, "ASSISTANT_AGENT_PROVIDER", tool_model[0])
    monkeypatch.setitem(app.config, "ASSISTANT_AGENT_MODEL", tool_model[1])
    return tool_model


def assistant_chat(client, headers, query: str) -> list[tuple[str, dict]]:
    response = client.post("/assistant-agent/chat", json={"query": query}, headers=headers)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/event-stream")
    return parse_sse(response.get_data(as_text=True))


def observations(events) -> dict[str, dict]:
    return {d["tool"]: json.loads(d["observation"]) for e, d in events if e == "agent_action"}


def test_the_assistant_builds_an_app_and_a_knowledge_base(app, client, logged_in, fake, assistant_model):
    fake.behaviour.next_tool_calls = [[
        {"name": "create_app", "arguments": {"name": "LLM tutor", "description": "Answers LLM questions",
                                             "preset_prompt": "You teach LLMs.", "opening_statement": "Hi!",
                                             "builtin_tools": "time/current_time, calculator/calculator"}},
        {"name": "create_dataset", "arguments": {"name": "LLM notes", "description": "course notes"}}]]
    fake.behaviour.next_answers = [["Your app LLM tutor is ready."]]
    events = assistant_chat(client, logged_in, "帮我创建一个能回答LLM问题的Agent。")
    assert [e for e, _ in events][-1] == "agent_end"
    made = observations(events)
    app_id, dataset_id = made["create_app"]["app_id"], made["create_dataset"]["dataset_id"]
    assert made["create_app"]["tools"] == ["time/current_time", "calculator/calculator"]

    draft = envelope(client.get(f"/apps/{app_id}/draft-app-config", headers=logged_in))
    assert draft["preset_prompt"] == "You teach LLMs." and draft["opening_statement"] == "Hi!"
    assert [t["tool"]["id"] for t in draft["tools"]] == ["current_time", "calculator"]
    assert envelope(client.get(f"/datasets/{dataset_id}", headers=logged_in))["name"] == "LLM notes"

    fake.behaviour.next_tool_calls = [[{"name": "bind_datasets",
                                        "arguments": {"app_id": app_id, "dataset_ids": dataset_id}}]]
    events = assistant_chat(client, logged_in, "bind the notes to it")
    assert observations(events)["bind_datasets"]["dataset_ids"] == [dataset_id]
    draft = envelope(client.get(f"/apps/{app_id}/draft-app-config", headers=logged_in))
    assert [d["id"] for d in draft["datasets"]] == [dataset_id]

    fake.behaviour.next_tool_calls = [[{"name": "configure_app", "arguments": {
        "app_id": app_id, "preset_prompt": "You teach LLMs, briefly.", "builtin_tools": "calculator/calculator"}}]]
    events = assistant_chat(client, logged_in, "make it brief and keep only the calculator")
    assert observations(events)["configure_app"]["tools"] == ["calculator/calculator"]
    draft = envelope(client.get(f"/apps/{app_id}/draft-app-config", headers=logged_in))
    assert draft["preset_prompt"] == "You teach LLMs, briefly." and [t["tool"]["id"] for t in draft["tools"]] == [
        "calculator"] and draft["opening_statement"] == "Hi!"

    page = envelope(client.get("/assistant-agent/messages?current_page=1&page_size=20", headers=logged_in))
    assert page["paginator"]["total_record"] == 3 and all(not (MESSAGE_FIELDS - set(m)) for m in page["list"])
    assert page["list"][2]["query"] == "帮我创建一个能回答LLM问题的Agent。"  # newest first
    assert [s["event"] for s in page["list"][2]["agent_thoughts"]] == ["agent_thought", "agent_action", "agent_action",
                                                                       "agent_message"]
    # the assistant's model calls are metered on the "ai" surface
    with app.app_context():
        import sqlalchemy as sa

        from llmops.extensions import db
        from llmops.models import Account, UsageLog
        from llmops.services.core import usage_service

        usage_service.write_usage(runtime().usage_buffer.drain())
        account = db.session.scalar(sa.select(Account).where(Account.email == logged_in["X-Email"].lower()))
        rows = db.session.scalars(sa.select(UsageLog).where(UsageLog.account_id == account.id)).all()
    assert len(rows) == 6 and {r.surface for r in rows} == {"ai"}  # two model calls per turn


def test_the_assistant_acts_only_for_the_signed_in_account(client, logged_in, fake, assistant_model):
    other = register(client, "Other")
    theirs = envelope(client.post("/apps", json={"name": "theirs"}, headers=other), 201)["id"]
    dataset = envelope(client.post("/datasets", json={"name": f"mine-{uuid.uuid4().hex[:6]}"}, headers=logged_in),
                       201)["id"]
    fake.behaviour.next_tool_calls = [[{"name": "bind_datasets", "arguments": {"app_id": theirs, "dataset_ids": dataset}},
                                       {"name": "configure_app", "arguments": {"app_id": theirs, "preset_prompt": "x"}},
                                       {"name": "list_my_apps", "arguments": {}}]]
    events = assistant_chat(client, logged_in, "bind my dataset to their app")
    actions = {d["tool"]: d["observation"] for e, d in events if e == "agent_action"}
    assert actions["bind_datasets"].startswith("error: ") and "not found" in actions["bind_datasets"]
    assert actions["configure_app"].startswith("error: ") and "not found" in actions["configure_app"]
    assert theirs not in actions["list_my_apps"]
    assert envelope(client.get(f"/apps/{theirs}/draft-app-config", headers=other))["preset_prompt"] == ""
    assert envelope(client.get("/assistant-agent/messages", headers=other))["list"] == []


def test_stop_delete_conversation_and_input(client, logged_in, fake, assistant_model):
    assert client.post(f"/assistant-agent/chat/{uuid.uuid4()}/stop", headers=logged_in).status_code == 404
    fake.behaviour.next_answers = [["Hello!"]]
    events = assistant_chat(client, logged_in, "hi")
    assert [e for e, _ in events] == ["agent_message", "agent_end"]
    conversation = events[0][1]["conversation_id"]
    assert len(envelope(client.get("/assistant-agent/messages", headers=logged_in))["list"]) == 1
    envelope(client.post("/assistant-agent/delete-conversation", headers=logged_in))
    assert envelope(client.get("/assistant-agent/messages", headers=logged_in))["list"] == []
    events = assistant_chat(client, logged_in, "hi again")
    assert events[0][1]["conversation_id"] != conversation
    response = client.post("/assistant-agent/chat", json={}, headers=logged_in)
    assert response.status_code == 422 and "query" in response.get_json()["data"]
    assert client.post("/assistant-agent/chat", json={"query": "x"}).status_code == 401


def test_the_assistant_on_a_model_without_tool_calling_uses_react(client, logged_in, fake):
    # no assistant model configured: the helper model (the local model here, no tool_call)
    fake.behaviour.next_answers = [
        ['Thought: make it.\nAction: create_app\nAction Input: {"name": "Translator", "preset_prompt": "Translate."}'],
        ["Final Answer: Done, your Translator app is ready."]]
    events = assistant_chat(client, logged_in, "make me a translator app")
    made = observations(events)
    assert made["create_app"]["name"] == "Translator"
    assert "".join(d["answer"] for e, d in events if e == "agent_message") == "Done, your Translator app is ready."
    apps = envelope(client.get("/apps?search_word=Translator", headers=logged_in))["list"]
    assert [a["id"] for a in apps] == [made["create_app"]["app_id"]]
