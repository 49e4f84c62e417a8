"""Course module 10 (app templates): the doc's requests, every template usable as an app."""

from __future__ import annotations

import uuid

import pytest

from tests.sse import parse_sse


def test_categories_doc_example(client, auth):
    body = client.get("/builtin-apps/categories", headers=auth).get_json()  # GET:/builtin-apps/categories
    assert body["code"] == "success"
    assert all(set(c) == {"category", "name"} for c in body["data"])
    assert {"assistant", "writing", "hr", "ecommerce"} <= {c["category"] for c in body["data"]}


def test_builtin_apps_doc_fields(client, auth):
    body = client.get("/builtin-apps", headers=auth).get_json()  # GET:/builtin-apps
    templates = body["data"]
    assert body["code"] == "success" and len(templates) >= 5
    categories = {c["category"] for c in client.get("/builtin-apps/categories", headers=auth).get_json()["data"]}
    for template in templates:
        assert set(template) == {"id", "category", "name", "icon", "description", "model_config", "created_at"}
        uuid.UUID(template["id"])
        assert template["category"] in categories and template["name"] and template["description"]
        assert template["model_config"] == {"provider": "local", "model": "smollm2-135m"}  # the default model
        assert isinstance(template["created_at"], int)
        icon = client.get(template["icon"].replace("http://localhost", ""))
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data
    assert len({t["id"] for t in templates}) == len(templates)


def test_routes_need_a_login(client):
    assert client.get("/builtin-apps").status_code == 401
    assert client.get("/builtin-apps/categories").status_code == 401
    assert client.post("/builtin-apps/add-builtin-app-to-space", json={"builtin_app_id": str(uuid.uuid4())}) \
        .status_code == 401


def test_add_builtin_app_to_space_doc_example(client, auth, other_auth, fake):
    templates = {t["name"]: t for t in client.get("/builtin-apps", headers=auth).get_json()["data"]}
    template = templates["Shop customer service"]
    response = client.post("/builtin-apps/add-builtin-app-to-space", json={"builtin_app_id": template["id"]},
                           headers=auth)
    body = response.get_json()
    assert response.status_code == 200 and body["code"] == "success" and set(body["data"]) == {"id"}
    app_id = body["data"]["id"]
    app = client.get(f"/apps/{app_id}", headers=auth).get_json()["data"]
    assert app["name"] == template["name"] and app["icon"] == template["icon"]
    assert app["description"] == template["description"] and app["status"] == "draft"
    draft = app["drafted_app_config"]
    assert draft["preset_prompt"].startswith("# Role") and draft["opening_statement"].startswith("Hello!")
    assert draft["model_config"]["dialog_round"] == 5 and draft["model_config"]["parameters"]["temperature"] == 0.4
    assert draft["model_config"]["provider"] == "local"
    # the preset prompt reaches the model
    client.post(f"/apps/{app_id}/debug", json={"query": "Where is my order?"}, headers=auth)
    assert fake.requests[0]["messages"][0]["content"].startswith("# Role\nYou are the customer service assistant")
    assert draft["opening_questions"] == ["Where is my order?", "How do I return an item?",
                                          "How long does delivery take?"]
    assert draft["suggested_after_answer"] == {"enable": True} and draft["review_config"]["enable"] is True
    blocked = client.post(f"/apps/{app_id}/debug", json={"query": "my card number is 4111"}, headers=auth)
    assert blocked.get_json()["data"]["answer"].startswith("For your safety")
    assert client.get(f"/apps/{app_id}", headers=other_auth).status_code == 404  # in the caller's space only
    again = client.post("/builtin-apps/add-builtin-app-to-space", json={"builtin_app_id": template["id"]}, headers=auth)
    assert again.get_json()["data"]["id"] != app_id


@pytest.mark.parametrize("body, status", [({}, 422), ({"builtin_app_id": "x"}, 422),
                                          ({"builtin_app_id": str(uuid.uuid4())}, 404)])
def test_add_builtin_app_validation(client, auth, body, status):
    response = client.post("/builtin-apps/add-builtin-app-to-space", json=body, headers=auth)
    assert response.status_code == status and "builtin_app_id" in response.get_json()["data"]


def test_every_template_makes_a_working_app(client, auth, fake):
    for template in client.get("/builtin-apps", headers=auth).get_json()["data"]:
        app_id = client.post("/builtin-apps/add-builtin-app-to-space", json={"builtin_app_id": template["id"]},
                             headers=auth).get_json()["data"]["id"]
        events = parse_sse(client.post(f"/apps/{app_id}/debug", json={"query": "hello", "stream": True},
                                       headers=auth).get_data(as_text=True))
        assert events[-1][0] in ("agent_end", "suggested_questions"), (template["name"], events[-1])


def test_unknown_icon_is_404(client):
    assert client.get("/builtin-apps/icons/nope.svg").status_code == 404
    assert client.get("/builtin-apps/icons/..%2Fcategories.yaml").status_code == 404


def test_categories_at_the_document_example_path(client, auth):
    """The course document's request example is ``GET /builtin-apps/app-categories``."""
    example = client.get("/builtin-apps/app-categories", headers=auth)
    assert example.status_code == 200
    assert example.get_json()["data"] == client.get("/builtin-apps/categories", headers=auth).get_json()["data"]
