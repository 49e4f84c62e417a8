"""Debug chat against the fake upstream: blocking, SSE, history, stop, disconnect, failures."""

import time

from tests.sse import parse_sse


def test_blocking_debug_chat_saves_the_message(client, auth, new_app, fake):
    response = client.post(f"/apps/{new_app}/debug", json={"query": "hi"}, headers=auth)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    assert data["answer"] == "Hello, world!" and data["query"] == "hi"
    assert data["answer_tokens"] == 4 and data["usage_estimated"] is False  # from upstream usage
    assert isinstance(data["response_latency"], int) and data["status"] == "normal"
    listed = client.get(f"/apps/{new_app}/messages", headers=auth).get_json()["data"]["list"]
    assert [m["id"] for m in listed] == [data["id"]]


def test_stream_events_and_headers(client, auth, new_app, fake):
    response = client.post(f"/apps/{new_app}/debug", json={"query": "hi", "stream": True}, headers=auth)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Accel-Buffering"] == "no"
    events = parse_sse(response.get_data(as_text=True))
    names = [e for e, _ in events]
    assert names == ["agent_message"] * 4 + ["agent_end"]
    assert "".join(d["answer"] for e, d in events if e == "agent_message") == "Hello, world!"
    end = events[-1][1]
    assert {"id", "task_id", "conversation_id", "message_id", "answer_tokens", "total_tokens",
            "response_latency", "usage_estimated"} <= set(end)
    message = client.get(f"/apps/{new_app}/messages", headers=auth).get_json()["data"]["list"][0]
    assert message["id"] == end["message_id"] and message["answer"] == "Hello, world!"


def test_stream_without_upstream_usage_is_labelled_estimated(client, auth, new_app, fake):
    fake.behaviour.send_usage = False
    response = client.post(f"/apps/{new_app}/debug", json={"query": "hi", "stream": True}, headers=auth)
    end = parse_sse(response.get_data(as_text=True))[-1][1]
    assert end["usage_estimated"] is True and end["answer_tokens"] > 0


def test_history_and_preset_prompt_reach_the_model(client, auth, new_app, fake):
    client.post(f"/apps/{new_app}/config", json={"preset_prompt": "You are Bob.", "model_config": {"dialog_round": 1}},
                headers=auth)
    for query in ("first", "second", "third"):
        client.post(f"/apps/{new_app}/debug", json={"query": query}, headers=auth)
    messages = fake.requests[-1]["messages"]
    assert messages[0] == {"role": "system", "content": "You are Bob."}
    assert [m["content"] for m in messages[1:]] == ["second", "Hello, world!", "third"]


def test_deleted_messages_leave_history_and_list(client, auth, new_app, fake):
    first = client.post(f"/apps/{new_app}/debug", json={"query": "first"}, headers=auth).get_json()["data"]
    assert client.post(f"/apps/{new_app}/messages/{first['id']}/delete", headers=auth).status_code == 200
    assert client.post(f"/apps/{new_app}/messages/{first['id']}/delete", headers=auth).status_code == 404
    client.post(f"/apps/{new_app}/debug", json={"query": "second"}, headers=auth)
    assert [m["content"] for m in fake.requests[-1]["messages"][1:]] == ["second"]
    assert [m["query"] for m in client.get(f"/apps/{new_app}/messages", headers=auth).get_json()["data"]["list"]] == ["second"]


def test_messages_paginate_newest_first_max_20(client, auth, new_app, fake):
    for i in range(3):
        client.post(f"/apps/{new_app}/debug", json={"query": f"q{i}"}, headers=auth)
    data = client.get(f"/apps/{new_app}/messages?page_size=2", headers=auth).get_json()["data"]
    assert [m["query"] for m in data["list"]] == ["q2", "q1"] and data["paginator"]["total_record"] == 3
    assert client.get(f"/apps/{new_app}/messages?page_size=21", headers=auth).status_code == 422


def test_upstream_failure_blocking_is_502_and_saved(client, auth, new_app, fake):
    fake.behaviour.fail_status, fake.behaviour.fail_times = 500, 5
    response = client.post(f"/apps/{new_app}/debug", json={"query": "hi"}, headers=auth)
    assert response.status_code == 502 and response.get_json()["code"] == "fail"
    message = client.get(f"/apps/{new_app}/messages", headers=auth).get_json()["data"]["list"][0]
    assert message["status"] == "error" and "500" in message["error"]


def test_upstream_failure_stream_ends_with_error_event(client, auth, new_app, fake):
    fake.behaviour.fail_status, fake.behaviour.fail_times = 503, 5
    response = client.post(f"/apps/{new_app}/debug", json={"query": "hi", "stream": True}, headers=auth)
    assert response.status_code == 200
    events = parse_sse(response.get_data(as_text=True))
    assert events[-1][0] == "error" and "503" in events[-1][1]["message"]


def test_validation_before_stream_gets_real_status(client, auth, new_app):
    response = client.post(f"/apps/{new_app}/debug", json={"stream": True}, headers=auth)
    assert response.status_code == 422 and "query" in response.get_json()["data"]


