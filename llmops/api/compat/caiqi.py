"""Seed 003's LLM service (docs/api.md C3): ``/api/v1/chat/completions``, ``/api/v1/vision/completions``,
``/api/v1/models``, with ``{"detail": ...}`` errors (the error handler answers this shape here).

The seed's service had no authentication (an internal service). Here a request is charged to the
API key it sends (``Authorization: Bearer``) or, when it sends none, to the key configured in
``SEED003_API_KEY`` — so its existing clients work unchanged while quota, limits and usage still
apply. Without either the answer is 401. Keyless requests are accepted only from
``SEED003_ALLOWED_NETWORKS`` (default: loopback; 403 otherwise) and ``SEED003_RATE_LIMIT`` times
per client address (429). Chat and models go through the same gateway service as
``/v1``; the default model is the admin's active one (``POST /admin/models/active``).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from llmops.api.auth import api_key_required
from llmops.api.responses import json_body
from llmops.api.security import address_in, client_address
from llmops.api.sse import json_or_sse
from llmops.errors import FailError, ForbiddenError, InvalidApiKeyError
from llmops.extensions import limiter
from llmops.schemas.compat.caiqi import Seed003ChatSchema
from llmops.services.core import model_service
from llmops.services.gateway import gateway_service, vision_service

bp = Blueprint("caiqi", __name__, url_prefix="/api/v1")


CHAT_SCHEMA = Seed003ChatSchema()


def _credentials() -> str:
    """The request's ``Authorization``, or (none sent) seed 003's configured key — for loopback /
    ``SEED003_ALLOWED_NETWORKS`` callers only."""
    header = request.headers.get("Authorization")
    if not header:
        configured = current_app.config["SEED003_API_KEY"]
        if not configured:
            raise InvalidApiKeyError("no API key: send Authorization: Bearer <key>, or configure SEED003_API_KEY")
        if not address_in(client_address(), current_app.config["SEED003_ALLOWED_NETWORKS"]):
            raise ForbiddenError("keyless requests are not accepted from this address: send Authorization: Bearer <key>")
        header = f"Bearer {configured}"
    return header


seed003_key_required = api_key_required(credentials=_credentials)


def _keyless_limit() -> str:
    return current_app.config["SEED003_RATE_LIMIT"]


def _has_key() -> bool:
    return bool(request.headers.get("Authorization"))


keyless_limit = limiter.limit(_keyless_limit, exempt_when=_has_key)


@bp.post("/chat/completions")
@keyless_limit
@seed003_key_required
def chat_completions(principal):
    """Seed 003: chat completion (OpenAI shape; keyless callers only from allowed networks)."""
    body = json_body()
    data = CHAT_SCHEMA.load(body)
    model = data["model"] or model_service.active_model_name("language")
    result = gateway_service.chat_completions(principal, {**body, "model": model, "stream": data["stream"]},
                                              surface="seed003")
    return json_or_sse(result, framed=True)


@bp.post("/vision/completions")
@keyless_limit
@seed003_key_required
def vision_completions(principal):
    """Seed 003: a completion about an image (base64 or URL) on the vision model."""
    upload = request.files.get("image")
    if upload is None:
        raise FailError("image: a file is required (multipart field 'image')")
    image = upload.read(current_app.config["UPLOAD_MAX_BYTES"] + 1)
    if len(image) > current_app.config["UPLOAD_MAX_BYTES"]:
        raise FailError("image: the file is too large", status=413)
    return jsonify(vision_service.recognize(principal, image, request.form.get("model") or None))


@bp.get("/models")
@keyless_limit
@seed003_key_required
def models(principal):
    """Seed 003: the models it serves, with the active one."""
    return jsonify(gateway_service.list_models(principal))
