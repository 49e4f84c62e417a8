"""Provider error types (no Flask, no services): services map them to ``llmops.errors``."""

from __future__ import annotations


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
