"""Inputs the fuzzer (tests/contract) found to break the PostgreSQL profile with a 500: a NUL
character in any string (PostgreSQL text cannot hold one) and integers past a column's range.
Each now answers a 4xx naming the field, in both profiles."""

from __future__ import annotations


def test_a_nul_character_in_a_json_body_is_a_400_naming_the_field(client, auth):
    response = client.post("/api-keys", json={"remark": "ok", "models": ["smollm2\x00-135m"]}, headers=auth)
    assert response.status_code == 400 and response.get_json()["data"] == {"models.0": ["NUL characters are not allowed"]}
    nested_key = client.post("/apps", json={"name": "a", "x\x00": 1}, headers=auth)
    assert nested_key.status_code == 400 and "x" in nested_key.get_json()["data"]
    assert client.get("/api-keys", headers=auth).get_json()["data"]["list"] == []  # nothing was stored


def test_a_nul_character_in_a_query_is_a_400(client, auth):
    response = client.get("/apps?search=bot%00", headers=auth)
    assert response.status_code == 400 and response.get_json()["data"] == {"search": ["NUL characters are not allowed"]}


def test_a_nul_character_on_the_openai_surface_is_an_openai_400(client, key_headers):
    response = client.post("/v1/chat/completions", headers=key_headers,
                           json={"model": "smollm2-135m", "messages": [{"role": "user", "content": "hi\x00"}]})
    assert response.status_code == 400 and response.get_json()["error"]["type"] == "invalid_request_error"


def test_limits_past_the_integer_columns_are_a_422(client, auth):
    for field in ("tpm", "rpm", "max_streams"):
        response = client.post("/api-keys", json={field: 3_826_515_972}, headers=auth)
        assert response.status_code == 422 and field in response.get_json()["data"], field
    assert client.post("/api-keys", json={"tpm": 2**31 - 1}, headers=auth).status_code == 201
