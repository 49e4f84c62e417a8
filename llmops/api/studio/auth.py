"""Accounts: register, password login, logout, profile (API.md A "Accounts")."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_jwt_extended import get_jwt, jwt_required

from llmops.api.auth import current_account_id
from llmops.api.responses import json_body, ok
from llmops.extensions import limiter
from llmops.models.base import unix
from llmops.schemas.account import AccountNameSchema, AccountPasswordSchema, PasswordLoginSchema, RegisterSchema
from llmops.services import account_service

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_email_key() -> str:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return f"login-email:{str(email or '').strip().lower()}"


@bp.post("/auth/register")
@limiter.limit(_login_limit)
def register():
    data = RegisterSchema().load(json_body())
    return ok(account_service.register(**data, ip=request.remote_addr or ""), "registered", 201)


@bp.post("/auth/password-login")
@limiter.limit(_login_limit)
@limiter.limit(_login_limit, key_func=_login_email_key)
def password_login():
    data = PasswordLoginSchema().load(json_body())
    return ok(account_service.password_login(data["email"], data["password"], ip=request.remote_addr or ""))


@bp.post("/auth/logout")
@jwt_required()
def logout():
    claims = get_jwt()
    account_service.logout(claims["jti"], claims["exp"])
    return ok(message="logged out")


@bp.get("/account")
@jwt_required()
def get_account():
    return ok(_account_dict(account_service.get_account(current_account_id())))


@bp.post("/account/name")
@jwt_required()
def update_name():
    data = AccountNameSchema().load(json_body())
    return ok(_account_dict(account_service.update_name(current_account_id(), data["name"])), "name updated")


@bp.post("/account/password")
@jwt_required()
def update_password():
    data = AccountPasswordSchema().load(json_body())
    account_service.update_password(current_account_id(), data["current_password"], data["password"])
    return ok(message="password updated")


def _account_dict(account) -> dict:
    return {
        "id": str(account.id), "name": account.name, "email": account.email, "avatar": account.avatar,
        "last_login_at": unix(account.last_login_at), "created_at": unix(account.created_at),
    }
