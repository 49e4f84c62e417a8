"""The one error handler: every error becomes the studio envelope with its real HTTP status.

* ``AppError`` subclasses (raised by services) carry their code and status;
* marshmallow ``ValidationError`` → 422 ``validate_error``: ``message`` is the first message
  (prefixed with its field), ``data`` maps every bad field (dotted path) to its messages;
* Werkzeug HTTP errors (404 route, 405, 413 body too large, 429 from flask-limiter) keep their
  status; anything else is logged and answered 500 without internals.
"""

from __future__ import annotations

from flask import Flask, current_app
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from llmops.api.responses import envelope
from llmops.errors import AppError

HTTP_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 422: "validate_error"}


def flatten_messages(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested ``{field: [msg] | {sub: ...}}`` → ``{"a.b": [msg, ...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = "body" if key == "_schema" and not prefix else f"{prefix}{key}"
            if isinstance(value, dict):
                flat.update(flatten_messages(value, f"{name}."))
            else:
                flat[name] = [str(m) for m in (value if isinstance(value, list) else [value])]
    else:
        flat[prefix.rstrip(".") or "body"] = [str(m) for m in (messages if isinstance(messages, list) else [messages])]
    return flat


def handle_app_error(exc: AppError):
    return envelope(exc.code, exc.data, exc.message, exc.status)


def handle_validation_error(exc: ValidationError):
    fields = flatten_messages(exc.messages)
    first_field, first_messages = next(iter(fields.items()), ("body", ["invalid input"]))
    return envelope("validate_error", fields, f"{first_field}: {first_messages[0]}", 422)


def handle_http_exception(exc: HTTPException):
    status = exc.code or 500
    message = exc.description if isinstance(exc.description, str) else exc.name
    if status == 429:
        message = f"too many requests: {exc.description}"
    return envelope(HTTP_CODES.get(status, "fail"), {}, message, status)


def handle_unexpected(exc: Exception):
    current_app.logger.exception("unhandled error")
    return envelope("fail", {}, "internal server error", 500)


def init_app(app: Flask) -> None:
    app.register_error_handler(AppError, handle_app_error)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
