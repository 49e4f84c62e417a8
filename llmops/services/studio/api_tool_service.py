"""Custom API tools (course module 02, 2.5–2.12): an account's providers, each an API schema
(``tools.openapi``: the course's simplified form or OpenAPI 3) plus headers, and one tool per
operation; calling a tool (``call_api_tool``) goes through ``tools.http`` (timeouts, size cap,
same-host redirects only, no private addresses unless ``API_TOOLS_ALLOW_PRIVATE``).

Header values are secrets (API keys): stored encrypted (``secret_box``, one token for the JSON
list) and returned masked (``secret_box.mask``); an update that sends a masked value back keeps
the stored one.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import sqlalchemy as sa
from flask import current_app

from llmops.errors import ConflictError, NotFoundError, ValidateError
from llmops.extensions import db
from llmops.models import ApiTool, ApiToolProvider
from llmops.models.base import unix
from llmops.services.common import contains, get_owned, paginate
from llmops.services.core import secret_box
from llmops.tools import http, openapi
from llmops.tools.runtime import ToolError


def validate_schema(text: str) -> openapi.ParsedSchema:
    """Course 2.12: parse and check the schema → its operations; ``ValidateError`` naming
    ``openapi_schema`` with what is wrong."""
    try:
        return openapi.parse(text)
    except openapi.SchemaError as exc:
        message = f"openapi_schema: {exc}"
        raise ValidateError(message, data={"openapi_schema": [str(exc)]}) from exc


def _headers(provider: ApiToolProvider) -> list[dict]:
    return json.loads(secret_box.decrypt(provider.headers_ciphertext)) if provider.headers_ciphertext else []


def _masked(headers: list[dict]) -> list[dict]:
    return [{"key": h["key"], "value": secret_box.mask(h["value"])} for h in headers]


def _owned(account_id: uuid.UUID, provider_id: uuid.UUID) -> ApiToolProvider:
    return get_owned(ApiToolProvider, provider_id, account_id, "API tool provider")


def _tools(provider_id: uuid.UUID) -> list[ApiTool]:
    return list(db.session.scalars(sa.select(ApiTool).where(ApiTool.provider_id == provider_id)
                                   .order_by(ApiTool.created_at, ApiTool.name)))


def _tool_dict(tool: ApiTool) -> dict:
    return {"id": str(tool.id), "name": tool.name, "description": tool.description,
            "inputs": openapi.inputs_of(tool.parameters)}


def provider_to_dict(provider: ApiToolProvider, with_tools: bool = True) -> dict:
    """Course 2.5's list item / 2.10's detail: headers masked, ``openapi_schema`` as given."""
    data = {"id": str(provider.id), "name": provider.name, "icon": provider.icon, "description": provider.description,
            "openapi_schema": provider.openapi_schema, "headers": _masked(_headers(provider)),
            "created_at": unix(provider.created_at), "updated_at": unix(provider.updated_at)}
    if with_tools:
        data["tools"] = [_tool_dict(t) for t in _tools(provider.id)]
    return data


def list_providers(account_id: uuid.UUID, current_page: int, page_size: int, search_word: str = "") -> tuple[list, dict]:
    """Course 2.5: the account's providers, newest first, ``search_word`` in the name → (items, paginator)."""
    query = sa.select(ApiToolProvider).where(ApiToolProvider.account_id == account_id)
    if search_word:
        query = query.where(contains(ApiToolProvider.name, search_word))
    rows, page = paginate(query, (ApiToolProvider.created_at.desc(), ApiToolProvider.id), current_page, page_size)
    return [provider_to_dict(p) for p in rows], page


def get_provider(account_id: uuid.UUID, provider_id: uuid.UUID) -> dict:
    """Course 2.10 (``NotFoundError`` for another account's provider)."""
    return provider_to_dict(_owned(account_id, provider_id))


def get_tool(account_id: uuid.UUID, provider_id: uuid.UUID, tool_name: str) -> dict:
    """Course 2.11: ``{id, name, description, inputs, provider{id, name, icon, description, headers, created_at}}``."""
    provider = _owned(account_id, provider_id)
    tool = db.session.scalar(sa.select(ApiTool).where(ApiTool.provider_id == provider.id, ApiTool.name == tool_name))
    if tool is None:
        raise NotFoundError("API tool not found")
    return {**_tool_dict(tool), "provider": {
        "id": str(provider.id), "name": provider.name, "icon": provider.icon, "description": provider.description,
        "headers": _masked(_headers(provider)), "created_at": unix(provider.created_at)}}


def create_provider(account_id: uuid.UUID, name: str, icon: str, openapi_schema: str, headers: list[dict]) -> dict:
    """Course 2.7: the schema is checked, one tool per operation is stored (``ConflictError``
    when the account already has a provider of that name)."""
    parsed = validate_schema(openapi_schema)
    _check_name(account_id, name, None)
    provider = ApiToolProvider(id=uuid.uuid4(), account_id=account_id, name=name, icon=icon,
                               description=parsed.description, openapi_schema=openapi_schema,
                               headers_ciphertext=_encrypt(headers))
    db.session.add(provider)
    _store_tools(provider, parsed)
    db.session.commit()
    return provider_to_dict(provider)


