"""Operations: liveness, readiness naming the failing part, the admin CLI, error envelopes."""

import sqlalchemy as sa

from llmops.extensions import db
from llmops.models import Account


def test_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_ok_then_names_the_failing_model(app, client, monkeypatch):
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json()["failing"] == []
    monkeypatch.setitem(app.config, "LOCAL_LLM_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens on the discard port
    monkeypatch.delattr(app.runtime, "model_registry")  # a fresh cache, the old one back afterwards
    response = client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 503 and body["failing"] == ["default_model"]
    assert body["checks"]["database"] == "ok"


def test_create_admin_cli(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["llmops", "create-admin", "root@example.com", "--name", "Root"])
    assert result.exit_code == 0, result.output
    assert "password:" in result.output
    with app.app_context():
        account = db.session.scalar(sa.select(Account).where(Account.email == "root@example.com"))
        assert account.is_admin and account.name == "Root"
    again = runner.invoke(args=["llmops", "create-admin", "root@example.com"])
    assert again.exit_code != 0 and "already exists" in again.output
    promoted = runner.invoke(args=["llmops", "create-admin", "root@example.com", "--promote"])
    assert promoted.exit_code == 0 and "password:" not in promoted.output


def test_set_provider_cli_overrides_the_registry(app, client, auth):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["llmops", "set-provider", "ollama", "--disable"]).exit_code == 0
    providers = [p["provider"] for p in client.get("/language-models", headers=auth).get_json()["data"]]
    assert "ollama" not in providers and "local" in providers
    assert runner.invoke(args=["llmops", "set-provider", "ollama"]).exit_code == 0
    unknown = runner.invoke(args=["llmops", "set-provider", "nope"])
    assert unknown.exit_code != 0


def test_method_not_allowed_and_non_object_body(client, auth):
    response = client.delete("/apps", headers=auth)
    assert response.status_code == 405 and response.get_json()["code"] == "fail"
    listed = client.post("/apps", json=["not", "an", "object"], headers=auth)
    assert listed.status_code == 400 and "body" in listed.get_json()["data"]
