"""Tools (course module 02): builtin tool providers and the account's custom API tools."""

from __future__ import annotations

import uuid

from flask import Blueprint, request, send_file
from flask_jwt_extended import jwt_required

from llmops.api.auth import current_account_id
from llmops.api.responses import json_body, ok, page
from llmops.schemas.common import SearchPaginationQuerySchema
from llmops.schemas.tool import ApiToolProviderSchema, OpenApiSchemaSchema
from llmops.services.studio import api_tool_service, tool_service

bp = Blueprint("tools", __name__)


@bp.get("/builtin-tools")
@jwt_required()
def builtin_tools():
    """Course 02: the builtin tool providers with their tools (configured ones only)."""
    return ok(tool_service.list_builtin_tools())


@bp.get("/builtin-tools/categories")
@jwt_required()
def builtin_categories():
    """Course 02: the builtin tools' categories."""
    return ok(tool_service.list_categories())


@bp.get("/builtin-tools/<string:provider>/tools/<string:tool>")
@jwt_required()
def builtin_tool(provider: str, tool: str):
    """Course 02: one builtin tool with its inputs and params."""
    return ok(tool_service.get_builtin_tool(provider, tool))


@bp.get("/builtin-tools/<string:provider>/icon")
def builtin_icon(provider: str):
    """Course 2.4 (no auth, as there: ``<img src>``)."""
    path, content_type = tool_service.builtin_icon(provider)
    response = send_file(path, mimetype=content_type, max_age=86400)
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.get("/api-tools")
@jwt_required()
def list_api_tools():
    """Course 02: the account's custom API tool providers, searchable by name (paginated)."""
    query = SearchPaginationQuerySchema().load(request.args)
    return page(*api_tool_service.list_providers(current_account_id(), **query))


@bp.post("/api-tools")
@jwt_required()
def create_api_tool_provider():
    """Course 02: create an API tool provider from a schema (course or OpenAPI 3) and headers."""
    data = ApiToolProviderSchema().load(json_body())
    return ok(api_tool_service.create_provider(current_account_id(), **data), "API tool provider created")


@bp.post("/api-tools/validate-openapi-schema")
@jwt_required()
def validate_openapi_schema():
    """Course 02: check a tool schema; names the first problem."""
    data = OpenApiSchemaSchema().load(json_body())
    parsed = api_tool_service.validate_schema(data["openapi_schema"])
    return ok({"tools": [op.name for op in parsed.operations]}, "the openapi_schema is valid")


@bp.get("/api-tools/<uuid:provider_id>")
@jwt_required()
def get_api_tool_provider(provider_id: uuid.UUID):
    """Course 02: an API tool provider with its schema and masked headers."""
    return ok(api_tool_service.get_provider(current_account_id(), provider_id))


@bp.post("/api-tools/<uuid:provider_id>")
@jwt_required()
def update_api_tool_provider(provider_id: uuid.UUID):
    """Course 02: change an API tool provider's name, icon, schema or headers."""
    data = ApiToolProviderSchema().load(json_body())
    return ok(api_tool_service.update_provider(current_account_id(), provider_id, **data),
              "API tool provider updated")


@bp.post("/api-tools/<uuid:provider_id>/delete")
@jwt_required()
def delete_api_tool_provider(provider_id: uuid.UUID):
    """Course 02: delete an API tool provider and its tools."""
    api_tool_service.delete_provider(current_account_id(), provider_id)
    return ok(message="API tool provider deleted")


@bp.get("/api-tools/<uuid:provider_id>/tools/<string:tool_name>")
@jwt_required()
def get_api_tool(provider_id: uuid.UUID, tool_name: str):
    """Course 02: one tool of an API tool provider with its inputs."""
    return ok(api_tool_service.get_tool(current_account_id(), provider_id, tool_name))
