"""Seed 004's self-service page API (API.md C4): ``/api/pricing`` (public), ``/api/redeem``
(peek and redeem, API-key auth, rate limited), ``/api/logs`` (the calling key's usage log)."""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, request
from marshmallow import Schema, fields, validate

from llmops.api.responses import json_body, ok, page
from llmops.extensions import limiter
from llmops.schemas.common import PaginationQuerySchema
from llmops.services import api_key_service, billing_service, redeem_service

bp = Blueprint("selfservice", __name__, url_prefix="/api")


class RedeemSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))


def _redeem_limit() -> str:
    return current_app.config["REDEEM_RATE_LIMIT"]


def _caller_key() -> str:
    """Rate-limit bucket per presented key (hashed: the key never lands in limiter storage)."""
    return hashlib.sha256(request.headers.get("Authorization", "").encode()).hexdigest()


def _principal():
    return api_key_service.authenticate(request.headers.get("Authorization"))


@bp.get("/pricing")
def pricing():
    return ok(billing_service.pricing())


@bp.get("/redeem")
@limiter.limit(_redeem_limit)
@limiter.limit(_redeem_limit, key_func=_caller_key)
def peek_redeem_code():
    _principal()
    data = RedeemSchema().load(request.args)
    return ok(redeem_service.peek(data["code"]))


@bp.post("/redeem")
@limiter.limit(_redeem_limit)
@limiter.limit(_redeem_limit, key_func=_caller_key)
def redeem_code():
    principal = _principal()
    data = RedeemSchema().load(json_body())
    return ok(redeem_service.redeem(principal, data["code"]), "code redeemed")


@bp.get("/logs")
def logs():
    principal = _principal()
    query = PaginationQuerySchema().load(request.args)
    return page(*billing_service.list_logs(principal, **query))
