"""The one error handler: every error becomes the studio envelope with its real HTTP status —
or, on the OpenAI-compatible routes (``/v1``), OpenAI's ``{"error": {message, type, param, code}}``;
on seed 003's routes ``{"detail"}``, on seed 000's ``{"error"}`` / ``{"success": false, "message"}``.

* ``AppError`` subclasses (raised by services) carry their code and status;
* marshmallow ``ValidationError`` → 422 ``validate_error``: ``message`` is the first message
  (prefixed with its field), ``data`` maps every bad field (dotted path) to its messages;
* Werkzeug HTTP errors (404 route, 405, 413 body too large, 429 from flask-limiter) keep their
  status; Redis or the database out of reach → 503 naming it (``Retry-After: 1``); anything else
  is logged and answered 500 without internals.
"""

from __future__ import annotations

from flask import Flask, current_app, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from llmops.api.responses import envelope
from llmops.errors import AppError, ServiceUnavailableError

HTTP_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 422: "validate_error"}
OPENAI_BLUEPRINTS = ("openai", "voice_engine")
OPENAI_TYPES = {401: "invalid_request_error", 403: "permission_error", 404: "invalid_request_error",
                429: "rate_limit_error"}


DETAIL_BLUEPRINTS = ("caiqi",)  # seed 003: FastAPI-style {"detail": "..."}
SEED000_BLUEPRINTS = ("llm_backend",)  # seed 000: {"error": "..."}; its RAG routes {"success": false, "message"}


def _seed000_route() -> bool:
    return request.blueprint in SEED000_BLUEPRINTS


def seed000_error(message: str, status: int, fields: dict | None = None):
    """Seed 000's error bodies (Gin style): ``{"error": message}``, and on ``/api/rag/*``
    ``{"success": false, "message": message}``; ``fields`` names the bad fields. A bad request
    is 400 there (its documented status, also for "username already exists"), not 422 or 409."""
    status = 400 if status in (409, 422) else status
    body = {"success": False, "message": message} if request.path.startswith("/api/rag/") else {"error": message}
    if fields:
        body["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    return response


def _detail_route() -> bool:
    return request.blueprint in DETAIL_BLUEPRINTS


def detail_error(message: str, status: int):
    response = jsonify({"detail": message})
    response.status_code = status
    return response


def _openai_route() -> bool:
    return request.blueprint in OPENAI_BLUEPRINTS or request.path.startswith("/v1/")


def openai_error(message: str, status: int, type_: str | None = None, code: str | None = None,
                 param: str | None = None):
    """OpenAI's error body with the real status (docs/api.md B)."""
    if type_ is None:
        type_ = OPENAI_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    response = jsonify({"error": {"message": message, "type": type_, "param": param, "code": code}})
    response.status_code = status
    return response


def flatten_messages(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested ``{field: [msg] | {sub: ...}}`` → ``{"a.b": [msg, ...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = (prefix.rstrip(".") or "body") if key == "_schema" else f"{prefix}{key}"
            if isinstance(value, dict):
                flat.update(flatten_messages(value, f"{name}."))
            else:
                flat[name] = [str(m) for m in (value if isinstance(value, list) else [value])]
    else:
        flat[prefix.rstrip(".") or "body"] = [str(m) for m in (messages if isinstance(messages, list) else [messages])]
    return flat


def handle_app_error(exc: AppError):
    if _seed000_route():
        return seed000_error(exc.message, exc.status, exc.data if isinstance(exc.data, dict) and exc.data else None)
    if _detail_route():
        return detail_error(exc.message, exc.status)
    if _openai_route():
        if exc.status == 422:  # OpenAI answers 400 for an invalid parameter, naming it
            param = exc.param or next(iter(exc.data), None) if isinstance(exc.data, dict) else exc.param
            return openai_error(exc.message, 400, "invalid_request_error", None, param)
        return openai_error(exc.message, exc.status, exc.openai_type, exc.openai_code, exc.param)
    return envelope(exc.code, exc.data, exc.message, exc.status)


def handle_validation_error(exc: ValidationError):
    fields = flatten_messages(exc.messages)
    first_field, first_messages = next(iter(fields.items()), ("body", ["invalid input"]))
    if _seed000_route():
        return seed000_error(f"{first_field}: {first_messages[0]}", 400, fields)
    if _detail_route():
        return detail_error(f"{first_field}: {first_messages[0]}", 422)
    if _openai_route():  # OpenAI answers 400 for a malformed request, naming the parameter
        return openai_error(f"{first_field}: {first_messages[0]}", 400, "invalid_request_error", None, first_field)
    return envelope("validate_error", fields, f"{first_field}: {first_messages[0]}", 422)


def handle_http_exception(exc: HTTPException):
    status = exc.code or 500
    message = exc.description if isinstance(exc.description, str) else exc.name
    if status == 429:
        message = f"too many requests: {exc.description}"
    if _seed000_route():
        return seed000_error(message, status)
    if _detail_route():
        return detail_error(message, status)
    if _openai_route():
        return openai_error(message, status)
    return envelope(HTTP_CODES.get(status, "fail"), {}, message, status)


def unavailable_service(exc: BaseException) -> str | None:
    """The backing service an exception says is unreachable — "Redis" (a connection error or
    timeout of redis-py) or "the database" (a lost or refused database connection) — else None."""
    import redis
    import sqlalchemy.exc

    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return "Redis"
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and (exc.connection_invalidated
                                                        or isinstance(exc, sqlalchemy.exc.OperationalError)):
        return "the database"
    return None


def handle_unexpected(exc: Exception):
    service = unavailable_service(exc)
    if service is not None:  # a clear, retryable 503 rather than an internal error
        current_app.logger.warning("%s is unavailable: %s", service, exc)
        response = handle_app_error(ServiceUnavailableError(
            f"The service is temporarily unavailable ({service} cannot be reached); retry shortly"))
        response.headers["Retry-After"] = "1"
        return response
    current_app.logger.exception("unhandled error")
    if _seed000_route():
        return seed000_error("internal server error", 500)
    if _detail_route():
        return detail_error("internal server error", 500)
    if _openai_route():
        return openai_error("internal server error", 500)
    return envelope("fail", {}, "internal server error", 500)


def unauthorized_response(message: str):
    """401 in the shape of the route's family (JWT problems are reported through this)."""
    if _seed000_route():
        return seed000_error(message, 401)
    if _detail_route():
        return detail_error(message, 401)
    return envelope("unauthorized", {}, message, 401)


def forbidden_response(message: str):
    """403 in the shape of the route's family (a disabled account's token)."""
    if _seed000_route():
        return seed000_error(message, 403)
    if _detail_route():
        return detail_error(message, 403)
    return envelope("forbidden", {}, message, 403)


def init_app(app: Flask) -> None:
    app.register_error_handler(AppError, handle_app_error)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
