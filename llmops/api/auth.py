"""Authentication of the API.

* JWT wiring (flask-jwt-extended): identity = account UUID, revocation through the state store
  (logged-out sessions, revoked sessions, disabled accounts), 401/403 envelopes for token problems.
* ``session_tokens`` / ``access_token``: the tokens of a session the account services opened
  (services return the account; only this layer issues JWTs).
* ``api_key_required``: the one API-key check of every key-authenticated route (``/v1``, seeds
  001, 003, 004, the course's open API).
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Callable
from datetime import timedelta

from flask import current_app, request
from flask_jwt_extended import JWTManager, create_access_token, create_refresh_token, decode_token, get_jwt_identity

from llmops.api.error_handlers import forbidden_response, unauthorized_response
from llmops.services.core import account_service
from llmops.services.gateway import api_key_service


def api_key_bucket() -> str:
    """flask-limiter key of the presented API key (hashed: keys never land in limiter storage)."""
    return "key:" + hashlib.sha256(request.headers.get("Authorization", "").encode()).hexdigest()


def login_limit() -> str:
    """flask-limiter limit of the login and register routes (``LOGIN_RATE_LIMIT``)."""
    return current_app.config["LOGIN_RATE_LIMIT"]


def body_field_key(field: str):
    """A flask-limiter key function: the JSON body's ``field`` (e.g. the e-mail being tried)."""
    def key() -> str:
        body = request.get_json(silent=True, force=True)
        value = body.get(field) if isinstance(body, dict) else None
        return f"login-{field}:{str(value or '').strip().lower()}"
    return key


def authorization_header() -> str | None:
    """The request's ``Authorization`` header (``Bearer <key>``), or None."""
    return request.headers.get("Authorization")


def api_key_required(view: Callable | None = None, /, *, credentials: Callable[[], str | None] = authorization_header,
                     check_account: bool = True):
    """Authenticate the request's API key before ``view`` runs; the view gets the key's
    ``KeyPrincipal`` as its first argument.

    ``credentials()`` reads the ``Authorization`` value to check (default: the header; seed 003
    falls back to its configured key). A missing, unknown, disabled or expired key raises
    ``InvalidApiKeyError`` (401), a disabled account ``ForbiddenError`` (403): the one error handler
    answers them in the route family's shape (OpenAI's ``{"error"}`` on ``/v1`` and seed 001,
    ``{"detail"}`` on seed 003, the envelope elsewhere). Cheap on the gateway's hot path: a valid
    key is one cache look-up (``api_key_service.authenticate``). ``check_account`` False: the view
    checks the account's standing itself (the gateway's chat, within its reservation)."""
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def authenticated(*args, **kwargs):
            return view(api_key_service.authenticate(credentials(), check_account), *args, **kwargs)
        return authenticated
    return decorate if view is None else decorate(view)


def access_token(account, sid: str | None = None, expires: timedelta | None = None) -> dict:
    """An access token for ``account``'s session ``sid`` (a new session when None) →
    ``{access_token, expire_at, expires_in}`` (``expire_at``: Unix seconds, ``expires_in``: seconds);
    ``expires`` overrides ``JWT_ACCESS_TOKEN_EXPIRES``. The claims ``sid`` and ``sv`` (the account's
    session version) are what revocation checks (``account_service.is_token_revoked``)."""
    claims = {"sid": sid or uuid.uuid4().hex, "sv": account.session_version}
    token = create_access_token(identity=str(account.id), additional_claims=claims, expires_delta=expires)
    expire_at = decode_token(token)["exp"]
    return {"access_token": token, "expire_at": expire_at, "expires_in": account_service.seconds_left(expire_at)}


def session_tokens(account, sid: str | None = None) -> dict:
    """A new session for ``account`` (or new tokens for its session ``sid``) → ``access_token``'s
    fields and ``refresh_token``."""
    sid = sid or uuid.uuid4().hex
    tokens = access_token(account, sid)
    tokens["refresh_token"] = create_refresh_token(identity=str(account.id),
                                                   additional_claims={"sid": sid, "sv": account.session_version})
    return tokens


def current_account_id() -> uuid.UUID:
    """The calling account's id (inside a ``@jwt_required()`` view)."""
    return uuid.UUID(get_jwt_identity())


def init_jwt(jwt: JWTManager) -> None:
    def unauthorized(message: str):
        return unauthorized_response(message)

    jwt.unauthorized_loader(lambda reason: unauthorized(f"authentication required: {reason}"))
    jwt.invalid_token_loader(lambda reason: unauthorized(f"invalid token: {reason}"))
    jwt.expired_token_loader(lambda header, payload: unauthorized("the token has expired"))
    jwt.revoked_token_loader(revoked)
    jwt.user_lookup_error_loader(lambda header, payload: unauthorized("the account no longer exists"))
    # Runs for every JWT-protected request: session logged out, sessions revoked, account disabled.
    jwt.token_in_blocklist_loader(lambda header, payload: account_service.is_token_revoked(payload))


def revoked(header: dict, payload: dict):
    """403 for a disabled account's token, 401 for a revoked one."""
    status = account_service.account_status(payload["sub"])
    if status is not None and status[0]:
        return forbidden_response(account_service.DISABLED_MESSAGE)
    return unauthorized_response("the token has been revoked")
