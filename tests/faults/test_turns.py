"""Chat turns at their edges: a client gone before the model call leaves a saved message with a
status; a published app's turn counts its tokens once in the metrics."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import REGISTRY
from werkzeug.test import EnvironBuilder

from llmops.extensions import db
from llmops.models import Message
from tests.api.test_api_keys import new_key
from tests.api.test_gateway import flush


def test_a_client_gone_before_the_model_call_leaves_a_stopped_message(app, client, auth, new_app, fake):
    flush(app)
    environ = EnvironBuilder(path=f"/apps/{new_app}/debug", method="POST", json={"query": "anyone?", "stream": True},
                             headers={"Authorization": auth["Authorization"]}).get_environ()
    statuses = []
    body = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    assert statuses == ["200 OK"]
    body.close()  # the client went away before the first byte: the WSGI server closes the body unread
    assert fake.requests == []  # the model was never called
    with app.app_context():
        [message] = db.session.query(Message).filter_by(app_id=uuid.UUID(new_app)).all()
        assert (message.query, message.answer, message.status) == ("anyone?", "", "stop")
        assert "before the model was called" in message.error and message.total_tokens == 0
    [record] = flush(app)
    assert (record["status"], record["cost_credits"], record["prompt_tokens"]) == ("stop", 0, 0)
    listed = client.get(f"/apps/{new_app}/messages", headers=auth).get_json()["data"]["list"]
    assert [m["status"] for m in listed] == ["stop"]


def tokens_counted() -> float:
    return sum(sample.value for metric in REGISTRY.collect() if metric.name == "llmops_llm_tokens"
               for sample in metric.samples if sample.name == "llmops_llm_tokens_total")


@pytest.mark.parametrize("stream", [False, True])
def test_a_published_app_turn_counts_its_tokens_once(app, client, auth, new_app, fake, stream):
    assert client.post(f"/apps/{new_app}/publish", headers=auth).status_code == 200
    key = new_key(client, auth)["key"]
    before = tokens_counted()
    response = client.post(f"/v1/apps/{new_app}/chat", json={"query": "Hi", "stream": stream},
                           headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    response.get_data()
    assert tokens_counted() - before == 11 + 4  # the fake's usage: 11 prompt + 4 completion tokens
    flush(app)
