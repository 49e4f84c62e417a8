"""Relay of OpenAI-compatible requests to an upstream, for the gateway's hot path.

The studio's chat uses the ``openai`` SDK (``chat.py``); the gateway does not: it forwards the
client's JSON unchanged (unknown fields included) and relays the upstream's SSE lines as they
arrive, so building and validating SDK objects per chunk would only add latency. One pooled
``httpx.Client`` per upstream. Errors are ``llmops.providers.errors`` types; ``retryable`` marks
the failures worth trying the next fallback for (429, 5xx, timeouts, connection errors), and only
before any byte reached the client.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from llmops.providers.errors import (
    ProviderBadRequest,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    auth_failed,
)


class RelayClient:
    """POSTs to ``base_url`` + path with the upstream's key; thread- and greenlet-safe."""

    def __init__(self, base_url: str, api_key: str | None, *, connect_timeout: float = 5.0,
                 read_timeout: float = 60.0, max_connections: int = 1000):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/", headers=headers,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    def post_json(self, path: str, body: dict) -> dict:
        """A non-streaming call → the upstream's JSON body. Raises ``ProviderError`` subclasses."""
        try:
            response = self._client.post(path, json=body)
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(f"the upstream timed out ({exc.__class__.__name__})", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"the upstream could not be reached ({exc.__class__.__name__})",
                                      retryable=True) from exc
        if response.status_code >= 400:
            raise status_error(response.status_code, response.content, str(self._client.base_url))
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderError("the upstream answered with invalid JSON", response.status_code, True) from exc

    @contextmanager
    def stream_lines(self, path: str, body: dict, total_timeout: float | None = None) -> Iterator[Iterator[str]]:
        """Open a streaming call; yields an iterator over the SSE ``data:`` payloads (strings,
        ``[DONE]`` included) as they arrive. Errors before the first line raise at open; errors
        while iterating (a reset connection, ``read_timeout`` of silence, ``total_timeout``
        seconds since the call started) raise ``ProviderTimeout``/``ProviderUnavailable`` from
        the iterator, with ``retryable`` False (bytes may already have reached the client)."""
        deadline = time.monotonic() + total_timeout if total_timeout else None
        try:
            with self._client.stream("POST", path, json=body) as response:
                if response.status_code >= 400:
                    raise status_error(response.status_code, response.read(), str(self._client.base_url))
                yield _data_lines(response, deadline, total_timeout)
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(f"the upstream timed out ({exc.__class__.__name__})", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"the upstream connection failed ({exc.__class__.__name__})",
                                      retryable=True) from exc

    def close(self) -> None:
        self._client.close()


def _data_lines(response: httpx.Response, deadline: float | None = None,
                total_timeout: float | None = None) -> Iterator[str]:
    try:
        for line in response.iter_lines():
            if line.startswith("data:"):
                yield line[5:].strip()
            if deadline is not None and time.monotonic() > deadline:
                raise ProviderTimeout(f"no complete answer within {total_timeout:g} s")
    except httpx.TimeoutException as exc:
        raise ProviderTimeout(f"the upstream stopped sending data ({exc.__class__.__name__})") from exc
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"the upstream connection failed mid-stream ({exc.__class__.__name__})") from exc


def status_error(status: int, content: bytes, where: str = "") -> ProviderError:
    """The error for an upstream HTTP status, with the upstream's message — except for 401/403,
    whose text may quote the operator's key: logged, and replaced by a generic 502."""
    message = _message(content)
    if status in (401, 403):
        return auth_failed(status, message, where)
    if status == 429:
        return ProviderRateLimited(f"the upstream is rate limiting: {message}", status, True)
    if status >= 500 or status == 408:
        return ProviderError(f"the upstream failed ({status}): {message}", status, True)
    return ProviderBadRequest(message, status)


def _message(content: bytes) -> str:
    try:
        body = json.loads(content)
    except ValueError:
        return content[:300].decode(errors="replace")
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, dict):
        return str(error.get("message") or error.get("detail") or error)[:500]
    return str(error)[:500]
