"""Malformed input never reaches a 500: a JSON body that is not an object, on every POST route,
and out-of-range dates on the billing endpoints."""

from __future__ import annotations

import inspect
import uuid

import pytest

from tests.api.test_api_keys import new_key

KEY_AUTH_BLUEPRINTS = ("openai", "voice_engine", "caiqi", "selfservice")  # API-key surfaces; the rest take a JWT
KEY_AUTH_ENDPOINTS = ("course.openapi_chat",)

NOT_OBJECTS = ("[]", '"x"', "3", "[{}]", "true")
LAST = ("delete", "del/", "logout")  # routes that destroy what the walk uses run last


def _resources(client, headers: dict, app_id: str) -> dict:
    dataset = client.post("/datasets", json={"name": f"ds-{uuid.uuid4().hex[:8]}"}, headers=headers)
    conversation = client.post("/api/conversations/create", json={"title": "t"}, headers=headers)
    spare_key = new_key(client, headers)
    return {"app_id": app_id, "dataset_id": dataset.get_json()["data"]["id"], "key_id": spare_key["id"],
            "conversation_id": str(conversation.get_json()["conversation_id"])}


def _value(rule, arg: str, known: dict) -> str:
    """A known resource id for ``arg`` when its type fits the route, else a random UUID."""
    value = known.get(arg)
    if value is None or (type(rule._converters[arg]).__name__ == "UUIDConverter" and value.count("-") != 4):
        return str(uuid.uuid4())
    return value


def _takes_json(view) -> bool:
    source = inspect.getsource(inspect.unwrap(view))
    return "json_body()" in source or "_body()" in source


def test_a_non_object_json_body_is_a_400_on_every_post_route(app, client, admin_auth, fake):
    jwt = {"Authorization": admin_auth["Authorization"]}
    app_id = client.post("/apps", json={"name": "walk"}, headers=jwt).get_json()["data"]["id"]
    assert client.post(f"/apps/{app_id}/publish", headers=jwt).status_code == 200
    key = {"Authorization": f"Bearer {new_key(client, jwt)['key']}"}
    known = _resources(client, jwt, app_id)
    rules = [r for r in app.url_map.iter_rules() if "POST" in r.methods]
    rules.sort(key=lambda r: ("logout" in r.rule, any(word in r.rule for word in LAST)))
    adapter = app.url_map.bind("localhost")
    checked, failures = [], []
    for rule in rules:
        values = {arg: _value(rule, arg, known) for arg in rule.arguments}
        url = adapter.build(rule.endpoint, values, method="POST")
        keyed = rule.endpoint.split(".")[0] in KEY_AUTH_BLUEPRINTS or rule.endpoint in KEY_AUTH_ENDPOINTS
        headers = key if keyed else jwt
        expects_400 = _takes_json(app.view_functions[rule.endpoint])
        for body in NOT_OBJECTS if expects_400 else NOT_OBJECTS[:1]:
            response = client.post(url, data=body, content_type="application/json", headers=headers)
            response.get_data()  # a streamed answer is consumed (and closed) here
            if response.status_code >= 500 or (expects_400 and response.status_code != 400):
                failures.append((rule.rule, body, response.status_code, response.get_data(as_text=True)[:200]))
        checked.append(rule.rule)
    assert not failures, failures
    assert {"/audio/chat/completions", "/v1/chat/completions", "/api/v1/chat/completions", "/apps"} <= set(checked)
    assert fake.requests == []  # nothing reached the model


@pytest.mark.parametrize("query", ["end_date=0001-01-01", "start_date=0001-01-01", "end_date=9999-12-31",
                                   "start_date=0001-01-02&end_date=0001-01-03", "end_date=2024-02-30"])
def test_extreme_dates_on_billing_usage_are_a_400(client, key_headers, query):
    response = client.get(f"/v1/dashboard/billing/usage?{query}", headers=key_headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["param"] in ("start_date", "end_date")


def test_extreme_dates_on_the_studio_usage_report_are_a_422(client, auth):
    response = client.get("/usage?end_date=0001-01-01", headers=auth)
    assert response.status_code == 422 and "end_date" in response.get_json()["data"]


def test_far_expiry_dates_are_refused_not_a_500(client, auth, admin_auth):
    response = client.post("/api-keys", json={"expires_at": 2**40}, headers=auth)
    assert response.status_code == 422 and "expires_at" in response.get_json()["data"]
    for path in ("/admin/redeem-codes", "/admin/invite-codes"):
        response = client.post(path, json={"count": 1, "quota": 1, "expires_at": 2**40}, headers=admin_auth)
        assert response.status_code == 422 and "expires_at" in response.get_json()["data"], (path, response.get_json())
