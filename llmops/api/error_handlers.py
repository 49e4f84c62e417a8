"""The one error handler: every error becomes the studio envelope with its real HTTP status —
or, on the OpenAI-compatible routes (``/v1``), OpenAI's ``{"error": {message, type, param, code}}``;
on seed 003's routes ``{"detail"}``, on seed 000's ``{"error"}`` / ``{"success": false, "message"}``.

* ``AppError`` subclasses (raised by services) carry their code and status;
* marshmallow ``ValidationError`` → 422 ``validate_error``: ``message`` is the first message
  (prefixed with its field), ``data`` maps every bad field (dotted path) to its messages;
* Werkzeug HTTP errors (404 route, 405, 413 body too large, 429 from flask-limiter) keep their
  status; Redis or the database out of reach → 503 naming it (``Retry-After: 1``); anything else
  is logged and answered 500 without internals.

Two tables do it: ``PROBLEMS`` turns an exception into a ``Problem`` (status, message and what
each shape needs) and ``SHAPES`` picks the body for the route's blueprint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

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


def detail_error(message: str, status: int):
    response = jsonify({"detail": message})
    response.status_code = status
    return response


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


@dataclass(frozen=True)
class Problem:
    """One error before it takes the shape of its route's family: the studio envelope's
    ``code``/``data``, seed 000's ``fields``, and on ``/v1`` OpenAI's ``type``/``code``/``param``
    (with ``openai_status`` when OpenAI answers another status; 400 for an invalid parameter)."""

    status: int
    message: str
    code: str = "fail"
    data: Any = field(default_factory=dict)
    fields: dict | None = None
    openai_status: int | None = None
    openai_type: str | None = None
    openai_code: str | None = None
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _from_app_error(exc: AppError) -> Problem:
    fields = exc.data if isinstance(exc.data, dict) and exc.data else None
    if exc.status == 422:  # OpenAI answers 400 for an invalid parameter, naming it
        param = exc.param or next(iter(exc.data), None) if isinstance(exc.data, dict) else exc.param
        openai = {"openai_status": 400, "openai_type": "invalid_request_error", "param": param}
    else:
        openai = {"openai_type": exc.openai_type, "openai_code": exc.openai_code, "param": exc.param}
    return Problem(exc.status, exc.message, exc.code, exc.data, fields, **openai)


def _from_validation_error(exc: ValidationError) -> Problem:
    fields = flatten_messages(exc.messages)
    first_field, first_messages = next(iter(fields.items()), ("body", ["invalid input"]))
    return Problem(422, f"{first_field}: {first_messages[0]}", "validate_error", fields, fields, openai_status=400,
                   openai_type="invalid_request_error", param=first_field)


def _from_http_exception(exc: HTTPException) -> Problem:
    status = exc.code or 500
    message = exc.description if isinstance(exc.description, str) else exc.name
    if status == 429:
        message = f"too many requests: {exc.description}"
    return Problem(status, message, HTTP_CODES.get(status, "fail"))


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


def _from_unexpected(exc: Exception) -> Problem:
    service = unavailable_service(exc)
    if service is not None:  # a clear, retryable 503 rather than an internal error
        current_app.logger.warning("%s is unavailable: %s", service, exc)
        problem = _from_app_error(ServiceUnavailableError(
            f"The service is temporarily unavailable ({service} cannot be reached); retry shortly"))
        return replace(problem, headers={"Retry-After": "1"})
    current_app.logger.exception("unhandled error")
    return Problem(500, "internal server error")


# Exception family → its Problem; the most specific class in an exception's MRO wins (as in Flask).
PROBLEMS: dict[type[Exception], Callable[[Any], Problem]] = {
    AppError: _from_app_error,
    ValidationError: _from_validation_error,
    HTTPException: _from_http_exception,
    Exception: _from_unexpected,
}


def _envelope(problem: Problem):
    return envelope(problem.code, problem.data, problem.message, problem.status)


def _seed000(problem: Problem):
    return seed000_error(problem.message, problem.status, problem.fields)


def _detail(problem: Problem):
    return detail_error(problem.message, problem.status)


def _openai(problem: Problem):
    return openai_error(problem.message, problem.openai_status or problem.status, problem.openai_type,
                        problem.openai_code, problem.param)


# Blueprint → the shape of its errors; other routes under /v1/ answer OpenAI's, the rest the envelope.
SHAPES: dict[str, Callable[[Problem], Any]] = {
    **{name: _seed000 for name in SEED000_BLUEPRINTS},
    **{name: _detail for name in DETAIL_BLUEPRINTS},
    **{name: _openai for name in OPENAI_BLUEPRINTS},
}


def render(problem: Problem, openai: bool = True):
    """``problem`` in the shape of the current route's family (``openai=False``: the envelope
    instead of OpenAI's shape, as for the studio's JWT errors)."""
    shape = SHAPES.get(request.blueprint or "")
    if shape is None and request.path.startswith("/v1/"):
        shape = _openai
    if shape is None or (shape is _openai and not openai):
        shape = _envelope
    response = shape(problem)
    response.headers.update(problem.headers)
    return response


def handle(exc: Exception):
    """The app's error handler: the exception's ``Problem`` (``PROBLEMS``) in its route's shape."""
    to_problem = next(PROBLEMS[cls] for cls in type(exc).__mro__ if cls in PROBLEMS)
    return render(to_problem(exc))


handle_app_error = handle_http_exception = handle


def unauthorized_response(message: str):
    """401 in the shape of the route's family (JWT problems are reported through this)."""
    return render(Problem(401, message, "unauthorized"), openai=False)


def forbidden_response(message: str):
    """403 in the shape of the route's family (a disabled account's token)."""
    return render(Problem(403, message, "forbidden"), openai=False)


def init_app(app: Flask) -> None:
    """Register ``handle`` for every family in ``PROBLEMS``."""
    for family in PROBLEMS:
        app.register_error_handler(family, handle)
