"""The API contract: an OpenAPI 3.1 document generated from the code that serves the routes.

Served at ``/openapi.json``; ``/docs`` renders it with Swagger UI from files shipped in the
``swagger-ui-bundle`` package (no CDN: the machine may be offline). ``/api/about`` lists the same
operations (seed 004's "API 文档" page).

How each part is found — nothing is declared twice, so the contract cannot drift from the code:

* paths and methods: ``app.url_map`` (every rule; converters become typed path parameters);
* summary and description: the view's docstring (first line, rest);
* request body and query parameters: the marshmallow schemas the view *loads* — found by reading
  the view's source (``XSchema().load(json_body())`` → JSON body, ``.load(request.args)`` → query,
  ``.load(request.form)`` / ``request.files`` / ``uploaded_file()`` → multipart form); apispec's marshmallow plugin turns
  them into JSON Schema;
* security: ``@jwt_required()`` → the studio JWT; ``@api_key_required`` (or a surface's variant,
  ``@seed003_key_required``) → ``apiKey``;
* responses: the blueprint's family — the studio envelope ``{code, data, message}`` (docs/api.md A),
  OpenAI's shapes and error body on ``/v1`` (docs/api.md B), each compatibility surface's own
  error body (docs/api.md C); routes that can stream also list ``text/event-stream`` with their
  event names.

Why apispec and not flask-smorest: smorest wants every view rewritten around ``@blp.arguments``
and ``MethodView`` and validates for the view; ours already validate through the same schemas
(``schema.load`` raising ``ValidationError`` into the one error handler), so reading them keeps
153 views unchanged and the contract equal to what runs.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from dataclasses import dataclass, field
from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Blueprint, Flask, current_app, jsonify, send_from_directory
from marshmallow import Schema

from llmops.runtime import runtime

bp = Blueprint("contract", __name__)

SKIPPED_METHODS = {"HEAD", "OPTIONS"}
CONVERTERS = {"uuid": {"type": "string", "format": "uuid"}, "int": {"type": "integer"},
              "float": {"type": "number"}, "path": {"type": "string"}, "string": {"type": "string"},
              "default": {"type": "string"}}
RULE_PARAMETER = re.compile(r"<(?:(?P<converter>[a-zA-Z_]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")

# Streamed events, by family (seed 002 / course API 1.11 for the studio; OpenAI for /v1).
STUDIO_EVENTS = ("ping", "long_term_memory_recall", "dataset_retrieval", "agent_thought", "agent_action",
                 "agent_message", "agent_end", "suggested_questions", "stop", "timeout", "error")
ENDPOINT_EVENTS = {"ai.optimize_prompt": ("ping", "optimize_prompt", "error")}
OPENAI_STREAM = "data-only frames: `chat.completion.chunk` objects, then `data: [DONE]`"

# Response families: blueprint name → (family, error statuses the family answers with)
OPENAI_BLUEPRINTS = {"openai", "voice_engine"}
COMPAT_BLUEPRINTS = {"caiqi": "detail", "llm_backend": "seed000", "selfservice": "envelope"}
PLAIN_BLUEPRINTS = {"ops", "contract", "static", "console"}
ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 502, 503, 504)

ENVELOPE = {"type": "object", "required": ["code", "data", "message"], "properties": {
    "code": {"type": "string", "description": "`success` or an error code (`validate_error`, `not_found`, ...)"},
    "data": {"description": "the route's result; on `validate_error` a map of each bad field to its messages"},
    "message": {"type": "string"}}}
OPENAI_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["message", "type"], "properties": {
        "message": {"type": "string"}, "type": {"type": "string"},
        "param": {"type": ["string", "null"]}, "code": {"type": ["string", "null"]}}}}}
DETAIL_ERROR = {"type": "object", "required": ["detail"], "properties": {"detail": {}}}
SEED000_ERROR = {"type": "object", "properties": {"error": {"type": "string"}, "success": {"type": "boolean"},
                                                  "message": {"type": "string"}, "fields": {"type": "object"}}}
CHAT_COMPLETION = {"type": "object", "required": ["id", "object", "created", "model", "choices"], "properties": {
    "id": {"type": "string"}, "object": {"const": "chat.completion"}, "created": {"type": "integer"},
    "model": {"type": "string"},
    "choices": {"type": "array", "items": {"type": "object", "required": ["index", "message", "finish_reason"],
                                           "properties": {"index": {"type": "integer"},
                                                          "message": {"type": "object", "required": ["role"]},
                                                          "finish_reason": {"type": ["string", "null"]}}}},
    "usage": {"type": "object", "properties": {"prompt_tokens": {"type": "integer"},
                                               "completion_tokens": {"type": "integer"},
                                               "total_tokens": {"type": "integer"}}}}}
MODEL_LIST = {"type": "object", "required": ["object", "data"], "properties": {
    "object": {"const": "list"}, "data": {"type": "array", "items": {
        "type": "object", "required": ["id", "object"], "properties": {"id": {"type": "string"},
                                                                      "object": {"const": "model"}}}}}}
EMBEDDING_LIST = {"type": "object", "required": ["object", "data", "model"], "properties": {
    "object": {"const": "list"}, "model": {"type": "string"},
    "data": {"type": "array", "items": {"type": "object", "required": ["object", "embedding", "index"]}}}}
OPENAI_RESULTS = {"/v1/chat/completions": CHAT_COMPLETION, "/v1/models": MODEL_LIST, "/v1/embeddings": EMBEDDING_LIST}


@dataclass
class ViewFacts:
    """What a view's source says about its inputs and auth."""

    body: list[type[Schema]] = field(default_factory=list)
    query: list[type[Schema]] = field(default_factory=list)
    form: list[type[Schema]] = field(default_factory=list)
    files: bool = False
    jwt: bool = False
    jwt_optional: bool = False
    api_key: bool = False
    streams: bool = False


