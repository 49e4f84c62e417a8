"""Seed 003's documented requests (``/api/v1``), replayed as its clients send them: no auth header
(charged to ``SEED003_API_KEY``), ``{"detail"}`` errors, the admin's active models."""

import io
import json

import pytest

from config import TestingConfig
from llmops import create_app
from llmops.services.gateway.vision_service import parse_objects
from tests.api.test_api_keys import new_key
from tests.api.test_gateway import flush

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def seed003(app, client, auth):
    """An api whose unauthenticated seed-003 requests are charged to a configured key."""
    key = new_key(client, auth, quota=100_000)
    internal = create_app(TestingConfig, **{**dict(app.config), "SEED003_API_KEY": key["key"]})
    return internal.test_client(), key


def test_chat_examples_from_the_seed(app, seed003, fake):
    client, key = seed003
    body = {"messages": [{"role": "user", "content": "用Python写一个快速排序"}], "stream": False}
    answer = client.post("/api/v1/chat/completions", json=body)
    assert answer.status_code == 200, answer.get_json()
    data = answer.get_json()
    assert data["object"] == "chat.completion" and data["choices"][0]["message"]["content"] == "Hello, world!"
    assert fake.requests[-1]["model"] == "smollm2-135m"  # no model given: the active/default language model
    stream = client.post("/api/v1/chat/completions", json={**body, "stream": True})
    frames = [line[6:] for line in stream.get_data(as_text=True).splitlines() if line.startswith("data: ")]
    assert stream.mimetype == "text/event-stream" and frames[-1] == "[DONE]"
    text = "".join(json.loads(f)["choices"][0]["delta"].get("content") or "" for f in frames[:-1]
                   if json.loads(f)["choices"])
    assert text == "Hello, world!"
    records = flush(client.application)
    assert [r["api_key_id"] for r in records] == [key["id"]] * 2  # charged to the configured key


def test_models_and_errors_use_the_detail_shape(app, client, seed003, fake):
    internal, _ = seed003
    assert internal.get("/api/v1/models").get_json()["object"] == "list"
    unauthenticated = client.post("/api/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]})
    assert unauthenticated.status_code == 401 and set(unauthenticated.get_json()) == {"detail"}
    bad = internal.post("/api/v1/chat/completions", json={"stream": True})
    assert bad.status_code == 422 and bad.get_json()["detail"].startswith("messages")
    fake.behaviour.fail_status, fake.behaviour.fail_times = 500, 1
    failed = internal.post("/api/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]})
    assert failed.status_code == 502 and "detail" in failed.get_json()


def test_vision_needs_an_active_vision_model(app, client, seed003, admin_auth, fake):
    internal, _ = seed003
    files = {"image": (io.BytesIO(PNG), "cat.png")}
    with app.app_context():
        from llmops.extensions import db
        from llmops.models import ActiveModel

        db.session.query(ActiveModel).filter_by(kind="vision").delete()
        db.session.commit()
    missing = internal.post("/api/v1/vision/completions", data=files, content_type="multipart/form-data")
    assert missing.status_code == 503 and "vision" in missing.get_json()["detail"]
    assert client.post("/admin/models/active", headers=admin_auth,
                       json={"kind": "vision", "provider": "local", "model": "smolvlm"}).status_code == 200
    fake.behaviour.answer_chunks = ['Sure! {"objects": [{"name": "猫", "description": "一只橘色的猫。"}]}']
    result = internal.post("/api/v1/vision/completions", content_type="multipart/form-data",
                           data={"image": (io.BytesIO(PNG), "cat.png")})
    assert result.status_code == 200, result.get_json()
    assert result.get_json() == {"recognition_id": "chatcmpl-fake", "objects": [{"name": "猫", "description": "一只橘色的猫。"}]}
    sent = fake.requests[-1]
    assert sent["model"] == "smolvlm" and sent["messages"][0]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    not_image = internal.post("/api/v1/vision/completions", content_type="multipart/form-data",
                              data={"image": (io.BytesIO(b"plain text"), "x.png")})
    assert not_image.status_code == 415 and "detail" in not_image.get_json()
    no_file = internal.post("/api/v1/vision/completions", content_type="multipart/form-data", data={})
    assert no_file.status_code == 400


def test_answers_that_are_not_json_still_give_objects():
    assert parse_objects('```json\n{"objects": [{"name": "dog", "description": "A dog."}]}\n```') == [
        {"name": "dog", "description": "A dog."}]
    assert parse_objects("A red bicycle.\nIt leans on a wall.") == [
        {"name": "A red bicycle", "description": "A red bicycle.\nIt leans on a wall."}]
    assert parse_objects("") == []
