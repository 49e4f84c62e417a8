"""Course §1.19–1.20 and module 15 (WebApp): the doc's requests replayed against the fake upstream."""

from __future__ import annotations

import uuid

from tests.api.course.webapp_helpers import parse_sse, publish, text, web_chat


def test_1_19_published_config_token_and_status(client, auth, new_app):
    draft = client.get(f"/apps/{new_app}/published-config", headers=auth)
    assert draft.status_code == 200
    assert draft.get_json() == {"code": "success", "data": {"web_app": {"token": "", "status": "draft"}},
                                "message": ""}
    token = publish(client, auth, new_app)
    assert len(token) == 16 and token.isalnum()
    # republishing keeps the token
    assert publish(client, auth, new_app) == token


def test_1_20_regenerate_invalidates_the_old_token(client, auth, other_auth, new_app):
    old = publish(client, auth, new_app)
    response = client.post(f"/apps/{new_app}/published-config/regenerate-web-app-token", headers=auth)
    assert response.status_code == 200
    new = response.get_json()["data"]["token"]
    assert new != old and len(new) == 16
    assert client.get(f"/apps/{new_app}/published-config", headers=auth).get_json()["data"]["web_app"]["token"] == new
    assert client.get(f"/web-apps/{old}", headers=other_auth).status_code == 404
    assert client.get(f"/web-apps/{new}", headers=other_auth).status_code == 200
    # the doc's example uses GET
    again = client.get(f"/apps/{new_app}/published-config/regenerate-web-app-token", headers=auth)
    assert again.status_code == 200 and again.get_json()["data"]["token"] not in (old, new)


def test_1_20_regenerate_needs_a_published_app_and_the_owner(client, auth, other_auth, new_app):
    response = client.post(f"/apps/{new_app}/published-config/regenerate-web-app-token", headers=auth)
    assert response.status_code == 400 and "not published" in response.get_json()["message"]
    publish(client, auth, new_app)
    for url in (f"/apps/{new_app}/published-config", f"/apps/{new_app}/published-config/regenerate-web-app-token"):
        assert client.post(url, headers=other_auth).status_code in (404, 405)
        assert client.get(url, headers=other_auth).status_code == 404


def test_15_1_web_app_info(client, auth, other_auth, new_app):
    client.post(f"/apps/{new_app}", json={"icon": "https://example.com/i.png"}, headers=auth)
    client.post(f"/apps/{new_app}/config", json={"opening_statement": "Hi there"}, headers=auth)
    token = publish(client, auth, new_app)
    response = client.get(f"/web-apps/{token}", headers=other_auth)  # any logged-in account
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["id"] == new_app and data["name"] == "Test bot" and data["description"] == "for tests"
    assert data["icon"] == "https://example.com/i.png"
    config = data["app_config"]
    assert config["opening_statement"] == "Hi there"
    assert config["opening_questions"] == [] and config["suggested_after_answer"] == {"enable": False}
    assert {"speech_to_text", "text_to_speech", "features"} <= set(config)
    assert client.get(f"/web-apps/{token}").status_code == 401  # login required (§15.1)


def test_15_unknown_token_or_unpublished_app_is_404(client, auth, other_auth, new_app):
    token = publish(client, auth, new_app)
    assert client.get("/web-apps/JyXc763dv4A3A2TC", headers=other_auth).status_code == 404
    assert client.get("/web-apps/" + "x" * 65, headers=other_auth).status_code == 404
    client.post(f"/apps/{new_app}/cancel-publish", headers=auth)
    assert client.get(f"/web-apps/{token}", headers=other_auth).status_code == 404
    body = {"conversation_id": "", "query": "hi"}
    assert client.post(f"/web-apps/{token}/chat", json=body, headers=other_auth).status_code == 404
    assert client.get(f"/web-apps/{token}/conversations", headers=other_auth).status_code == 404
    assert client.get(f"/apps/{new_app}/published-config", headers=auth).get_json()["data"]["web_app"] == {
        "token": "", "status": "draft"}
    assert publish(client, auth, new_app) == token  # the same link works again after republishing
    client.post(f"/apps/{new_app}/delete", headers=auth)
    assert client.get(f"/web-apps/{token}", headers=other_auth).status_code == 404