def _schema_class(node: ast.AST, namespace: dict) -> type[Schema] | None:
    """``XSchema`` / ``XSchema()`` / ``X_SCHEMA`` (a module-level instance) → the schema class."""
    if isinstance(node, ast.Call):
        node = node.func
    target = None
    if isinstance(node, ast.Name):
        target = namespace.get(node.id)
    elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
            and inspect.ismodule(namespace.get(node.value.id)):  # schemas.XSchema (never a request proxy)
        target = getattr(namespace[node.value.id], node.attr, None)
    if isinstance(target, Schema):
        return type(target)
    if isinstance(target, type) and issubclass(target, Schema):
        return target
    return None


def _source_of(node: ast.AST) -> str | None:
    """Where a loaded value comes from: ``json`` (``json_body()`` / ``request.get_json()``),
    ``query`` (``request.args``), ``form`` (``request.form``)."""
    text = ast.unparse(node)
    if "json_body(" in text or "get_json(" in text or text == "body":
        return "json"
    if "request.args" in text:
        return "query"
    if "request.form" in text:
        return "form"
    return None


@cache
def view_facts(view, depth: int = 0) -> ViewFacts:
    """Read ``view``'s source (decorators included) once per process — and, one level down, the
    source of the module's own helpers it calls (``_body()``, ``_validated()``)."""
    facts = ViewFacts()
    original = inspect.unwrap(view)
    try:
        source = textwrap.dedent(inspect.getsource(original))
    except (OSError, TypeError):
        return facts
    tree = ast.parse(source)
    namespace = original.__globals__
    facts.jwt = "jwt_required(" in source
    facts.jwt_optional = "optional=True" in source and facts.jwt
    facts.api_key = "key_required" in source  # @api_key_required, @seed003_key_required
    facts.streams = bool(re.search(r"sse_response|json_or_sse|framed_response|event-stream|stream_with_context", source))
    facts.files = "request.files" in source or "uploaded_file(" in source
    reads_json = "json_body(" in source or "get_json(" in source
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        helper = namespace.get(node.func.id) if isinstance(node.func, ast.Name) else None
        if depth == 0 and inspect.isfunction(helper) and helper.__module__ == original.__module__:
            _merge(facts, view_facts(helper, depth + 1))  # and below: the schema may be its argument
        schema, origin = None, None
        if isinstance(node.func, ast.Attribute) and node.func.attr == "load":
            schema = _schema_class(node.func.value, namespace)
            origin = _source_of(node.args[0]) if node.args else None
            if origin is None and reads_json and node.args and isinstance(node.args[0], (ast.Dict, ast.Name)):
                origin = "json"  # a body read above and reshaped before validation
        else:  # a helper given the schema and the data: _validated(CHAT_SCHEMA, json_body())
            schemas = [s for s in (_schema_class(a, namespace) for a in node.args) if s]
            origins = [o for o in (_source_of(a) for a in node.args) if o]
            if schemas and origins:
                schema, origin = schemas[0], origins[0]
        if schema is None or origin is None:
            continue
        bucket = {"json": facts.body, "query": facts.query, "form": facts.form}[origin]
        if schema not in bucket:
            bucket.append(schema)
    return facts


