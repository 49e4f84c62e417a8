"""Error types raised by services; ``api/error_handlers.py`` turns them into responses.

No Flask imports here: services and tasks raise these, views never catch them.
Each error carries the envelope ``code`` (docs/api.md A) and the real HTTP status.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base error: ``code`` is one of the six envelope codes, ``status`` the HTTP status.

    ``openai_type``/``openai_code``/``param`` fill OpenAI's error shape on the ``/v1`` routes
    (docs/api.md B); when unset they are derived from the status.
    """

    code = "fail"
    status = 400
    default_message = "Request failed"
    openai_type: str | None = None
    openai_code: str | None = None
    param: str | None = None

    def __init__(self, message: str | None = None, data: Any = None, status: int | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.data = data if data is not None else {}
        if status is not None:
            self.status = status


class FailError(AppError):
    code, status, default_message = "fail", 400, "Request failed"


class ConflictError(AppError):
    code, status, default_message = "fail", 409, "Resource already exists"


class NotFoundError(AppError):
    code, status, default_message = "not_found", 404, "Resource not found"


class UnauthorizedError(AppError):
    code, status, default_message = "unauthorized", 401, "Authentication required"


class ForbiddenError(AppError):
    code, status, default_message = "forbidden", 403, "Permission denied"


class ValidateError(AppError):
    """``data`` maps every bad field to its list of messages."""

    code, status, default_message = "validate_error", 422, "Invalid request data"


class TooManyRequestsError(AppError):
    code, status, default_message = "fail", 429, "Too many requests"


class UpstreamError(AppError):
    """A model provider failed (after retries); 502 for errors, 504 for timeouts."""

    code, status, default_message = "fail", 502, "The model provider failed"


class UpstreamTimeoutError(UpstreamError):
    status, default_message = 504, "The model provider timed out"


class ServiceUnavailableError(AppError):
    code, status, default_message = "fail", 503, "Service unavailable"


class InvalidApiKeyError(UnauthorizedError):
    """A missing, unknown, disabled, deleted or expired API key (the key is never echoed)."""

    default_message, openai_code = "Incorrect API key provided", "invalid_api_key"


class ModelNotAllowedError(ForbiddenError):
    default_message, openai_type, openai_code = "This API key may not use the model", "permission_error", "model_not_allowed"


class ModelNotFoundError(NotFoundError):
    default_message, openai_code = "The model does not exist", "model_not_found"


class QuotaExceededError(TooManyRequestsError):
    default_message, openai_type, openai_code = "The API key's quota is used up", "insufficient_quota", "insufficient_quota"


class RateLimitedError(TooManyRequestsError):
    default_message, openai_type, openai_code = "Rate limit reached", "rate_limit_error", "rate_limit_exceeded"
