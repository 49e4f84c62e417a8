"""Admin-only routes (API.md A "API keys, usage, models, admin"): redeem codes, active models."""

from __future__ import annotations

from flask import Blueprint
from flask_jwt_extended import jwt_required
from marshmallow import Schema, fields, validate

from llmops.api.auth import current_account_id
from llmops.api.responses import json_body, ok
from llmops.services import account_service, model_service, redeem_service

bp = Blueprint("admin", __name__, url_prefix="/admin")


class RedeemCodesSchema(Schema):
    count = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))
    quota = fields.Integer(required=True, validate=validate.Range(min=1, max=10**12))
    expires_at = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=2**40))


class ActiveModelSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(model_service.MODEL_KINDS))
    provider = fields.String(required=True, validate=validate.Length(min=1, max=64))
    model = fields.String(required=True, validate=validate.Length(min=1, max=128))


@bp.post("/redeem-codes")
@jwt_required()
def create_redeem_codes():
    admin_id = account_service.require_admin(current_account_id())
    data = RedeemCodesSchema().load(json_body())
    return ok({"codes": redeem_service.generate(**data, created_by=admin_id)}, "codes generated", 201)


@bp.get("/models/active")
@jwt_required()
def active_models():
    account_service.require_admin(current_account_id())
    return ok(model_service.list_active_models())


@bp.post("/models/active")
@jwt_required()
def set_active_model():
    account_service.require_admin(current_account_id())
    data = ActiveModelSchema().load(json_body())
    return ok(model_service.set_active_model(**data), "active model set")
