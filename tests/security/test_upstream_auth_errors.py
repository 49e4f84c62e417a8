"""An upstream's 401/403 is about the operator's provider key: clients get a 502 without the
upstream's text (which quotes part of that key), on every surface; the server log keeps it."""

from __future__ import annotations

import logging

import pytest

LEAK = "Incorrect API key provided: sk-proj-********************************abcd"
CHAT = {"model": "smollm2-135m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def refusing(fake):
    fake.behaviour.fail_status, fake.behaviour.fail_times, fake.behaviour.fail_message = 401, 1000, LEAK
    return fake


def assert_hidden(response, status: int | None = 502) -> None:
    text = response.get_data(as_text=True)
    if status is not None:
        assert response.status_code == status, text
    assert "abcd" not in text and "Incorrect API key" not in text, text


@pytest.mark.parametrize("upstream_status", [401, 403])
def test_gateway_blocking_and_streaming(client, key_headers, refusing, upstream_status, caplog):
    refusing.behaviour.fail_status = upstream_status
    with caplog.at_level(logging.ERROR, logger="llmops.providers"):
        assert_hidden(client.post("/v1/chat/completions", json=CHAT, headers=key_headers))
        assert_hidden(client.post("/v1/chat/completions", json={**CHAT, "stream": True}, headers=key_headers))
    assert LEAK[-4:] in caplog.text  # the operator sees the upstream's reason


def test_studio_debug_chat(client, auth, new_app, refusing):
    assert_hidden(client.post(f"/apps/{new_app}/debug", json={"query": "hi"}, headers=auth))
    stream = client.post(f"/apps/{new_app}/debug", json={"query": "hi", "stream": True}, headers=auth)
    assert_hidden(stream, status=None)
    messages = client.get(f"/apps/{new_app}/messages", headers=auth)
    assert_hidden(messages, status=200)  # the saved failed turn's error is generic too


def test_compat_surfaces(app, client, auth, key_headers, make_app, refusing):
    assert_hidden(client.post("/chat/completions", json={**CHAT, "stream": False}, headers=key_headers))
    assert_hidden(client.post("/chat/completions", json=CHAT, headers=key_headers))
    assert_hidden(client.post("/audio/chat/completions", json=CHAT, headers=key_headers))
    assert_hidden(client.post("/rag/chat/completions", json=CHAT, headers=key_headers), status=None)
    assert_hidden(client.post("/api/v1/chat/completions", json=CHAT, headers=key_headers))
    conversation = client.post("/api/conversations/create", json={"title": "t"}, headers=auth).get_json()
    seed000 = client.post(f"/api/chat/{conversation['conversation_id']}", json={"message": "hi"}, headers=auth)
    assert_hidden(seed000, status=None)
    assert "error" in seed000.get_data(as_text=True)