def test_15_2_chat_streams_the_published_config_charged_to_the_owner(app, client, auth, other_auth, new_app, fake):
    client.post(f"/apps/{new_app}/config", json={"preset_prompt": "Published prompt."}, headers=auth)
    token = publish(client, auth, new_app)
    client.post(f"/apps/{new_app}/config", json={"preset_prompt": "Draft prompt."}, headers=auth)
    events = web_chat(client, other_auth, token, "你好，你是")  # the doc's request
    assert fake.requests[-1]["messages"][0]["content"] == "Published prompt."
    names = [e for e, _ in events]
    assert names[-1] == "agent_end" and "agent_message" in names
    assert text(events) == "Hello, world!"
    first = events[0][1]
    assert {"id", "conversation_id", "message_id", "task_id", "answer"} <= set(first)
    # the same event builder as debug chat: the same data keys on every agent_message
    debug = parse_sse(client.post(f"/apps/{new_app}/debug", json={"query": "x", "stream": True},
                                  headers=auth).get_data(as_text=True))
    debug_keys = {e: set(d) for e, d in debug}
    assert {e: set(d) for e, d in events} == debug_keys

    from llmops.extensions import db
    from llmops.models import Account, Conversation, Message

    with app.app_context():
        conversation = db.session.get(Conversation, uuid.UUID(first["conversation_id"]))
        owner = db.session.query(Account).filter_by(email=auth["X-Email"]).one()
        end_user = db.session.query(Account).filter_by(email=other_auth["X-Email"]).one()
        assert conversation.invoke_from == "web_app" and conversation.app_id == uuid.UUID(new_app)
        assert conversation.created_by == end_user.id and conversation.account_id == owner.id
        message = db.session.get(Message, uuid.UUID(first["message_id"]))
        assert message.account_id == owner.id and message.answer == "Hello, world!"


def test_15_2_conversation_continues_only_for_its_end_user(client, auth, other_auth, new_app, fake):
    token = publish(client, auth, new_app)
    conversation_id = web_chat(client, other_auth, token, "first")[0][1]["conversation_id"]
    events = web_chat(client, other_auth, token, "second", conversation_id)
    assert events[0][1]["conversation_id"] == conversation_id
    assert [m["content"] for m in fake.requests[-1]["messages"][1:]] == ["first", "Hello, world!", "second"]
    # the owner (or anyone else) cannot write into the end user's conversation
    body = {"conversation_id": conversation_id, "query": "intrude"}
    assert client.post(f"/web-apps/{token}/chat", json=body, headers=auth).status_code == 404
    # a fresh conversation for another end user
    assert web_chat(client, auth, token, "mine")[0][1]["conversation_id"] != conversation_id


def test_15_2_bad_input_names_the_field(client, auth, other_auth, new_app):
    token = publish(client, auth, new_app)
    cases = [({"query": ""}, "query"), ({}, "query"), ({"query": "hi", "conversation_id": "abc"}, "conversation_id"),
             ({"query": "hi", "image_urls": ["https://example.com/a.png"] * 6}, "image_urls")]
    for body, field in cases:
        response = client.post(f"/web-apps/{token}/chat", json=body, headers=other_auth)
        assert response.status_code == 422, body
        assert field in response.get_json()["data"], response.get_json()
    unknown = {"query": "hi", "conversation_id": str(uuid.uuid4())}
    assert client.post(f"/web-apps/{token}/chat", json=unknown, headers=other_auth).status_code == 404
    assert client.post(f"/web-apps/{token}/chat", json={"query": "hi"}).status_code == 401


def test_15_3_stop_a_running_web_app_chat(client, auth, other_auth, new_app, fake):
    token = publish(client, auth, new_app)
    fake.behaviour.answer_chunks = [f"w{i} " for i in range(200)]
    fake.behaviour.chunk_delay_s = 0.02
    response = client.post(f"/web-apps/{token}/chat", json={"query": "long"}, headers=other_auth, buffered=False)
    chunks = response.response
    first = next(chunks)
    task_id = parse_sse(first.decode() if isinstance(first, bytes) else first)[0][1]["task_id"]
    # only the end user who started it may stop it
    assert client.post(f"/web-apps/{token}/chat/{task_id}/stop", headers=auth).status_code == 404
    stop = client.post(f"/web-apps/{token}/chat/{task_id}/stop", headers=other_auth)
    assert stop.status_code == 200 and stop.get_json()["code"] == "success"
    events = parse_sse("".join(c.decode() if isinstance(c, bytes) else c for c in chunks))
    assert events[-1][0] == "stop"
    assert 0 < len(events[-1][1]["answer"]) < len("".join(fake.behaviour.answer_chunks))
    assert client.post(f"/web-apps/{token}/chat/{uuid.uuid4()}/stop", headers=other_auth).status_code == 404
    assert client.post(f"/web-apps/nosuchtoken/chat/{task_id}/stop", headers=other_auth).status_code == 404


