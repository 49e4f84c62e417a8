"""JWT wiring (flask-jwt-extended): identity = account UUID, revocation through the state store,
and 401 envelopes for every token problem."""

from __future__ import annotations

import uuid

from flask_jwt_extended import JWTManager, get_jwt_identity

from llmops.api.responses import envelope
from llmops.services import account_service


def current_account_id() -> uuid.UUID:
    """The calling account's id (inside a ``@jwt_required()`` view)."""
    return uuid.UUID(get_jwt_identity())


def init_jwt(jwt: JWTManager) -> None:
    def unauthorized(message: str):
        return envelope("unauthorized", {}, message, 401)

    jwt.unauthorized_loader(lambda reason: unauthorized(f"authentication required: {reason}"))
    jwt.invalid_token_loader(lambda reason: unauthorized(f"invalid token: {reason}"))
    jwt.expired_token_loader(lambda header, payload: unauthorized("the token has expired"))
    jwt.revoked_token_loader(lambda header, payload: unauthorized("the token has been revoked"))
    jwt.user_lookup_error_loader(lambda header, payload: unauthorized("the account no longer exists"))
    jwt.token_in_blocklist_loader(lambda header, payload: account_service.is_token_revoked(payload["jti"]))
