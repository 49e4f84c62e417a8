"""Gateway API keys of the calling account (docs/api.md A "API keys, usage, models, admin")."""

from __future__ import annotations

import uuid

from flask import Blueprint, request
from flask_jwt_extended import jwt_required

from llmops.api.auth import current_account_id
from llmops.api.responses import json_body, ok, page
from llmops.schemas.api_key import (
    ApiKeyCreateSchema,
    ApiKeysUsageLogQuerySchema,
    ApiKeyUpdateSchema,
    IsActiveSchema,
    UsageQuerySchema,
)
from llmops.schemas.common import PaginationQuerySchema
from llmops.services.gateway import api_key_service, billing_service

bp = Blueprint("api_keys", __name__)


@bp.get("/api-keys")
@jwt_required()
def list_api_keys():
    """The account's API keys with their limits and state (paginated; the plain key never again)."""
    query = PaginationQuerySchema().load(request.args)
    return page(*api_key_service.list_api_keys(current_account_id(), **query))


@bp.post("/api-keys")
@jwt_required()
def create_api_key():
    """Create an API key with optional limits; the plain key is in this answer only."""
    data = ApiKeyCreateSchema().load(json_body())
    return ok(api_key_service.create_api_key(current_account_id(), **data),
              "API key created: copy it now, it is not shown again", 201)


@bp.post("/api-keys/<uuid:key_id>")
@jwt_required()
def update_api_key(key_id: uuid.UUID):
    """Change a key's remark, limits, expiry, allow-list or bound app."""
    data = ApiKeyUpdateSchema().load(json_body())
    return ok(api_key_service.update_api_key(current_account_id(), key_id, data))


@bp.post("/api-keys/<uuid:key_id>/is-active")
@jwt_required()
def set_api_key_active(key_id: uuid.UUID):
    """Enable or disable an API key."""
    data = IsActiveSchema().load(json_body())
    api_key_service.set_api_key_active(current_account_id(), key_id, data["is_active"])
    return ok(message="API key updated")


@bp.post("/api-keys/<uuid:key_id>/delete")
@jwt_required()
def delete_api_key(key_id: uuid.UUID):
    """Delete an API key."""
    api_key_service.delete_api_key(current_account_id(), key_id)
    return ok(message="API key deleted")


@bp.get("/usage")
@jwt_required()
def usage():
    """Usage per key and day: requests, errors, tokens, cost and p50 latency."""
    query = UsageQuerySchema().load(request.args)
    return ok(billing_service.usage_report(current_account_id(), **query))


@bp.get("/usage/logs")
@jwt_required()
def usage_logs():
    """The account's request log, newest first (paginated; ``api_key_id`` filters one key)."""
    query = ApiKeysUsageLogQuerySchema().load(request.args)
    return page(*billing_service.list_account_logs(current_account_id(), **query))