def test_5_1_conversations_of_the_end_user_with_pinned_filter(client, auth, other_auth, new_app, fake):
    token = publish(client, auth, new_app)
    first = web_chat(client, other_auth, token, "What is an LLM?")[0][1]["conversation_id"]
    second = web_chat(client, other_auth, token, "Tell me a joke")[0][1]["conversation_id"]
    web_chat(client, auth, token, "the owner's own")
    listed = client.get(f"/web-apps/{token}/conversations", headers=other_auth)
    assert listed.status_code == 200
    items = listed.get_json()["data"]
    assert [c["id"] for c in items] == [second, first]
    assert set(items[0]) >= {"id", "name", "summary", "created_at"}
    assert items[1]["name"] == "What is an LLM?"  # the fallback name, at once after the first round
    assert client.post(f"/conversations/{first}/is-pinned", json={"is_pinned": True}, headers=other_auth).status_code == 200
    pinned = client.get(f"/web-apps/{token}/conversations?is_pinned=true", headers=other_auth).get_json()["data"]
    assert [c["id"] for c in pinned] == [first]
    unpinned = client.get(f"/web-apps/{token}/conversations?is_pinned=false", headers=other_auth).get_json()["data"]
    assert [c["id"] for c in unpinned] == [second]
    assert client.get(f"/web-apps/{token}/conversations?is_pinned=maybe", headers=other_auth).status_code == 422
    client.post(f"/conversations/{second}/delete", headers=other_auth)
    assert client.get(f"/web-apps/{token}/conversations", headers=other_auth).get_json()["data"] == []


def test_15_2_client_gone_keeps_the_partial_round_and_names_the_conversation(client, auth, other_auth, new_app,
                                                                            fake):
    import time

    token = publish(client, auth, new_app)
    fake.behaviour.answer_chunks = [f"w{i} " for i in range(200)]
    fake.behaviour.chunk_delay_s = 0.02
    response = client.post(f"/web-apps/{token}/chat", json={"query": "Leaving early"}, headers=other_auth,
                           buffered=False)
    chunks = response.response
    first = next(chunks)
    conversation_id = parse_sse(first.decode() if isinstance(first, bytes) else first)[0][1]["conversation_id"]
    next(chunks)
    response.close()  # what the WSGI server does when the client goes away
    deadline, messages = time.time() + 10, []
    while time.time() < deadline and not messages:
        time.sleep(0.1)
        messages = client.get(f"/conversations/{conversation_id}/messages",
                              headers=other_auth).get_json()["data"]["list"]
    assert messages and messages[0]["status"] == "stop" and messages[0]["answer"].startswith("w0 ")
    deadline, name = time.time() + 10, ""
    while time.time() < deadline and name != "Leaving early":
        name = client.get(f"/conversations/{conversation_id}/name", headers=other_auth).get_json()["data"]["name"]
    assert name == "Leaving early"


def test_15_2_a_priced_web_app_charges_its_owner_not_the_end_user(app, client, auth, other_auth, new_app, priced,
                                                                 fake):
    from tests.money import FAKE_CALL_COST, balance, grant

    client.post(f"/apps/{new_app}/config", json={"model_config": {"provider": "local", "model": priced,
                                                                   "parameters": {"max_tokens": 50}}}, headers=auth)
    token = publish(client, auth, new_app)
    grant(app, other_auth["X-Email"], 10_000)  # the end user's money is not used
    refused = client.post(f"/web-apps/{token}/chat", json={"query": "hi"}, headers=other_auth)
    assert refused.status_code == 429 and "balance" in refused.get_json()["message"]  # the owner has none
    assert fake.requests == []
    grant(app, auth["X-Email"], 10_000)
    assert text(web_chat(client, other_auth, token, "hi")) == "Hello, world!"
    assert balance(app, auth["X-Email"]) == (10_000 - FAKE_CALL_COST, FAKE_CALL_COST)
    assert balance(app, other_auth["X-Email"]) == (10_000, 0)
    analysis = client.get(f"/analysis/{new_app}", headers=auth).get_json()["data"]
    assert analysis["cost_consumption"]["data"] == FAKE_CALL_COST / 1_000_000  # USD; 1 credit = 1e-6 USD