def _merge(facts: ViewFacts, helper: ViewFacts) -> None:
    for name in ("body", "query", "form"):
        bucket = getattr(facts, name)
        bucket.extend(schema for schema in getattr(helper, name) if schema not in bucket)
    facts.files |= helper.files
    facts.api_key |= helper.api_key
    facts.streams |= helper.streams


def _path_and_parameters(rule) -> tuple[str, list[dict]]:
    parameters = []

    def replace(match: re.Match) -> str:
        name = match.group("name")
        parameters.append({"in": "path", "name": name, "required": True,
                           "schema": CONVERTERS.get(match.group("converter") or "default", {"type": "string"})})
        return "{" + name + "}"

    return RULE_PARAMETER.sub(replace, rule.rule), parameters


def _family(blueprint: str | None, path: str) -> str:
    if blueprint in OPENAI_BLUEPRINTS or path.startswith("/v1/"):
        return "openai"
    if blueprint in COMPAT_BLUEPRINTS:
        return COMPAT_BLUEPRINTS[blueprint]
    if blueprint in PLAIN_BLUEPRINTS or blueprint is None:
        return "plain"
    return "envelope"


def _error_schema(family: str) -> dict:
    return {"openai": {"$ref": "#/components/schemas/OpenAIError"},
            "detail": {"$ref": "#/components/schemas/DetailError"},
            "seed000": {"$ref": "#/components/schemas/Seed000Error"},
            "envelope": {"$ref": "#/components/schemas/Envelope"}}.get(family, {})


def _event_schema(family: str, endpoint: str) -> dict:
    """One Server-Sent Event ``{event, data}``: the studio's named events (seed 002 / course API
    1.11), or the data-only frames of the OpenAI-shaped streams."""
    if family == "envelope":
        events = ENDPOINT_EVENTS.get(endpoint, STUDIO_EVENTS)
        return {"type": "object", "required": ["event", "data"],
                "description": "events: " + ", ".join(f"`{e}`" for e in events) + "; `data` is a JSON object",
                "properties": {"event": {"enum": list(events)}, "data": {"type": "string"}}}
    return {"type": "object", "required": ["data"], "description": OPENAI_STREAM if family == "openai" else
            "data-only frames, each a JSON object", "properties": {"data": {"type": "string"}}}


def _responses(family: str, path: str, endpoint: str, method: str, facts: ViewFacts) -> dict:
    success: dict = {"description": "success"}
    content: dict = {}
    if family == "openai":
        content["application/json"] = {"schema": OPENAI_RESULTS.get(path, {"type": "object"})}
    elif family == "envelope":
        content["application/json"] = {"schema": {"$ref": "#/components/schemas/Envelope"}}
    elif family in ("detail", "seed000"):
        content["application/json"] = {"schema": {}}
    if facts.streams:
        content["text/event-stream"] = {"schema": _event_schema(family, endpoint)}
    if content:
        success["content"] = content
    responses = {"200": success}
    if method == "post":
        responses["201"] = {"description": "created"}
        if "application/json" in content:
            responses["201"]["content"] = {"application/json": content["application/json"]}
    if family != "plain":
        error = {"description": "an error in this surface's error shape",
                 "content": {"application/json": {"schema": _error_schema(family)}}}
        for status in ERROR_STATUSES:
            responses[str(status)] = error
    else:
        for status in (401, 404, 405, 503):
            responses[str(status)] = {"description": "see the summary"}
    return responses


def _operation(view, rule, method: str, path_parameters: list[dict]) -> dict:
    facts = view_facts(view)
    doc = inspect.getdoc(inspect.unwrap(view)) or ""
    summary, _, description = doc.partition("\n")
    if rule.endpoint == "static":
        summary = "A static file of the app."
    family = _family(rule.endpoint.rsplit(".", 1)[0] if "." in rule.endpoint else None, rule.rule)
    operation: dict = {"operationId": f"{rule.endpoint}.{method}", "summary": summary.strip(),
                       "tags": [rule.endpoint.split(".", 1)[0] if "." in rule.endpoint else "app"],
                       "responses": _responses(family, RULE_PARAMETER.sub(r"{\g<name>}", rule.rule), rule.endpoint,
                                                    method, facts)}
    if description.strip():
        operation["description"] = description.strip()
    parameters = [{"in": "query", "schema": schema} for schema in facts.query]
    if parameters:
        operation["parameters"] = parameters
    if method in ("post", "put", "patch"):
        content = {}
        if facts.body:
            content["application/json"] = {"schema": facts.body[0]}
        if facts.form or facts.files:
            form: dict = {"type": "object", "properties": {}}
            if facts.files:
                form["properties"]["file"] = {"type": "string", "contentMode": "binary",
                                              "contentMediaType": "application/octet-stream"}
            content["multipart/form-data"] = {"schema": facts.form[0] if facts.form and not facts.files else form}
        if content:
            operation["requestBody"] = {"content": content, "required": bool(facts.body or facts.files)}
    security = []
    if facts.jwt:
        security.append({"jwt": []})
    if facts.api_key:
        security.append({"apiKey": []})
    if security:
        if facts.jwt_optional:
            security.append({})
        operation["security"] = security
    return operation


