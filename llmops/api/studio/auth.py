"""Accounts: register, password login, refresh, logout, profile (docs/api.md A "Accounts")."""

from __future__ import annotations

from flask import Blueprint, request
from flask_jwt_extended import get_jwt, jwt_required

from llmops.api.auth import access_token, body_field_key, current_account_id, login_limit, session_tokens
from llmops.api.responses import json_body, ok
from llmops.extensions import limiter
from llmops.models.base import unix
from llmops.schemas.account import AccountNameSchema, AccountPasswordSchema, PasswordLoginSchema, RegisterSchema
from llmops.services.core import account_service, balance_service

bp = Blueprint("auth", __name__)


@bp.post("/auth/register")
@limiter.limit(login_limit)
def register():
    """Create an account (REGISTRATION policy: open, invite or closed)."""
    data = RegisterSchema().load(json_body())
    return ok(session_tokens(account_service.register(**data, ip=request.remote_addr or "")), "registered", 201)


@bp.post("/auth/password-login")
@limiter.limit(login_limit)
@limiter.limit(login_limit, key_func=body_field_key("email"))
def password_login():
    """Sign in with e-mail and password: an access token and a refresh token."""
    data = PasswordLoginSchema().load(json_body())
    account = account_service.password_login(data["email"], data["password"], ip=request.remote_addr or "")
    return ok(session_tokens(account))


@bp.post("/auth/refresh")
@jwt_required(refresh=True)
def refresh():
    """A new access token for a refresh token."""
    return ok(access_token(account_service.get_account(current_account_id()), get_jwt().get("sid")))


@bp.post("/auth/logout")
@jwt_required(verify_type=False)
def logout():
    """Sign this session out (its tokens are revoked)."""
    account_service.logout(get_jwt())
    return ok(message="logged out")


@bp.get("/account")
@jwt_required()
def get_account():
    """The signed-in account: name, e-mail, avatar, balance and usage in credits."""
    return ok(account_dict(account_service.get_account(current_account_id())))


@bp.post("/account/name")
@jwt_required()
def update_name():
    """Change the account's display name."""
    data = AccountNameSchema().load(json_body())
    return ok(account_dict(account_service.update_name(current_account_id(), data["name"])), "name updated")


@bp.post("/account/password")
@jwt_required()
def update_password():
    """Change the password (the current one is required); other sessions are revoked."""
    data = AccountPasswordSchema().load(json_body())
    account = account_service.update_password(current_account_id(), data["current_password"], data["password"])
    return ok(session_tokens(account, get_jwt().get("sid")),
              "password updated: every other session is signed out; use the new tokens")


def account_dict(account) -> dict:
    return {
        "id": str(account.id), "name": account.name, "email": account.email, "avatar": account.avatar,
        "is_admin": account.is_admin,  # the console shows its admin page
        "last_login_at": unix(account.last_login_at), "last_login_ip": account.last_login_ip,
        "created_at": unix(account.created_at), **balance_service.balance_to_dict(account),
    }
