"""Admin-only routes (docs/api.md A "API keys, usage, models, admin"): redeem codes, active models,
account status (disable, enable, revoke sessions), invite codes."""

from __future__ import annotations

import uuid

from flask import Blueprint, request
from flask_jwt_extended import jwt_required

from llmops.api.auth import current_account_id
from llmops.api.responses import json_body, ok, page
from llmops.schemas.account import (
    AdminActiveModelSchema,
    AdminRedeemCodeListSchema,
    AdminRedeemCodesSchema,
    InviteCodeListSchema,
    InviteCodesSchema,
)
from llmops.services.core import account_service, invite_service, model_service
from llmops.services.gateway import redeem_service

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.post("/redeem-codes")
@jwt_required()
def create_redeem_codes():
    """Admin: generate redeem codes worth a quota each (shown once)."""
    admin_id = account_service.require_admin(current_account_id())
    data = AdminRedeemCodesSchema().load(json_body())
    return ok({"codes": redeem_service.generate(**data, created_by=admin_id)}, "codes generated", 201)


@bp.get("/redeem-codes")
@jwt_required()
def list_redeem_codes():
    """Admin: redeem codes, newest first (worth, state; the plain codes were shown once)."""
    account_service.require_admin(current_account_id())
    return page(*redeem_service.list_codes(**AdminRedeemCodeListSchema().load(request.args)))


@bp.get("/models/active")
@jwt_required()
def active_models():
    """The active model of each kind (language, embedding, vision)."""
    account_service.require_admin(current_account_id())
    return ok(model_service.list_active_models())


@bp.post("/models/active")
@jwt_required()
def set_active_model():
    """Admin: switch the active model of a kind for every process (seed 003's admin page)."""
    account_service.require_admin(current_account_id())
    data = AdminActiveModelSchema().load(json_body())
    return ok(model_service.set_active_model(**data), "active model set")


@bp.post("/accounts/<uuid:account_id>/disable")
@jwt_required()
def disable_account(account_id: uuid.UUID):
    """Admin: disable an account; its keys and tokens are refused on the next request."""
    admin_id = account_service.require_admin(current_account_id())
    account = account_service.set_disabled(account_id, True, by=admin_id)
    return ok(account_service.status_dict(account), "account disabled: its keys and tokens are refused")


@bp.post("/accounts/<uuid:account_id>/enable")
@jwt_required()
def enable_account(account_id: uuid.UUID):
    """Admin: enable a disabled account."""
    account_service.require_admin(current_account_id())
    return ok(account_service.status_dict(account_service.set_disabled(account_id, False)), "account enabled")


@bp.post("/accounts/<uuid:account_id>/revoke-sessions")
@jwt_required()
def revoke_sessions(account_id: uuid.UUID):
    """Admin: sign every session of an account out (its JWTs stop working)."""
    account_service.require_admin(current_account_id())
    account = account_service.revoke_sessions(account_id)
    return ok(account_service.status_dict(account), "every token issued to the account so far is refused")


@bp.post("/invite-codes")
@jwt_required()
def create_invite_codes():
    """Admin: make invite codes (REGISTRATION=invite); the plain codes are shown once."""
    admin_id = account_service.require_admin(current_account_id())
    data = InviteCodesSchema().load(json_body())
    return ok({"codes": invite_service.generate(**data, created_by=admin_id)},
              "invite codes generated: copy them now, they are not shown again", 201)


@bp.get("/invite-codes")
@jwt_required()
def list_invite_codes():
    """Admin: invite codes with their state (hints only, never the codes)."""
    account_service.require_admin(current_account_id())
    return page(*invite_service.list_codes(**InviteCodeListSchema().load(request.args)))
