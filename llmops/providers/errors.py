"""Provider error types (no Flask, no services): services map them to ``llmops.errors``."""

from __future__ import annotations

import logging

logger = logging.getLogger("llmops.providers")


class ProviderError(Exception):
    """An upstream model call failed; ``status`` is the upstream HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable


class ProviderTimeout(ProviderError):
    """Connect, idle (between stream chunks) or total deadline exceeded."""


class ProviderUnavailable(ProviderError):
    """The upstream could not be reached (connection refused, DNS, reset)."""


class ProviderRateLimited(ProviderError):
    """The upstream answered 429 after our retries."""


class ProviderBadRequest(ProviderError):
    """The upstream rejected the request (4xx other than 429): not retried."""


class ModelNotFound(ProviderError):
    """The registry has no such provider or model."""


class ProviderAuthFailed(ProviderError):
    """The upstream refused our credentials (401/403): the operator's problem, not the caller's.

    Reaches clients as a 502 with a generic message; the upstream's own text, which may quote part
    of the operator's key (``Incorrect API key provided: sk-…abcd``), only goes to the server log."""


def auth_failed(status: int, upstream_message: str, where: str = "") -> ProviderAuthFailed:
    """Log the upstream's 401/403 server-side → the error callers see (status 502, retryable)."""
    logger.error("upstream %s refused the server's credentials (%s): %s", where or "provider", status,
                 upstream_message[:500])
    return ProviderAuthFailed(f"the model provider refused the server's credentials ({status}); "
                              "the operator has been told", 502, True)
