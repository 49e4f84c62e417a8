"""Account money (credits, 1 credit = 1e-6 USD): the owner's ledger and redeem route; admins'
account list, grants and debits, and model prices."""

from __future__ import annotations

import uuid

from flask import Blueprint, current_app, request
from flask_jwt_extended import jwt_required

from llmops.api.auth import current_account_id
from llmops.api.responses import json_body, ok, page
from llmops.extensions import limiter
from llmops.schemas.account import AccountAdjustSchema, AdminAccountQuerySchema, ModelPriceSchema, RedeemCodeSchema
from llmops.schemas.common import PaginationQuerySchema
from llmops.services.core import account_service, balance_service, model_service
from llmops.services.gateway import redeem_service

bp = Blueprint("money", __name__)


def _redeem_limit() -> str:
    return current_app.config["REDEEM_RATE_LIMIT"]


def _account_bucket() -> str:
    return f"redeem-account:{current_account_id()}"


@bp.get("/account/ledger")
@jwt_required()
def ledger():
    """The account's ledger, newest first: grants, debits, redeems, sign-up credit and priced calls (paginated)."""
    query = PaginationQuerySchema().load(request.args)
    return page(*balance_service.list_ledger(current_account_id(), **query))


@bp.post("/account/redeem")
@jwt_required()
@limiter.limit(_redeem_limit)
@limiter.limit(_redeem_limit, key_func=_account_bucket)
def redeem():
    """Redeem a code onto the account's balance."""
    data = RedeemCodeSchema().load(json_body())
    return ok(redeem_service.redeem(current_account_id(), data["code"]), "code redeemed")


@bp.get("/admin/accounts")
@jwt_required()
def admin_accounts():
    """Admin: accounts with balance and usage, searchable by e-mail or name (paginated)."""
    account_service.require_admin(current_account_id())
    query = AdminAccountQuerySchema().load(request.args)
    return page(*balance_service.list_accounts(**query))


@bp.post("/admin/accounts/<uuid:account_id>")
@jwt_required()
def admin_adjust(account_id: uuid.UUID):
    """Admin: credit (or, with a negative amount, debit) an account, with a reason kept in its ledger."""
    admin_id = account_service.require_admin(current_account_id())
    data = AccountAdjustSchema().load(json_body())
    kind = "grant" if data["amount"] > 0 else "debit"
    return ok(balance_service.adjust(account_id, abs(data["amount"]), data["reason"], admin_id, kind),
              "balance credited" if kind == "grant" else "balance debited")


@bp.get("/admin/models")
@jwt_required()
def admin_models():
    """Admin: every registry model with its prices and limits."""
    account_service.require_admin(current_account_id())
    return ok(model_service.list_model_prices())


@bp.post("/admin/models")
@jwt_required()
def admin_set_model():
    """Admin: add a model to a provider or change its prices and limits."""
    account_service.require_admin(current_account_id())
    data = ModelPriceSchema().load(json_body())
    return ok(model_service.set_model_price(**data), "model saved")