def schema_name(schema) -> str:
    """Component name of a marshmallow schema: ``ApiKeyCreateSchema`` → ``ApiKeyCreate``; a schema
    of a compatibility surface (``llmops.schemas.compat.<surface>``) is prefixed with its surface
    (``llm_backend.RegisterSchema`` → ``LlmBackendRegister``), so the seeds' schemas never shadow
    the studio's."""
    cls = resolve_schema_cls(schema)
    name = cls.__name__.removesuffix("Schema") or cls.__name__
    module = cls.__module__
    if not module.startswith("llmops.schemas.") or module.startswith("llmops.schemas.compat."):
        name = "".join(part.capitalize() for part in module.rsplit(".", 1)[-1].split("_")) + name
    return name


def build_spec(app: Flask) -> dict:
    """The OpenAPI 3.1 document of every route ``app`` serves, as a dict."""
    plugin = MarshmallowPlugin(schema_name_resolver=schema_name)
    spec = APISpec(title="llmops", version="1", openapi_version="3.1.0", plugins=[plugin],
                   info={"description": "Studio API (envelope), OpenAI-compatible gateway (/v1), the "
                                        "compatibility surfaces of seeds 000-004, and operations."})
    spec.components.security_scheme("jwt", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                            "description": "a studio access token (POST /auth/password-login)"})
    spec.components.security_scheme("apiKey", {"type": "http", "scheme": "bearer",
                                                "description": "an API key `sk-...` (POST /api-keys)"})
    for name, schema in (("Envelope", ENVELOPE), ("OpenAIError", OPENAI_ERROR), ("DetailError", DETAIL_ERROR),
                         ("Seed000Error", SEED000_ERROR)):
        spec.components.schema(name, schema)
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        view = app.view_functions[rule.endpoint]
        path, path_parameters = _path_and_parameters(rule)
        item = paths.setdefault(path, {"operations": {}, "parameters": path_parameters})
        for method in sorted(rule.methods - SKIPPED_METHODS):
            item["operations"][method.lower()] = _operation(view, rule, method.lower(), path_parameters)
    seen: dict[str, int] = {}
    for item in paths.values():  # one endpoint served at several paths: operationIds stay unique
        for operation in item["operations"].values():
            base = operation["operationId"]
            seen[base] = seen.get(base, 0) + 1
            if seen[base] > 1:
                operation["operationId"] = f"{base}{seen[base]}"
    for path, item in paths.items():
        spec.path(path=path, operations=item["operations"], parameters=item["parameters"] or None)
    return spec.to_dict()


def operations(app: Flask) -> list[dict]:
    """``[{methods, path, group, summary}]`` — the rows of ``/api/about``, from the same source."""
    rows = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path, _ = _path_and_parameters(rule)
        doc = (inspect.getdoc(inspect.unwrap(app.view_functions[rule.endpoint])) or "").split("\n", 1)[0]
        row = rows.setdefault((rule.rule, rule.endpoint), {"methods": [], "path": rule.rule,
                                                           "group": rule.endpoint.split(".", 1)[0], "summary": doc})
        row["methods"] = sorted(set(row["methods"]) | (rule.methods - SKIPPED_METHODS))
    return sorted(rows.values(), key=lambda r: r["path"])


def _cached_spec() -> dict:
    spec = runtime().openapi_spec
    if spec is None:
        spec = runtime().openapi_spec = build_spec(current_app)
    return spec


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 document of every route (generated from the views and their schemas)."""
    return jsonify(_cached_spec())


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>llmops API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/docs-init.js"></script>
</body></html>
"""
DOCS_INIT = """window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  validatorUrl: null, tryItOutEnabled: false});
"""


@bp.get("/docs")
def api_docs():
    """Interactive API documentation (Swagger UI, served from local files)."""
    return DOCS_PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}


@bp.get("/docs/assets/<path:name>")
def api_docs_asset(name: str):
    """A Swagger UI file (from the swagger-ui-bundle package)."""
    if name == "docs-init.js":
        return DOCS_INIT, 200, {"Content-Type": "text/javascript; charset=utf-8"}
    from swagger_ui_bundle import swagger_ui_path

    return send_from_directory(swagger_ui_path, name, max_age=3600)
