"""The OpenAI-compatible API under ``/v1`` (docs/api.md B): API-key auth, OpenAI request and error
shapes (the error handler answers ``{"error": {message, type, param, code}}`` for this blueprint)."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import ValidationError

from llmops.api.auth import api_key_bucket, api_key_required
from llmops.api.responses import json_body
from llmops.api.sse import json_or_sse
from llmops.extensions import limiter
from llmops.providers.relay import dumps
from llmops.schemas.openai import AppChatSchema, ChatCompletionSchema, EmbeddingSchema
from llmops.services.gateway import billing_service, gateway_service

bp = Blueprint("openai", __name__, url_prefix="/v1")
# Schema instances are reusable for load(); building one per request costs ~0.2 ms on the hot path.
CHAT_SCHEMA, EMBEDDING_SCHEMA, APP_CHAT_SCHEMA = ChatCompletionSchema(), EmbeddingSchema(), AppChatSchema()


def _json(result: dict) -> Response:
    """A JSON answer serialised by orjson (the gateway's hot path: ``jsonify`` takes several times longer)."""
    return Response(dumps(result), mimetype="application/json")


# The fields ChatCompletionSchema checks; ``_plainly_valid_chat`` knows them all, or it is not used.
_CHAT_FIELDS = {"model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
                "temperature", "top_p"}
_FAST_CHAT_CHECK = set(CHAT_SCHEMA.fields) == _CHAT_FIELDS
_ROLES = frozenset(CHAT_SCHEMA.fields["messages"].inner.schema.fields["role"].validators[0].choices)


def _plainly_valid_chat(body: dict) -> bool:
    """True when ``body`` certainly passes ``ChatCompletionSchema`` — the common request, checked
    here without marshmallow (a fifth of the gateway's own CPU time per request); anything else
    (a bool where a number goes, a numeric string, ...) goes through the schema, which names what is
    wrong."""
    model, messages = body.get("model"), body.get("messages")
    if not (type(model) is str and 1 <= len(model) <= 128 and type(messages) is list and 1 <= len(messages) <= 2000):
        return False
    for message in messages:
        if type(message) is not dict or message.get("role") not in _ROLES:
            return False
    stream, options = body.get("stream"), body.get("stream_options")
    if not (stream is None or type(stream) is bool) or not (options is None or type(options) is dict):
        return False
    for name, low, high in (("max_tokens", 1, 1_000_000), ("max_completion_tokens", 1, 1_000_000)):
        value = body.get(name)
        if value is not None and not (type(value) is int and low <= value <= high):
            return False
    for name, high in (("temperature", 2), ("top_p", 1)):
        value = body.get(name)
        if value is not None and not (type(value) in (int, float) and 0 <= value <= high):
            return False  # NaN and infinities fail the range check too
    return True


def _validated(schema, body: dict) -> dict:
    """Check ``body`` and return it unchanged (unknown fields go upstream as sent)."""
    if not isinstance(body, dict):
        raise ValidationError({"_schema": ["the body must be a JSON object"]})
    schema.load(body)
    return body


@bp.post("/chat/completions")
@api_key_required(check_account=False)  # the reservation checks the account: one Redis round trip for both
def chat_completions(principal):
    """OpenAI chat completion through the gateway (SSE chunks when stream is true)."""
    body = json_body()
    if not (_FAST_CHAT_CHECK and _plainly_valid_chat(body)):
        _validated(CHAT_SCHEMA, body)
    return json_or_sse(gateway_service.chat_completions(principal, body, check_account=True), json=_json,
                       framed=True)


@bp.get("/models")
@api_key_required
def models(principal):
    """OpenAI model list: the models the key may use, aliases included."""
    return jsonify(gateway_service.list_models(principal))


def _billing_limit() -> str:
    return current_app.config["BILLING_QUERY_RATE_LIMIT"]


# seed 004's billing_query_limit: one budget per key for both billing routes
_billing_queries = limiter.shared_limit(_billing_limit, scope="billing-query", key_func=api_key_bucket)


@bp.get("/dashboard/billing/subscription")
@_billing_queries
@api_key_required
def billing_subscription(principal):
    """One-api billing: the key's quota as a subscription (USD)."""
    return jsonify(billing_service.subscription(principal))


@bp.get("/dashboard/billing/usage")
@_billing_queries
@api_key_required
def billing_usage(principal):
    """One-api billing: the key's usage between two dates (US cents)."""
    return jsonify(billing_service.billing_usage(principal, request.args.get("start_date"),
                                                 request.args.get("end_date")))


@bp.post("/embeddings")
@api_key_required
def embeddings(principal):
    """OpenAI embeddings (float or base64)."""
    return jsonify(gateway_service.embeddings(principal, _validated(EMBEDDING_SCHEMA, json_body())))


@bp.post("/apps/<uuid:app_id>/chat")
@api_key_required
def app_chat(principal, app_id: uuid.UUID):
    """Chat with a published app through an API key (blocking, or the studio's SSE events)."""
    data = APP_CHAT_SCHEMA.load(json_body())
    return json_or_sse(gateway_service.app_chat(principal, app_id, **data))
