"""API tool schemas → tool definitions.

Two forms are accepted (``parse``):

* the course platform's simplified schema — ``{description, server, paths: {"/p": {get|post:
  {description, operationId, parameters: [{name, in, description, required, type}]}}}}`` with
  ``in`` one of ``path``, ``query``, ``header``, ``cookie``, ``request_body`` and ``type`` one of
  ``str``, ``int``, ``float``, ``bool`` (``required`` defaults to true);
* a standard OpenAPI 3 document (``openapi: 3.x``): ``servers[0].url``, ``info.description``,
  each operation's ``parameters`` (``schema.type``) and a JSON ``requestBody`` object's
  properties (local ``$ref``\\ s resolved) become the same parameter list.

Each operation becomes one tool named by its ``operationId``. Errors raise ``SchemaError`` with
a message naming the part at fault (the route turns it into a 422 naming ``openapi_schema``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

PARAMETER_PLACES = ("path", "query", "header", "cookie", "request_body")
PARAMETER_TYPES = ("str", "int", "float", "bool")
JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
OPENAPI_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
SIMPLE_METHODS = ("get", "post")
OPENAPI_METHODS = ("get", "post", "put", "patch", "delete")
OPERATION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class SchemaError(ValueError):
    """The schema is not valid; the message says where."""


@dataclass
class Operation:
    """One tool of a schema: ``url`` is the server plus the path (with ``{name}`` placeholders)."""

    name: str
    description: str
    method: str
    url: str
    parameters: list[dict] = field(default_factory=list)


@dataclass
class ParsedSchema:
    description: str
    server: str
    operations: list[Operation]


def parse(text: str) -> ParsedSchema:
    """Parse and check an API tool schema (either form) → ``ParsedSchema``; ``SchemaError``."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SchemaError("must be a JSON object")
    if "openapi" in data:
        return _parse_openapi3(data)
    return _parse_simple(data)


def _server(value, where: str) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+", value):
        raise SchemaError(f"{where} must be an http(s) URL")
    return value.rstrip("/")


def _parse_simple(data: dict) -> ParsedSchema:
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        raise SchemaError("description must not be empty")
    server = _server(data.get("server"), "server")
    paths = data.get("paths")
    if not isinstance(paths, dict) or not paths:
        raise SchemaError("paths must not be empty")
    operations: list[Operation] = []
    for path, methods in paths.items():
        if not isinstance(path, str) or not path.startswith("/"):
            raise SchemaError(f"paths: {path!r} must start with /")
        if not isinstance(methods, dict) or not methods:
            raise SchemaError(f"paths.{path} must map get/post to an operation")
        for method, operation in methods.items():
            where = f"paths.{path}.{method}"
            if method not in SIMPLE_METHODS:
                raise SchemaError(f"{where}: only get and post are supported")
            if not isinstance(operation, dict):
                raise SchemaError(f"{where} must be an object")
            parameters = operation.get("parameters", [])
            if not isinstance(parameters, list):
                raise SchemaError(f"{where}.parameters must be a list")
            checked = [_simple_parameter(p, f"{where}.parameters[{i}]", method) for i, p in enumerate(parameters)]
            operations.append(_operation(operation, where, method, server + path, checked))
    return ParsedSchema(description.strip(), server, _unique(operations))


def _simple_parameter(parameter, where: str, method: str) -> dict:
    if not isinstance(parameter, dict):
        raise SchemaError(f"{where} must be an object")
    name = parameter.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SchemaError(f"{where}.name must not be empty")
    place = parameter.get("in")
    if place not in PARAMETER_PLACES:
        raise SchemaError(f"{where}.in must be one of {', '.join(PARAMETER_PLACES)}")
    if place == "request_body" and method != "post":
        raise SchemaError(f"{where}: request_body parameters need a post operation")
    type_ = parameter.get("type", "str")
    if type_ not in PARAMETER_TYPES:
        raise SchemaError(f"{where}.type must be one of {', '.join(PARAMETER_TYPES)}")
    required = parameter.get("required", True)
    if not isinstance(required, bool):
        raise SchemaError(f"{where}.required must be true or false")
    description = parameter.get("description", "")
    if not isinstance(description, str):
        raise SchemaError(f"{where}.description must be a string")
    return {"name": name, "in": place, "type": type_, "required": required or place == "path",
            "description": description}


def _operation(operation: dict, where: str, method: str, url: str, parameters: list[dict]) -> Operation:
    name = operation.get("operationId")
    if not isinstance(name, str) or not OPERATION_ID.match(name):
        raise SchemaError(f"{where}.operationId must be 1-64 letters, digits, _ or -")
    description = operation.get("description") or operation.get("summary") or ""
    if not isinstance(description, str) or not description.strip():
        raise SchemaError(f"{where}.description must not be empty")
    placeholders = set(re.findall(r"{([^}]+)}", url))
    path_names = {p["name"] for p in parameters if p["in"] == "path"}
    if placeholders != path_names:
        raise SchemaError(f"{where}: path parameters must match the path's {{placeholders}}")
    names = [p["name"] for p in parameters]
    if len(names) != len(set(names)):
        raise SchemaError(f"{where}: parameter names must be unique")
    return Operation(name, description.strip(), method.upper(), url, parameters)


