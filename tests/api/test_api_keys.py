"""API keys (docs/api.md A): shown once, stored hashed, owned, validated; their state gates /v1."""

import hashlib
import time
import uuid

import pytest

from llmops.extensions import db
from llmops.models import ApiKey


def new_key(client, auth, **fields) -> dict:
    response = client.post("/api-keys", json={"remark": "test", **fields}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def v1_models(client, plain: str):
    return client.get("/v1/models", headers={"Authorization": f"Bearer {plain}"})


def test_the_key_is_shown_once_and_stored_as_a_hash(app, client, auth):
    created = new_key(client, auth, quota=1000, models=["smollm2-135m"], rpm=60, tpm=10000)
    plain = created["key"]
    assert plain.startswith("sk-llmops-") and len(plain) > 40
    assert created["remaining_quota"] == 1000 and created["models"] == ["smollm2-135m"]
    listed = client.get("/api-keys", headers=auth).get_json()["data"]["list"]
    assert [k["id"] for k in listed] == [created["id"]]
    assert plain not in str(listed) and listed[0]["key"].endswith(plain[-4:])
    with app.app_context():
        row = db.session.get(ApiKey, uuid.UUID(created["id"]))
        assert row.key_hash == hashlib.sha256(plain.encode()).hexdigest()
        assert plain not in str({c.name: getattr(row, c.name) for c in ApiKey.__table__.columns})
    assert v1_models(client, plain).status_code == 200


def test_disable_delete_and_expiry_stop_the_key(client, auth):
    created = new_key(client, auth)
    plain, base = created["key"], f"/api-keys/{created['id']}"
    assert client.post(f"{base}/is-active", json={"is_active": False}, headers=auth).status_code == 200
    response = v1_models(client, plain)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "invalid_api_key"
    assert plain not in response.get_data(as_text=True)
    client.post(f"{base}/is-active", json={"is_active": True}, headers=auth)
    assert v1_models(client, plain).status_code == 200
    client.post(base, json={"expires_at": int(time.time()) - 1}, headers=auth)
    assert v1_models(client, plain).get_json()["error"]["message"] == "The API key has expired"
    client.post(base, json={"expires_at": None}, headers=auth)
    assert v1_models(client, plain).status_code == 200
    assert client.post(f"{base}/delete", headers=auth).status_code == 200
    assert v1_models(client, plain).status_code == 401
    assert client.get("/api-keys", headers=auth).get_json()["data"]["paginator"]["total_record"] == 0


def test_another_accounts_key_is_not_found(client, auth, other_auth):
    created = new_key(client, auth)
    base = f"/api-keys/{created['id']}"
    assert client.post(base, json={"remark": "mine"}, headers=other_auth).status_code == 404
    assert client.post(f"{base}/is-active", json={"is_active": False}, headers=other_auth).status_code == 404
    assert client.post(f"{base}/delete", headers=other_auth).status_code == 404
    assert client.get("/api-keys", headers=other_auth).get_json()["data"]["list"] == []


def test_bad_fields_are_named(client, auth, other_auth, new_app):
    response = client.post("/api-keys", json={"quota": -5, "rpm": 0, "models": "all"}, headers=auth)
    assert response.status_code == 422
    assert {"quota", "rpm", "models"} <= set(response.get_json()["data"])
    foreign = client.post("/api-keys", json={"app_id": new_app}, headers=other_auth)
    assert foreign.status_code == 422 and "app_id" in foreign.get_json()["data"]
    assert client.post("/api-keys", json={"app_id": new_app}, headers=auth).status_code == 201


def test_missing_or_malformed_authorization(client):
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer sk-llmops-nope"}):
        response = client.get("/v1/models", headers=headers)
        assert response.status_code == 401
        assert set(response.get_json()["error"]) == {"message", "type", "param", "code"}


@pytest.mark.timeout(60)
def test_changing_a_key_in_a_process_that_has_cached_no_key_yet(app, client, auth):
    """The first cache access of a process may be a change (it used to wait on its own lock forever)."""
    key = new_key(client, auth)
    app.runtime.reset("api_key_cache")
    response = client.post(f"/api-keys/{key['id']}", json={"remark": "renamed"}, headers=auth)
    assert response.status_code == 200 and response.get_json()["data"]["remark"] == "renamed"
