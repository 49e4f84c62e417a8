"""What a front end written for the course API needs beyond routes: unknown fields ignored on
studio routes (known ones still validated), CORS for configured origins with credentials
(preflight included), and envelope errors on HTTP 200 when ``ENVELOPE_ERRORS_HTTP_200`` is on."""

from __future__ import annotations

import pytest

from config import TestingConfig
from tests.api.course.conftest import envelope

ORIGIN = "http://localhost:5173"


def test_unknown_fields_are_ignored_known_ones_still_checked(client, logged_in, make_dataset):
    created = client.post("/apps", json={"name": "bot", "fileList": [{"uid": 1}], "extra": {"a": 1}}, headers=logged_in)
    assert created.status_code == 201
    response = client.post("/apps", json={"name": "x" * 41, "fileList": []}, headers=logged_in)
    assert response.status_code == 422 and list(response.get_json()["data"]) == ["name"]
    dataset = client.post("/datasets", json={"name": "kb-unknown", "fileList": []}, headers=logged_in)
    assert dataset.status_code == 201
    config = client.post(f"/apps/{created.get_json()['data']['id']}/config",
                         json={"preset_prompt": "hi", "tools": [], "whatever": 1}, headers=logged_in)
    assert config.status_code == 200
    page = client.get("/apps?current_page=1&page_size=20&_t=1700000000", headers=logged_in)
    assert page.status_code == 200


def test_v1_still_passes_unknown_fields_upstream(client, logged_in, fake):
    key = envelope(client.post("/api-keys", json={"remark": "t"}, headers=logged_in), 201)["key"]
    body = {"model": "smollm2-135m", "messages": [{"role": "user", "content": "hi"}], "seed": 7, "logit_bias": {}}
    response = client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200 and fake.requests[-1]["seed"] == 7


@pytest.fixture(scope="module")
def cors_app(app):
    """A second app on the same database with ``CORS_ORIGINS`` set."""
    from llmops import create_app

    keys = ("INSTANCE_DIR", "SQLALCHEMY_DATABASE_URI", "CELERY", "STATE_STORE_URL", "QUOTA_STORE_URL", "CHROMA_PATH",
            "CHROMA_URL", "LOCAL_LLM_BASE_URL", "SSE_PING_INTERVAL_S")
    return create_app(TestingConfig, **{k: app.config[k] for k in keys}, CORS_ORIGINS=[ORIGIN])


def test_cors_preflight_and_credentials_for_configured_origins(cors_app, logged_in):
    client = cors_app.test_client()
    preflight = client.options("/apps", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                                                 "Access-Control-Request-Headers": "Authorization, Content-Type"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    real = client.get("/account", headers={**logged_in, "Origin": ORIGIN})
    assert real.status_code == 200 and real.headers["Access-Control-Allow-Origin"] == ORIGIN
    stranger = client.get("/account", headers={**logged_in, "Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers


def test_no_cors_headers_without_configured_origins(client, logged_in):
    response = client.get("/account", headers={**logged_in, "Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_envelope_errors_on_http_200_when_configured(app, client, logged_in, monkeypatch):
    monkeypatch.setitem(app.config, "ENVELOPE_ERRORS_HTTP_200", True)
    missing_app = client.get("/apps/00000000-0000-0000-0000-000000000000", headers=logged_in)
    invalid = client.post("/apps", json={}, headers=logged_in)
    anonymous = client.get("/apps")
    v1 = client.get("/v1/models")
    assert missing_app.status_code == 200 and missing_app.get_json()["code"] == "not_found"
    assert invalid.status_code == 200 and invalid.get_json()["code"] == "validate_error"
    assert anonymous.status_code == 200 and anonymous.get_json()["code"] == "unauthorized"
    assert v1.status_code == 401  # the OpenAI-compatible surface keeps real statuses
    monkeypatch.setitem(app.config, "ENVELOPE_ERRORS_HTTP_200", False)
    assert client.get("/apps/00000000-0000-0000-0000-000000000000", headers=logged_in).status_code == 404