def _unique(operations: list[Operation]) -> list[Operation]:
    seen: set[str] = set()
    for operation in operations:
        if operation.name in seen:
            raise SchemaError(f"operationId {operation.name} is used twice")
        seen.add(operation.name)
    return operations


def _parse_openapi3(data: dict) -> ParsedSchema:
    version = str(data.get("openapi", ""))
    if not version.startswith("3."):
        raise SchemaError("openapi must be a 3.x version")
    info = data.get("info")
    if not isinstance(info, dict):
        raise SchemaError("info must not be empty")
    description = info.get("description") or info.get("title") or ""
    if not isinstance(description, str) or not description.strip():
        raise SchemaError("info.description (or info.title) must not be empty")
    servers = data.get("servers")
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        raise SchemaError("servers must hold at least one {url}")
    server = _server(servers[0].get("url"), "servers[0].url")
    paths = data.get("paths")
    if not isinstance(paths, dict) or not paths:
        raise SchemaError("paths must not be empty")
    operations: list[Operation] = []
    for path, item in paths.items():
        if not isinstance(path, str) or not path.startswith("/") or not isinstance(item, dict):
            raise SchemaError(f"paths: {path!r} must start with / and map methods to operations")
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method not in OPENAPI_METHODS:
                continue
            where = f"paths.{path}.{method}"
            if not isinstance(operation, dict):
                raise SchemaError(f"{where} must be an object")
            raw = [*shared, *operation.get("parameters", [])]
            parameters = [_openapi_parameter(_resolve(data, p), f"{where}.parameters[{i}]")
                          for i, p in enumerate(raw)]
            parameters += _request_body(data, operation.get("requestBody"), where)
            operations.append(_operation(operation, where, method, server + path, parameters))
    if not operations:
        raise SchemaError("paths hold no get/post/put/patch/delete operation")
    return ParsedSchema(description.strip(), server, _unique(operations))


def _resolve(document: dict, node, depth: int = 0):
    """``node`` with a local ``$ref`` (``#/components/...``) replaced by its target."""
    if not isinstance(node, dict) or "$ref" not in node:
        return node
    ref = node["$ref"]
    if depth > 10 or not isinstance(ref, str) or not ref.startswith("#/"):
        raise SchemaError(f"only local $ref are supported, not {ref!r}")
    target = document
    for part in ref[2:].split("/"):
        if not isinstance(target, dict) or part not in target:
            raise SchemaError(f"$ref {ref} does not exist")
        target = target[part]
    return _resolve(document, target, depth + 1)


def _openapi_parameter(parameter, where: str) -> dict:
    if not isinstance(parameter, dict):
        raise SchemaError(f"{where} must be an object")
    name, place = parameter.get("name"), parameter.get("in")
    if not isinstance(name, str) or not name.strip():
        raise SchemaError(f"{where}.name must not be empty")
    if place not in ("path", "query", "header", "cookie"):
        raise SchemaError(f"{where}.in must be path, query, header or cookie")
    schema = parameter.get("schema") or {}
    return {"name": name, "in": place, "type": OPENAPI_TYPES.get(schema.get("type"), "str"),
            "required": bool(parameter.get("required", place == "path")) or place == "path",
            "description": str(parameter.get("description") or schema.get("description") or "")}


def _request_body(document: dict, body, where: str) -> list[dict]:
    body = _resolve(document, body)
    if not body:
        return []
    content = (body.get("content") or {}) if isinstance(body, dict) else {}
    media = content.get("application/json")
    if not isinstance(media, dict):
        raise SchemaError(f"{where}.requestBody: only application/json bodies are supported")
    schema = _resolve(document, media.get("schema") or {})
    if schema.get("type", "object") != "object" or not isinstance(schema.get("properties", {}), dict):
        raise SchemaError(f"{where}.requestBody: the schema must be an object with properties")
    required = set(schema.get("required") or [])
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        prop = _resolve(document, prop) or {}
        out.append({"name": name, "in": "request_body", "type": OPENAPI_TYPES.get(prop.get("type"), "str"),
                    "required": name in required, "description": str(prop.get("description") or "")})
    return out


def inputs_of(parameters: list[dict]) -> list[dict]:
    """The course's ``inputs`` of a tool: ``[{name, description, required, type}]``."""
    return [{"name": p["name"], "description": p.get("description", ""), "required": bool(p.get("required")),
             "type": p.get("type", "str")} for p in parameters]


def json_schema_of(inputs: list[dict]) -> dict:
    """A function-calling ``parameters`` JSON Schema for ``inputs`` (course types or JSON types)."""
    properties = {i["name"]: {"type": JSON_TYPES.get(i.get("type", "str"), i.get("type", "string")),
                              "description": i.get("description", "")} for i in inputs}
    return {"type": "object", "properties": properties,
            "required": [i["name"] for i in inputs if i.get("required")]}