def test_stop_endpoint_stops_a_running_stream(client, auth, new_app, fake):
    fake.behaviour.answer_chunks = [f"w{i} " for i in range(200)]
    fake.behaviour.chunk_delay_s = 0.02
    response = client.post(f"/apps/{new_app}/debug", json={"query": "long", "stream": True}, headers=auth,
                           buffered=False)
    chunks = response.response
    first = next(chunks)
    task_id = parse_sse(first.decode() if isinstance(first, bytes) else first)[0][1]["task_id"]
    stop = client.post(f"/apps/{new_app}/debug/tasks/{task_id}/stop", headers=auth)
    assert stop.status_code == 200
    rest = "".join(c.decode() if isinstance(c, bytes) else c for c in chunks)
    events = parse_sse(rest)
    assert events[-1][0] == "stop"
    message = client.get(f"/apps/{new_app}/messages", headers=auth).get_json()["data"]["list"][0]
    assert message["status"] == "stop" and 0 < len(message["answer"]) < len("".join(fake.behaviour.answer_chunks))


def test_stop_of_unknown_task_is_404(client, auth, new_app):
    import uuid

    assert client.post(f"/apps/{new_app}/debug/tasks/{uuid.uuid4()}/stop", headers=auth).status_code == 404


def test_client_disconnect_keeps_partial_answer_as_stop(client, auth, new_app, fake):
    fake.behaviour.answer_chunks = [f"w{i} " for i in range(200)]
    fake.behaviour.chunk_delay_s = 0.02
    response = client.post(f"/apps/{new_app}/debug", json={"query": "bye", "stream": True}, headers=auth,
                           buffered=False)
    chunks = response.response
    next(chunks), next(chunks)
    response.close()  # what the WSGI server does when the client goes away
    deadline = time.time() + 10
    message = None
    while time.time() < deadline:
        listed = client.get(f"/apps/{new_app}/messages", headers=auth).get_json()["data"]["list"]
        if listed:
            message = listed[0]
            break
        time.sleep(0.1)
    assert message is not None, "the partial answer was not saved"
    assert message["status"] == "stop" and message["answer"].startswith("w0 ")


def test_ping_is_sent_while_waiting(app, client, auth, new_app, fake, monkeypatch):
    fake.behaviour.first_chunk_delay_s = 0.5
    monkeypatch.setitem(app.config, "SSE_PING_INTERVAL_S", 0.1)
    response = client.post(f"/apps/{new_app}/debug", json={"query": "hi", "stream": True}, headers=auth)
    names = [e for e, _ in parse_sse(response.get_data(as_text=True))]
    assert names[0] == "ping" and names[-1] == "agent_end"


def test_delete_debug_conversation_resets_history(client, auth, new_app, fake):
    client.post(f"/apps/{new_app}/debug", json={"query": "remember me"}, headers=auth)
    assert client.post(f"/apps/{new_app}/debug-conversation/delete", headers=auth).status_code == 200
    assert client.get(f"/apps/{new_app}/messages", headers=auth).get_json()["data"]["list"] == []
    client.post(f"/apps/{new_app}/debug", json={"query": "new"}, headers=auth)
    assert [m["content"] for m in fake.requests[-1]["messages"][1:]] == ["new"]


def test_no_config_to_debug_is_a_clear_error(client, auth, new_app, app):
    from llmops.extensions import db
    from llmops.models import App

    with app.app_context():
        row = db.session.get(App, __import__("uuid").UUID(new_app))
        row.drafted_app_config_id = None
        db.session.commit()
    response = client.post(f"/apps/{new_app}/debug", json={"query": "hi"}, headers=auth)
    assert response.status_code == 400 and "configuration" in response.get_json()["message"]


def test_truncated_stream_is_saved_as_error(client, auth, new_app, fake):
    fake.behaviour.send_finish_reason = False
    events = parse_sse(client.post(f"/apps/{new_app}/debug", json={"query": "hi", "stream": True},
                                   headers=auth).get_data(as_text=True))
    assert events[-1][0] == "error"
    message = client.get(f"/apps/{new_app}/messages", headers=auth).get_json()["data"]["list"][0]
    assert message["status"] == "error" and message["answer"] == "Hello, world!"


def test_total_deadline_ends_the_stream_with_timeout(app, client, auth, new_app, fake, monkeypatch):
    fake.behaviour.answer_chunks = [f"w{i} " for i in range(50)]
    fake.behaviour.chunk_delay_s = 0.05
    monkeypatch.setitem(app.config, "LLM_TOTAL_TIMEOUT_S", 0.5)
    monkeypatch.delattr(app.runtime, "chat_clients")  # clients keep the timeouts they were built with
    response = client.post(f"/apps/{new_app}/debug", json={"query": "slow", "stream": True}, headers=auth)
    events = parse_sse(response.get_data(as_text=True))
    assert events[-1][0] == "timeout"
    message = client.get(f"/apps/{new_app}/messages", headers=auth).get_json()["data"]["list"][0]
    assert message["status"] == "timeout" and message["answer"].startswith("w0 ")
