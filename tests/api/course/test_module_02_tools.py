"""Course module 02 (插件模块): builtin tools, custom API tools, and tools in the draft config."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.api.course.conftest import envelope, missing
from tests.conftest import register

PROVIDER_FIELDS = {"name", "label", "description", "category", "background", "tools", "created_at"}
TOOL_FIELDS = {"name", "label", "description", "inputs", "params"}
PARAM_FIELDS = {"name", "label", "type", "required", "default", "min", "max", "help", "options"}
API_PROVIDER_FIELDS = {"id", "name", "icon", "description", "tools", "headers", "created_at"}

# course 2.7's request example: the simplified schema (its server replaced in the tests that call it)
YOUDAO = {"description": "这是一个查询对应英文单词字典的工具", "server": "https://dict.youdao.com", "paths": {
    "/suggest": {"get": {"description": "根据传递的单词查询其字典信息", "operationId": "YoudaoSuggest", "parameters": [
        {"name": "q", "in": "query", "description": "要检索查询的单词，例如love/computer", "required": True, "type": "str"},
        {"name": "doctype", "in": "query", "description": "返回的数据类型，支持json和xml两种格式，默认情况下json数据",
         "required": False, "type": "str"}]}}}}
GAODE = {"description": "查询ip所在地、天气预报、路线规划等高德工具包", "server": "https://gaode.example.com", "paths": {
    "/weather": {"get": {"description": "根据传递的城市名获取指定城市的天气预报，例如：广州", "operationId": "GetCurrentWeather",
                         "parameters": [{"name": "location", "in": "query", "description": "需要查询天气预报的城市名",
                                         "required": True, "type": "str"}]}},
    "/ip": {"post": {"description": "根据传递的ip查询ip归属地", "operationId": "GetCurrentIp", "parameters": [
        {"name": "ip", "in": "request_body", "description": "需要查询所在地的标准ip地址，例如:201.52.14.23",
         "required": True, "type": "str"}]}}}}
OPENAPI3 = {"openapi": "3.0.3", "info": {"title": "Items", "description": "An item store", "version": "1"},
            "servers": [{"url": "https://items.example.com/api"}],
            "components": {"schemas": {"NewItem": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "description": "the item's name"}, "price": {"type": "number"}}}}},
            "paths": {"/items/{item_id}": {"get": {"operationId": "getItem", "summary": "Get an item",
                                                   "parameters": [{"name": "item_id", "in": "path", "required": True,
                                                                   "schema": {"type": "integer"}}]}},
                      "/items": {"post": {"operationId": "createItem", "description": "Create an item",
                                          "requestBody": {"content": {"application/json": {
                                              "schema": {"$ref": "#/components/schemas/NewItem"}}}}}}}}
SECRET = "Bearer QQYnRFerJTSEcrfB89fw8prOaObmrch8"


def create_provider(client, headers, schema: dict, name: str | None = None, secret: str = SECRET) -> dict:
    body = {"name": name or f"高德工具包-{uuid.uuid4().hex[:4]}", "icon": "https://cdn.imooc.com/gaode.png",
            "openapi_schema": json.dumps(schema, ensure_ascii=False), "headers": [{"key": "Authorization", "value": secret}]}
    return envelope(client.post("/api-tools", json=body, headers=headers))


# --- builtin tools ---------------------------------------------------------------------------------------

def test_builtin_categories_and_list_hide_unconfigured_providers(client, logged_in):
    categories = envelope(client.get("/builtin-tools/categories", headers=logged_in))
    assert {c["category"] for c in categories} >= {"search", "image", "weather", "tool"}
    assert all(c["icon"].startswith("<svg") and c["name"] for c in categories)
    providers = envelope(client.get("/builtin-tools", headers=logged_in))
    names = {p["name"] for p in providers}
    assert {"time", "calculator", "dataset", "url_fetch"} <= names
    assert not names & {"google", "openweather", "dalle"}  # no key set: hidden
    for provider in providers:
        assert not missing(provider, PROVIDER_FIELDS)
        for tool in provider["tools"]:
            assert not missing(tool, TOOL_FIELDS)
            assert all(not missing(p, PARAM_FIELDS) for p in tool["params"])
            assert all(not missing(i, {"name", "description", "required", "type"}) for i in tool["inputs"])


def test_builtin_tools_with_keys_are_listed(app, client, logged_in, monkeypatch):
    monkeypatch.setitem(app.config, "SERPER_API_KEY", "k1")
    monkeypatch.setitem(app.config, "IMAGE_GENERATION_API_KEY", "k2")
    names = {p["name"] for p in envelope(client.get("/builtin-tools", headers=logged_in))}
    assert {"google", "dalle"} <= names and "openweather" not in names
    detail = envelope(client.get("/builtin-tools/dalle/tools/dalle3", headers=logged_in))
    assert detail["provider"]["name"] == "dalle" and detail["name"] == "dalle3"
    size = next(p for p in detail["params"] if p["name"] == "size")
    assert size["type"] == "select" and {"value": "1792x1024", "label": "(landscape) 1792x1024"} in size["options"]


def test_builtin_tool_detail_icon_and_404(client, logged_in):
    detail = envelope(client.get("/builtin-tools/time/tools/current_time", headers=logged_in))
    assert not missing(detail, TOOL_FIELDS | {"provider", "created_at"}) and detail["provider"]["category"] == "tool"
    assert client.get("/builtin-tools/google/tools/google_serper", headers=logged_in).status_code == 404  # hidden
    assert client.get("/builtin-tools/time/tools/nope", headers=logged_in).status_code == 404
    icon = client.get("/builtin-tools/calculator/icon")  # no auth: <img src>
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data
    assert client.get("/builtin-tools/nope/icon").status_code == 404
    assert client.get("/builtin-tools").status_code == 401


# --- custom API tools --------------------------------------------------------------------------------------

@pytest.mark.parametrize("schema", [YOUDAO, GAODE, OPENAPI3])
def test_validate_openapi_schema_accepts_both_forms(client, logged_in, schema):
    response = client.post("/api-tools/validate-openapi-schema", json={"openapi_schema": json.dumps(schema)},
                           headers=logged_in)
    assert envelope(response)["tools"]


@pytest.mark.parametrize(("change", "words"), [
    (lambda s: s.pop("description"), "description"),
    (lambda s: s.update(server="ftp://x"), "server"),
    (lambda s: s.update(paths={}), "paths"),
    (lambda s: s["paths"]["/suggest"]["get"]["parameters"][0].update({"type": "list"}), "type"),
    (lambda s: s["paths"]["/suggest"]["get"]["parameters"][0].update({"in": "body"}), ".in"),
    (lambda s: s["paths"]["/suggest"].update(delete=s["paths"]["/suggest"]["get"]), "only get and post"),
    (lambda s: s["paths"]["/suggest"]["get"].pop("operationId"), "operationId"),
])
def test_validate_openapi_schema_names_what_is_wrong(client, logged_in, change, words):
    schema = json.loads(json.dumps(YOUDAO))
    change(schema)
    response = client.post("/api-tools/validate-openapi-schema", json={"openapi_schema": json.dumps(schema)},
                           headers=logged_in)
    body = response.get_json()
    assert response.status_code == 422 and body["code"] == "validate_error", body
    assert "openapi_schema" in body["data"] and words in body["message"], body["message"]
    not_json = client.post("/api-tools/validate-openapi-schema", json={"openapi_schema": "{nope"}, headers=logged_in)
    assert not_json.status_code == 422 and "openapi_schema" in not_json.get_json()["data"]


def test_api_tool_crud_replay(app, client, logged_in):
    created = create_provider(client, logged_in, GAODE)
    assert not missing(created, API_PROVIDER_FIELDS)
    assert [t["name"] for t in created["tools"]] == ["GetCurrentWeather", "GetCurrentIp"]
    assert created["headers"] == [{"key": "Authorization", "value": "Bear…rch8"}]  # masked, never the secret
    provider_id = created["id"]

    page = envelope(client.get("/api-tools?search_word=高德&current_page=1&page_size=21", headers=logged_in))
    assert page["paginator"] == {"current_page": 1, "page_size": 21, "total_page": 1, "total_record": 1}
    assert page["list"][0]["id"] == provider_id and SECRET not in json.dumps(page)
    assert envelope(client.get("/api-tools?search_word=nothing-like-it", headers=logged_in))["list"] == []

    detail = envelope(client.get(f"/api-tools/{provider_id}", headers=logged_in))
    assert json.loads(detail["openapi_schema"]) == GAODE and SECRET not in json.dumps(detail)
    tool = envelope(client.get(f"/api-tools/{provider_id}/tools/GetCurrentWeather", headers=logged_in))
    assert not missing(tool, {"id", "name", "description", "inputs", "provider"})
    assert tool["inputs"] == [{"name": "location", "description": "需要查询天气预报的城市名", "required": True,
                               "type": "str"}]
    assert client.get(f"/api-tools/{provider_id}/tools/Nope", headers=logged_in).status_code == 404

    # the secret is stored encrypted
    with app.app_context():
        from llmops.extensions import db
        from llmops.models import ApiToolProvider

        stored = db.session.get(ApiToolProvider, uuid.UUID(provider_id)).headers_ciphertext
    assert SECRET not in stored and "QQYnRFer" not in stored

    # update: the masked value sent back keeps the secret; the tools follow the new schema
    body = {"name": "有道词典", "icon": "https://cdn.imooc.com/google.png", "openapi_schema": json.dumps(YOUDAO),
            "headers": detail["headers"] + [{"key": "X-Extra", "value": "plain-value-123456"}]}
    envelope(client.post(f"/api-tools/{provider_id}", json=body, headers=logged_in))
    updated = envelope(client.get(f"/api-tools/{provider_id}", headers=logged_in))
    assert updated["name"] == "有道词典" and [t["name"] for t in updated["tools"]] == ["YoudaoSuggest"]
    with app.app_context():
        from llmops.services.studio import api_tool_service

        headers = api_tool_service._headers(db.session.get(ApiToolProvider, uuid.UUID(provider_id)))
    assert headers == [{"key": "Authorization", "value": SECRET}, {"key": "X-Extra", "value": "plain-value-123456"}]

    envelope(client.post(f"/api-tools/{provider_id}/delete", headers=logged_in))
    assert client.get(f"/api-tools/{provider_id}", headers=logged_in).status_code == 404


def test_api_tool_names_ownership_and_input(client, logged_in):
    created = create_provider(client, logged_in, GAODE, name="dup-name")
    again = client.post("/api-tools", json={"name": "dup-name", "icon": "x", "openapi_schema": json.dumps(YOUDAO)},
                        headers=logged_in)
    assert again.status_code == 409 and "name" in again.get_json()["data"]
    other = register(client, "Other")
    for response in (client.get(f"/api-tools/{created['id']}", headers=other),
                     client.post(f"/api-tools/{created['id']}/delete", headers=other),
                     client.get(f"/api-tools/{created['id']}/tools/GetCurrentIp", headers=other)):
        assert response.status_code == 404
    assert envelope(client.get("/api-tools", headers=other))["list"] == []
    missing_fields = client.post("/api-tools", json={"name": "x" * 31}, headers=logged_in)
    assert missing_fields.status_code == 422
    assert {"name", "icon", "openapi_schema"} <= set(missing_fields.get_json()["data"])
    bad_header = client.post("/api-tools", json={"name": "h", "icon": "x", "openapi_schema": json.dumps(YOUDAO),
                                                 "headers": [{"key": "Bad Header", "value": "v"}]}, headers=logged_in)
    assert bad_header.status_code == 422 and "headers.0.key" in bad_header.get_json()["data"]


# --- tools in the draft config -----------------------------------------------------------------------------

def test_draft_tools_are_checked_and_shown(app, client, logged_in, make_app, monkeypatch):
    app_id = make_app()
    provider = create_provider(client, logged_in, GAODE)
    tool_id = provider["tools"][0]["id"]
    tools = [{"type": "builtin_tool", "provider_id": "time", "tool_id": "current_time",
              "params": {"default_timezone": "Asia/Shanghai"}},
             {"type": "api_tool", "provider_id": provider["id"], "tool_id": tool_id, "params": {}}]
    envelope(client.post(f"/apps/{app_id}/draft-app-config", json={"tools": tools}, headers=logged_in))
    draft = envelope(client.get(f"/apps/{app_id}/draft-app-config", headers=logged_in))
    assert [(t["type"], t["provider"]["id"], t["tool"]["id"]) for t in draft["tools"]] == [
        ("builtin_tool", "time", "current_time"), ("api_tool", provider["id"], tool_id)]
    assert draft["tools"][0]["provider"]["label"] == "Time"
    assert draft["tools"][0]["provider"]["icon"].endswith("/builtin-tools/time/icon")
    assert draft["tools"][0]["tool"]["params"] == {"default_timezone": "Asia/Shanghai"}
    assert draft["tools"][1]["provider"]["name"] == provider["name"]
    assert draft["tools"][1]["tool"]["name"] == "GetCurrentWeather"

    # a deleted API tool disappears from the draft
    envelope(client.post(f"/api-tools/{provider['id']}/delete", headers=logged_in))
    draft = envelope(client.get(f"/apps/{app_id}/draft-app-config", headers=logged_in))
    assert [t["tool"]["id"] for t in draft["tools"]] == ["current_time"]


@pytest.mark.parametrize(("tools", "field"), [
    ([{"type": "builtin_tool", "provider_id": "google", "tool_id": "google_serper"}], "tools[0].tool_id"),
    ([{"type": "builtin_tool", "provider_id": "time", "tool_id": "nope"}], "tools[0].tool_id"),
    ([{"type": "builtin_tool", "provider_id": "time", "tool_id": "current_time"},
      {"type": "builtin_tool", "provider_id": "url_fetch", "tool_id": "url_fetch"}], "tools[1].params.allowed_hosts"),
    ([{"type": "builtin_tool", "provider_id": "dataset", "tool_id": "dataset_retrieval", "params": {"k": 99}}],
     "tools[0].params.k"),
    ([{"type": "builtin_tool", "provider_id": "calculator", "tool_id": "calculator", "params": {"x": 1}}],
     "tools[0].params.x"),
    ([{"type": "api_tool", "provider_id": str(uuid.uuid4()), "tool_id": str(uuid.uuid4())}], "tools[0].tool_id"),
    ([{"type": "builtin_tool", "provider_id": "time", "tool_id": "current_time"}] * 2, "tools[1].tool_id"),
    ([{"type": "plugin", "provider_id": "a", "tool_id": "b"}], "tools.0.type"),
])
def test_bad_draft_tools_are_422_naming_the_field(client, logged_in, make_app, tools, field):
    app_id = make_app()
    response = client.post(f"/apps/{app_id}/draft-app-config", json={"tools": tools}, headers=logged_in)
    body = response.get_json()
    assert response.status_code == 422 and body["code"] == "validate_error" and field in body["data"], body


def test_draft_tools_limit_and_other_accounts_api_tools(app, client, logged_in, make_app, monkeypatch):
    app_id = make_app()
    monkeypatch.setitem(app.config, "AGENT_MAX_TOOLS", 1)
    two = [{"type": "builtin_tool", "provider_id": "time", "tool_id": "current_time"},
           {"type": "builtin_tool", "provider_id": "calculator", "tool_id": "calculator"}]
    response = client.post(f"/apps/{app_id}/draft-app-config", json={"tools": two}, headers=logged_in)
    assert response.status_code == 422 and "tools" in response.get_json()["data"]
    other = register(client, "Other")
    theirs = create_provider(client, other, GAODE)
    ref = [{"type": "api_tool", "provider_id": theirs["id"], "tool_id": theirs["tools"][0]["id"]}]
    response = client.post(f"/apps/{app_id}/draft-app-config", json={"tools": ref}, headers=logged_in)
    assert response.status_code == 422 and "tools[0].tool_id" in response.get_json()["data"]


def test_the_knowledge_base_tool_searches_the_apps_datasets(app, client, logged_in, make_app, make_dataset,
                                                            index_documents, fake, tool_model):
    from tests.api.test_debug import parse_sse

    dataset_id = make_dataset()
    index_documents(dataset_id, {"faq.txt": b"The LLMOps course office is open Monday to Friday, 9:00 to 18:00.\n\n"
                                            b"Refunds are possible within 14 days of purchase."})
    app_id = make_app()
    tools = [{"type": "builtin_tool", "provider_id": "dataset", "tool_id": "dataset_retrieval", "params": {"k": 2}}]
    envelope(client.post(f"/apps/{app_id}/draft-app-config", headers=logged_in, json={
        "model_config": {"provider": tool_model[0], "model": tool_model[1]}, "tools": tools,
        "datasets": [dataset_id], "retrieval_config": {"retrieval_strategy": "full_text", "k": 1, "score": 0}}))
    fake.behaviour.next_tool_calls = [[{"name": "dataset_retrieval", "arguments": {"query": "refunds"}}]]
    fake.behaviour.next_answers = [["Within 14 days."]]
    response = client.post(f"/apps/{app_id}/conversations", json={"query": "when can I get a refund?"},
                           headers=logged_in)
    events = parse_sse(response.get_data(as_text=True))
    names = [e for e, _ in events]
    action_at = names.index("agent_action")
    assert "Refunds are possible within 14 days" in events[action_at][1]["observation"]
    found = events[action_at + 1]  # the passages the tool found, as a dataset_retrieval step
    assert found[0] == "dataset_retrieval" and found[1]["records"][0]["dataset_id"] == dataset_id
    assert names[-1] == "agent_end"
    message = envelope(client.get(f"/apps/{app_id}/conversations/messages", headers=logged_in))["list"][0]
    assert "dataset_retrieval" in [s["event"] for s in message["agent_thoughts"]]
