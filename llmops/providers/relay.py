"""Relay of OpenAI-compatible requests to an upstream, for the gateway's hot path.

The studio's chat uses the ``openai`` SDK (``chat.py``); the gateway does not: it forwards the
client's JSON unchanged (unknown fields included) and relays the upstream's SSE lines as they
arrive, so building and validating SDK objects per chunk would only add latency. One
``urllib3`` connection pool per upstream (keep-alive, no retries, no redirects): on the gateway's
benchmark (B1) httpx's request and response objects cost several times urllib3's per call.
Bodies are (de)serialised with ``orjson``. ``HTTP(S)_PROXY`` / ``NO_PROXY`` from the environment
are honoured, as the ``openai`` SDK does.

Errors are ``llmops.providers.errors`` types; ``retryable`` marks the failures worth trying the
next fallback for (429, 5xx, timeouts, connection errors), and only before any byte reached the
client.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import orjson
import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from llmops.providers.errors import (
    ProviderBadRequest,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    auth_failed,
)

READ_SIZE = 65536


def dumps(value) -> bytes:
    """JSON bytes of ``value``: orjson, or the standard library for what orjson refuses (integers
    past 64 bits, non-string keys) so a body the client could send always goes upstream."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def loads(data: bytes | str):
    """Parse JSON: orjson, or the standard library for what only it accepts (NaN, huge integers).
    Raises ``ValueError``."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


class RelayClient:
    """POSTs to ``base_url`` + path with the upstream's key; thread- and greenlet-safe."""

    def __init__(self, base_url: str, api_key: str | None, *, connect_timeout: float = 5.0,
                 read_timeout: float = 60.0, max_connections: int = 1000):
        url = urllib3.util.parse_url(base_url.rstrip("/"))
        self.base_url = base_url.rstrip("/") + "/"
        self._prefix = (url.path or "").rstrip("/") + "/"
        self._headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                         **({"Authorization": f"Bearer {api_key}"} if api_key else {})}
        options = {"maxsize": max_connections, "block": False, "retries": False,
                   "timeout": urllib3.Timeout(connect=connect_timeout, read=read_timeout)}
        if url.scheme == "https":
            import certifi  # the same CA bundle the openai SDK uses

            options["ca_certs"] = certifi.where()
        proxy = urllib.request.getproxies().get(url.scheme or "http")
        if proxy and not urllib.request.proxy_bypass(url.host or ""):
            self._manager = urllib3.ProxyManager(proxy, num_pools=4, **options)
        else:
            self._manager = urllib3.PoolManager(num_pools=4, **options)
        self._pool = self._manager.connection_from_url(self.base_url)

    def _open(self, path: str, body: dict, stream: bool) -> urllib3.BaseHTTPResponse:
        try:
            return self._pool.urlopen("POST", self._prefix + path, body=dumps(body), headers=self._headers,
                                      retries=False, redirect=False, preload_content=not stream,
                                      assert_same_host=False)
        except Urllib3Timeout as exc:
            raise ProviderTimeout(f"the upstream timed out ({exc.__class__.__name__})", retryable=True) from exc
        except (Urllib3Error, OSError) as exc:
            raise ProviderUnavailable(f"the upstream could not be reached ({exc.__class__.__name__})",
                                      retryable=True) from exc

    def post_json(self, path: str, body: dict) -> dict:
        """A non-streaming call → the upstream's JSON object. Raises ``ProviderError`` subclasses
        (also for a body that is not JSON or not an object: the gateway answers 502)."""
        response = self._open(path, body, stream=False)
        if response.status >= 400:
            raise status_error(response.status, response.data, self.base_url)
        try:
            answer = loads(response.data)
        except ValueError as exc:
            raise ProviderError("the upstream answered with invalid JSON", response.status, True) from exc
        if not isinstance(answer, dict):
            raise ProviderError(f"the upstream answered with JSON that is not an object ({type(answer).__name__})",
                                response.status, True)
        return answer

    @contextmanager
    def stream_lines(self, path: str, body: dict,
                     total_timeout: float | None = None) -> Iterator[Iterator[list[bytes]]]:
        """Open a streaming call; yields an iterator over the SSE ``data:`` payloads (bytes,
        ``[DONE]`` included) as they arrive: one list per read from the socket, so what arrived
        together can be sent on together. Errors before the first line raise at open; errors
        while iterating (a reset connection, ``read_timeout`` of silence, ``total_timeout``
        seconds since the call started) raise ``ProviderTimeout``/``ProviderUnavailable`` from
        the iterator, with ``retryable`` False (bytes may already have reached the client).
        Leaving the block before the end closes the upstream connection (the upstream stops
        generating); a stream read to its ``[DONE]`` gives the connection back to the pool."""
        deadline = time.monotonic() + total_timeout if total_timeout else None
        response = self._open(path, body, stream=True)
        lines = DataLines(response, deadline, total_timeout)
        try:
            if response.status >= 400:
                try:
                    content = response.read()
                except (Urllib3Error, OSError):
                    content = b""
                raise status_error(response.status, content, self.base_url)
            yield lines
        finally:
            if not (lines.complete or lines.done and _drain(response)):
                response.close()  # the upstream stops generating; the pool opens a new connection
            response.release_conn()

    def close(self) -> None:
        self._manager.clear()


class DataLines:
    """The ``data:`` payloads of an SSE response, read as they arrive (``read1``: whatever the
    socket has, never waiting for a full buffer), one list per read. ``done`` once ``[DONE]``
    was read, ``complete`` once the body was read to its end."""

    def __init__(self, response: urllib3.BaseHTTPResponse, deadline: float | None, total_timeout: float | None):
        self.response, self.deadline, self.total_timeout = response, deadline, total_timeout
        self.done = self.complete = False

    def __iter__(self) -> Iterator[list[bytes]]:
        response, deadline = self.response, self.deadline
        rest = b""
        try:
            while True:
                data = response.read1(READ_SIZE)
                if not data:
                    break
                lines = (rest + data).split(b"\n") if rest else data.split(b"\n")
                rest = lines.pop()
                payloads = [line[5:].strip() for line in lines if line.startswith(b"data:")]
                if payloads:
                    if b"[DONE]" in payloads:
                        self.done = True
                    yield payloads
                if deadline is not None and time.monotonic() > deadline:
                    raise ProviderTimeout(f"no complete answer within {self.total_timeout:g} s")
        except Urllib3Timeout as exc:
            raise ProviderTimeout(f"the upstream stopped sending data ({exc.__class__.__name__})") from exc
        except (Urllib3Error, OSError) as exc:
            raise ProviderUnavailable(f"the upstream connection failed mid-stream ({exc.__class__.__name__})") from exc
        self.complete = True
        if rest.startswith(b"data:"):
            yield [rest[5:].strip()]


# After ``[DONE]`` the rest of the body (the chunked encoding's last chunk) is read for at most
# this long and this many bytes, so the connection can be reused; an upstream that sends more or
# keeps the response open costs a new connection, never a wait.
DRAIN_TIMEOUT_S = 0.05
DRAIN_MAX_BYTES = 65536


def _drain(response: urllib3.BaseHTTPResponse) -> bool:
    """Read what is left of a response after its ``[DONE]`` → True when it ended (the connection
    can go back to the pool)."""
    connection = response.connection
    if connection is None:
        return False
    try:
        connection.timeout = DRAIN_TIMEOUT_S  # the pool sets its own timeouts on the next request
        left = DRAIN_MAX_BYTES
        while left > 0:
            data = response.read1(READ_SIZE)
            if not data:
                return True
            left -= len(data)
    except (Urllib3Error, OSError):
        pass
    return False


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
