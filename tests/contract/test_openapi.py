"""The contract (``/openapi.json``): valid OpenAPI 3.1, every served route in it with a summary,
its inputs read from the schemas the views load, ``/docs`` working offline, ``/api/about`` from the
same source."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from llmops.api.openapi import RULE_PARAMETER

METHODS = {"get", "post", "put", "patch", "delete"}


def spec_of(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_the_document_is_valid_openapi_3_1(client):
    spec = spec_of(client)
    assert spec["openapi"].startswith("3.1")
    validate(spec)  # raises on any violation of the OpenAPI 3.1 schema


def test_every_route_of_the_url_map_is_documented_with_a_summary(app, client):
    spec = spec_of(client)
    served = {(RULE_PARAMETER.sub(r"{\g<name>}", rule.rule), method.lower())
              for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in spec["paths"].items() for method in item if method in METHODS}
    assert served == documented, (served - documented, documented - served)
    missing = [f"{m.upper()} {p}" for p, item in spec["paths"].items() for m, op in item.items()
               if m in METHODS and not op.get("summary")]
    assert missing == [], missing


def test_inputs_and_security_come_from_the_views(client):
    spec = spec_of(client)
    schemas = spec["components"]["schemas"]
    create_key = spec["paths"]["/api-keys"]["post"]
    ref = create_key["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/ApiKeyCreate") and "remark" in schemas["ApiKeyCreate"]["properties"]
    assert create_key["security"] == [{"jwt": []}]
    listed = {p["name"] for p in spec["paths"]["/apps"]["get"]["parameters"] if p["in"] == "query"}
    assert {"current_page", "page_size"} <= listed, listed
    chat = spec["paths"]["/v1/chat/completions"]["post"]
    assert chat["security"] == [{"apiKey": []}]
    assert "text/event-stream" in chat["responses"]["200"]["content"]
    assert "messages" in schemas[chat["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]][
        "required"]
    upload = spec["paths"]["/upload-files"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    path_parameter = spec["paths"]["/apps/{app_id}"]["parameters"][0]
    assert path_parameter == {"in": "path", "name": "app_id", "required": True,
                              "schema": {"type": "string", "format": "uuid"}}
    debug_events = spec["paths"]["/apps/{app_id}/debug"]["post"]["responses"]["200"]["content"]["text/event-stream"]
    assert "agent_message" in debug_events["schema"]["properties"]["event"]["enum"]


def test_docs_render_from_local_files_only(client):
    page = client.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/docs/assets/") for a in assets), assets  # nothing from a CDN
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200 and len(response.data) > 10, asset
        assert b"https://cdn" not in response.data[:2000]
    assert "/openapi.json" in client.get("/docs/assets/docs-init.js").get_data(as_text=True)
    assert client.get("/docs/assets/../../config.py").status_code == 404


def test_about_lists_the_same_operations(client):
    spec = spec_of(client)
    about = client.get("/api/about").get_json()["data"]["routes"]
    from_about = {(RULE_PARAMETER.sub(r"{\g<name>}", r["path"]), m.lower()) for r in about for m in r["methods"]}
    from_spec = {(p, m) for p, item in spec["paths"].items() for m in item if m in METHODS and not p.startswith("/static")}
    assert from_about == from_spec
    assert all(r["summary"] for r in about)


STREAMING = ("/v1/chat/completions", "/v1/apps/{app_id}/chat", "/chat/completions", "/rag/chat/completions",
             "/audio/chat/completions", "/api/v1/chat/completions", "/openapi/chat", "/apps/{app_id}/debug",
             "/api/chat/{conversation_id}")
KEY_AUTHENTICATED = ("/v1/models", "/v1/embeddings", "/audio/chat/completions", "/api/v1/models",
                     "/api/redeem", "/api/logs", "/openapi/chat")


def test_streams_and_key_auth_are_read_from_the_shared_helpers(client):
    """Every streaming route lists ``text/event-stream`` and every key route ``apiKey``, whichever
    helper (``json_or_sse``, ``framed_response``, ``sse_response``) or decorator
    (``@api_key_required``, ``@seed003_key_required``) the view uses."""
    paths = spec_of(client)["paths"]
    quiet = [p for p in STREAMING if "text/event-stream" not in paths[p]["post"]["responses"]["200"].get("content", {})]
    assert quiet == [], quiet
    operations = [op for p in KEY_AUTHENTICATED for m, op in paths[p].items() if m in METHODS]
    assert operations and all({"apiKey": []} in op["security"] for op in operations)
    upload = [p for p in ("/upload-files", "/upload-files/file", "/upload-files/image", "/api/rag/doc/upload")
              if "multipart/form-data" not in paths[p]["post"]["requestBody"]["content"]]
    assert upload == [], upload
