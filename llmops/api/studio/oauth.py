"""Third-party login (course module 06): GitHub's redirect URL and the code exchange."""

from __future__ import annotations

from flask import Blueprint, request

from llmops.api.auth import login_limit, session_tokens
from llmops.api.responses import json_body, ok
from llmops.extensions import limiter
from llmops.schemas.oauth import OAuthAuthorizeSchema
from llmops.services.core import oauth_service

bp = Blueprint("oauth", __name__)


@bp.get("/oauth/<string:provider>")
def redirect_url(provider: str):
    """Course 06: the provider's authorization URL to send the user to."""
    return ok(oauth_service.redirect_url(provider))


@bp.post("/oauth/authorize/<string:provider>")
@bp.post("/oauth/callback/<string:provider>")  # the path of the course document's request example
@limiter.limit(login_limit)
def authorize(provider: str):
    """Course 06: finish a third-party login with the provider's code (tokens, as a login)."""
    data = OAuthAuthorizeSchema().load(json_body())
    account = oauth_service.authorize(provider, data["code"], data["state"], ip=request.remote_addr or "",
                                      invite_code=data["invite_code"])
    return ok(session_tokens(account))
