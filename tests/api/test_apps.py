"""Apps: CRUD, draft configuration, publishing, ownership (seed 002 §01)."""

import uuid

import pytest

SEED_11_FIELDS = {
    "id", "name", "icon", "description", "published_app_config_id", "drafted_app_config_id",
    "debug_conversation_id", "published_app_config", "drafted_app_config", "updated_at", "created_at",
}


def test_create_get_shape(client, auth, new_app):
    data = client.get(f"/apps/{new_app}", headers=auth).get_json()["data"]
    assert set(data) >= SEED_11_FIELDS
    draft = data["drafted_app_config"]
    assert data["published_app_config"] is None and data["drafted_app_config_id"] == draft["id"]
    assert draft["status"] == "drafted" and draft["memory_mode"] == "none"
    assert draft["model_config"]["provider"] == "local" and draft["model_config"]["dialog_round"] == 3
    assert set(draft["model_config"]["parameters"]) == {"temperature", "top_p", "max_tokens"}
    assert draft["retrieval_config"] == {"retrieval_strategy": "semantic", "k": 4, "score": 0.5}
    assert isinstance(data["created_at"], int)


def test_partial_config_update_merges(client, auth, new_app):
    body = {"model_config": {"dialog_round": 10}, "memory_mode": "long_term_memory"}
    response = client.post(f"/apps/{new_app}/config", json=body, headers=auth)
    assert response.status_code == 200 and response.get_json()["code"] == "success"
    client.post(f"/apps/{new_app}/config", json={"model_config": {"parameters": {"temperature": 0.1}}}, headers=auth)
    draft = client.get(f"/apps/{new_app}", headers=auth).get_json()["data"]["drafted_app_config"]
    assert draft["model_config"]["dialog_round"] == 10 and draft["memory_mode"] == "long_term_memory"
    assert draft["model_config"]["parameters"] == {"temperature": 0.1, "top_p": 0.85, "max_tokens": 512}


@pytest.mark.parametrize("body, field", [
    ({"model_config": {"dialog_round": -1}}, "model_config.dialog_round"),
    ({"memory_mode": "forever"}, "memory_mode"),
    ({"preset_prompt": "x" * 2001}, "preset_prompt"),
    ({"dataset_ids": [str(uuid.uuid4()) for _ in range(6)]}, "dataset_ids"),
    ({"retrieval_config": {"k": 11}}, "retrieval_config.k"),
    ({"model_config": {"parameters": {"temperature": 3}}}, "model_config.parameters.temperature"),
    ({"model_config": {"provider": "nope"}}, "model_config.provider"),
    ({}, "body"),
])
def test_config_validation_names_the_field(client, auth, new_app, body, field):
    response = client.post(f"/apps/{new_app}/config", json=body, headers=auth)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["data"]


def test_list_search_paginate(client, auth):
    for i in range(3):
        client.post("/apps", json={"name": f"Searchable {i}"}, headers=auth)
    client.post("/apps", json={"name": "Other"}, headers=auth)
    data = client.get("/apps?search_word=Searchable&page_size=2", headers=auth).get_json()["data"]
    assert data["paginator"] == {"current_page": 1, "page_size": 2, "total_page": 2, "total_record": 3}
    assert len(data["list"]) == 2
    assert client.get("/apps?page_size=51", headers=auth).status_code == 422


def test_update_copy_delete(client, auth, new_app):
    assert client.post(f"/apps/{new_app}", json={"name": "Renamed"}, headers=auth).get_json()["data"]["name"] == "Renamed"
    assert client.post(f"/apps/{new_app}", json={"name": "x" * 41}, headers=auth).status_code == 422
    client.post(f"/apps/{new_app}/config", json={"preset_prompt": "Be brief."}, headers=auth)
    copy_id = client.post(f"/apps/{new_app}/copy", headers=auth).get_json()["data"]["id"]
    copied = client.get(f"/apps/{copy_id}", headers=auth).get_json()["data"]
    assert copied["name"].startswith("Renamed") and copied["drafted_app_config"]["preset_prompt"] == "Be brief."
    assert client.post(f"/apps/{new_app}/delete", headers=auth).status_code == 200
    assert client.get(f"/apps/{new_app}", headers=auth).status_code == 404


def test_publish_history_fallback_cancel(client, auth, new_app):
    client.post(f"/apps/{new_app}/config", json={"preset_prompt": "v1"}, headers=auth)
    assert client.post(f"/apps/{new_app}/publish", headers=auth).get_json()["data"]["version"] == 1
    client.post(f"/apps/{new_app}/config", json={"preset_prompt": "v2"}, headers=auth)
    assert client.post(f"/apps/{new_app}/publish", headers=auth).get_json()["data"]["version"] == 2
    detail = client.get(f"/apps/{new_app}", headers=auth).get_json()["data"]
    assert detail["published_app_config"]["preset_prompt"] == "v2"
    histories = client.get(f"/apps/{new_app}/publish-histories", headers=auth).get_json()["data"]["list"]
    assert [h["version"] for h in histories] == [2, 1] and histories[0]["is_current"]
    v1 = histories[1]["id"]
    client.post(f"/apps/{new_app}/fallback-history", json={"app_config_version_id": v1}, headers=auth)
    assert client.get(f"/apps/{new_app}", headers=auth).get_json()["data"]["drafted_app_config"]["preset_prompt"] == "v1"
    bad = client.post(f"/apps/{new_app}/fallback-history", json={"app_config_version_id": str(uuid.uuid4())}, headers=auth)
    assert bad.status_code == 404
    assert client.post(f"/apps/{new_app}/cancel-publish", headers=auth).status_code == 200
    assert client.get(f"/apps/{new_app}", headers=auth).get_json()["data"]["published_app_config"] is None
    assert client.post(f"/apps/{new_app}/cancel-publish", headers=auth).status_code == 400


APP_ROUTES = [
    ("get", ""), ("post", ""), ("post", "/delete"), ("post", "/copy"), ("post", "/config"),
    ("post", "/publish"), ("post", "/cancel-publish"), ("get", "/publish-histories"),
    ("post", "/fallback-history"), ("get", "/long-term-memory"), ("post", "/long-term-memory"),
    ("post", "/debug"), ("get", "/messages"), ("post", f"/messages/{uuid.uuid4()}/delete"),
    ("post", "/debug-conversation/delete"), ("post", f"/debug/tasks/{uuid.uuid4()}/stop"),
]

VALID_BODIES = {
    "": {"name": "stolen"}, "/config": {"preset_prompt": "x"}, "/long-term-memory": {"summary": "x"},
    "/debug": {"query": "hi"},
}


@pytest.mark.parametrize("method, suffix", APP_ROUTES)
def test_other_account_gets_not_found_on_every_app_route(client, new_app, other_auth, method, suffix):
    body = VALID_BODIES.get(suffix, {})
    if suffix == "/fallback-history":
        body = {"app_config_version_id": str(uuid.uuid4())}
    response = getattr(client, method)(f"/apps/{new_app}{suffix}", json=body, headers=other_auth)
    assert response.status_code == 404, (suffix, response.get_json())
    assert response.get_json()["code"] == "not_found"


def test_unknown_route_and_bad_uuid_are_enveloped_404(client, auth):
    response = client.get("/apps/not-a-uuid", headers=auth)
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"


def test_language_models_lists_the_local_default(client, auth):
    providers = client.get("/language-models", headers=auth).get_json()["data"]
    local = next(p for p in providers if p["provider"] == "local")
    assert local["configured"] and local["models"][0]["model"] == "smollm2-135m"
    assert local["models"][0]["context_window"] == 4096
