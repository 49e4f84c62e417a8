"""Seed 004's self-service page API (docs/api.md C4): ``/api/pricing`` (public), ``/api/redeem``
(peek and redeem, API-key auth, rate limited), ``/api/logs`` (the calling key's usage log, limited
per key as seed 004's ``log_query_limit``)."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from llmops.api import openapi
from llmops.api.auth import api_key_bucket, api_key_required
from llmops.api.responses import json_body, ok, page
from llmops.extensions import limiter
from llmops.schemas.common import PaginationQuerySchema
from llmops.schemas.compat.selfservice import RedeemSchema
from llmops.services.gateway import billing_service, redeem_service

bp = Blueprint("selfservice", __name__, url_prefix="/api")


def _redeem_limit() -> str:
    return current_app.config["REDEEM_RATE_LIMIT"]


def _log_limit() -> str:
    return current_app.config["LOG_QUERY_RATE_LIMIT"]


@bp.get("/pricing")
def pricing():
    """Public price list of every served model (USD per 1M tokens)."""
    return ok(billing_service.pricing())


@bp.get("/redeem")
@limiter.limit(_redeem_limit)
@limiter.limit(_redeem_limit, key_func=api_key_bucket)
@api_key_required
def peek_redeem_code(principal):
    """Seed 004: what a redeem code is worth and whether it can still be used."""
    data = RedeemSchema().load(request.args)
    return ok(redeem_service.peek(data["code"]))


@bp.post("/redeem")
@limiter.limit(_redeem_limit)
@limiter.limit(_redeem_limit, key_func=api_key_bucket)
@api_key_required
def redeem_code(principal):
    """Seed 004: redeem a code onto the calling key's account."""
    data = RedeemSchema().load(json_body())
    return ok(redeem_service.redeem(principal.account_id, data["code"], principal.id), "code redeemed")


@bp.get("/logs")
@limiter.limit(_log_limit, key_func=api_key_bucket)
@api_key_required
def logs(principal):
    """Seed 004: the calling key's recent requests (paginated)."""
    query = PaginationQuerySchema().load(request.args)
    return page(*billing_service.list_logs(principal, **query))


@bp.get("/about")
def about():
    """Seed 004's "API 文档" page: the service and every route it serves (method, path, doc line)."""
    routes = openapi.operations(current_app)
    return ok({"name": "llmops", "description": "LLMOps backend: studio API, knowledge bases, OpenAI-compatible "
               "gateway and the compatibility surfaces of the systems it replaces",
               "auth": "Authorization: Bearer <api-key> (gateway, seed 004) or <JWT> (studio, seed 000)",
               "routes": routes})