def update_provider(account_id: uuid.UUID, provider_id: uuid.UUID, name: str, icon: str, openapi_schema: str,
                    headers: list[dict]) -> dict:
    """Course 2.9: the provider's tools are replaced by the new schema's; a header whose value is
    sent back masked keeps its stored value."""
    provider = _owned(account_id, provider_id)
    parsed = validate_schema(openapi_schema)
    _check_name(account_id, name, provider.id)
    stored = {h["key"]: h["value"] for h in _headers(provider)}
    kept = [{"key": h["key"], "value": stored[h["key"]]}
            if h["key"] in stored and h["value"] == secret_box.mask(stored[h["key"]]) else h for h in headers]
    provider.name, provider.icon, provider.description = name, icon, parsed.description
    provider.openapi_schema, provider.headers_ciphertext = openapi_schema, _encrypt(kept)
    db.session.execute(sa.delete(ApiTool).where(ApiTool.provider_id == provider.id))
    _store_tools(provider, parsed)
    db.session.commit()
    return provider_to_dict(provider)


def delete_provider(account_id: uuid.UUID, provider_id: uuid.UUID) -> None:
    """Course 2.8: the provider and its tools go; apps binding them drop them when they next run."""
    provider = _owned(account_id, provider_id)
    db.session.execute(sa.delete(ApiTool).where(ApiTool.provider_id == provider.id))
    db.session.delete(provider)
    db.session.commit()


def _check_name(account_id: uuid.UUID, name: str, exclude: uuid.UUID | None) -> None:
    query = sa.select(ApiToolProvider.id).where(ApiToolProvider.account_id == account_id, ApiToolProvider.name == name)
    if exclude is not None:
        query = query.where(ApiToolProvider.id != exclude)
    if db.session.scalar(query) is not None:
        raise ConflictError(f"name: an API tool provider named {name!r} already exists",
                            data={"name": ["already exists"]})


def _encrypt(headers: list[dict]) -> str:
    return secret_box.encrypt(json.dumps([{"key": h["key"], "value": h["value"]} for h in headers])) if headers else ""


def _store_tools(provider: ApiToolProvider, parsed: openapi.ParsedSchema) -> None:
    db.session.flush()  # the provider row first (no ORM relationship orders the inserts)
    db.session.add_all(ApiTool(id=uuid.uuid4(), provider_id=provider.id, account_id=provider.account_id,
                               name=op.name, description=op.description, url=op.url, method=op.method,
                               parameters=op.parameters) for op in parsed.operations)


def find_tool(account_id: uuid.UUID, provider_id: str, tool_id: str) -> tuple[ApiToolProvider, ApiTool] | None:
    """The account's provider and tool of an app's tool reference (``tool_id``: the tool's id or
    its name), or None when either is gone."""
    try:
        provider = _owned(account_id, uuid.UUID(str(provider_id)))
    except (ValueError, NotFoundError):
        return None
    query = sa.select(ApiTool).where(ApiTool.provider_id == provider.id)
    try:
        tool = db.session.scalar(query.where(ApiTool.id == uuid.UUID(str(tool_id))))
    except ValueError:
        tool = db.session.scalar(query.where(ApiTool.name == str(tool_id)))
    return (provider, tool) if tool is not None else None


def tool_spec(provider: ApiToolProvider, tool: ApiTool) -> dict:
    """What calling the tool needs, as plain values (safe to use from another thread):
    ``{method, url, parameters, headers}`` with the headers decrypted."""
    return {"method": tool.method, "url": tool.url, "parameters": list(tool.parameters),
            "headers": _headers(provider)}


def call_api_tool(spec: dict, arguments: dict) -> str:
    """Send the request of ``spec`` (``tool_spec``) with the model's ``arguments`` placed per
    parameter (path, query, header, cookie, JSON body) and the provider's headers → the response
    text. ``ToolError`` for a missing argument or an HTTP error status; ``http.UnsafeUrlError`` /
    ``FetchFailed`` pass up."""
    config = current_app.config
    url, query, headers, cookies, body = spec["url"], {}, {}, {}, {}
    for parameter in spec["parameters"]:
        name, place = parameter["name"], parameter["in"]
        if name not in arguments or arguments[name] is None:
            if parameter.get("required"):
                raise ToolError(f"the argument {name} is required")
            continue
        value = _coerce(arguments[name], parameter.get("type", "str"), name)
        if place == "path":
            url = url.replace("{" + name + "}", quote(str(value), safe=""))
        elif place == "query":
            query[name] = value
        elif place == "header":
            headers[name] = str(value)
        elif place == "cookie":
            cookies[name] = str(value)
        else:
            body[name] = value
    for header in spec["headers"]:
        headers[header["key"]] = header["value"]
    method = spec["method"]
    result = http.request(method, url, params=query or None, headers=headers, cookies=cookies or None,
                          json_body=body if method != "GET" else None, timeout_s=config["TOOL_HTTP_TIMEOUT_S"],
                          max_bytes=config["TOOL_MAX_RESPONSE_BYTES"], allow_private=config["API_TOOLS_ALLOW_PRIVATE"])
    if result.status >= 400:
        raise ToolError(f"the API answered HTTP {result.status}: {result.text[:500]}")
    return result.text


def _coerce(value, type_: str, name: str):
    try:
        if type_ == "int":
            return int(value)
        if type_ == "float":
            return float(value)
        if type_ == "bool":
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
    except (TypeError, ValueError) as exc:
        raise ToolError(f"the argument {name} must be of type {type_}") from exc
    return value if isinstance(value, str) else json.dumps(value) if isinstance(value, dict | list) else str(value)
