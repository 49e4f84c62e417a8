"""Outgoing HTTP calls made for a tool (custom API tools, the URL fetcher).

Every call: ``http``/``https`` only; the host is resolved once and every address checked
(``providers.safe_fetch.resolve_public``: loopback, private, link-local — 169.254.169.254 —,
shared, reserved and IPv6 loopback are refused unless ``allow_private``), then the request is sent
to the checked address (the name kept for ``Host`` and TLS), so a second DNS answer cannot swap
in an internal address. Redirects are followed by hand, at most ``max_redirects``, only to the
**same host** (a redirect elsewhere is refused, ``UnsafeUrlError``), each target checked again.
The body is read up to ``max_bytes`` within ``timeout_s`` in total. No Flask imports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from llmops.providers.safe_fetch import FetchFailed, UnsafeUrlError, _parse, resolve_public

__all__ = ["FetchFailed", "HttpResult", "UnsafeUrlError", "request"]


@dataclass
class HttpResult:
    """A finished call: HTTP ``status``, ``content_type`` and the body decoded as text."""

    status: int
    content_type: str
    text: str
    url: str


def request(method: str, url: str, *, params: dict | None = None, headers: dict | None = None,
            cookies: dict | None = None, json_body: dict | None = None, timeout_s: float = 10.0,
            max_bytes: int = 512 * 1024, allow_private: bool = False, max_redirects: int = 3,
            allowed_hosts: list[str] | None = None) -> HttpResult:
    """Send one request as described above → ``HttpResult`` (any HTTP status; the caller decides).

    ``allowed_hosts``: when given, the URL's host (and every redirect's) must be one of them or a
    subdomain of one. Raises ``UnsafeUrlError`` (refused URL or address) or ``FetchFailed``
    (connection, time or size limit)."""
    deadline = time.monotonic() + timeout_s
    current = _parse(url)
    first_host = current.host
    headers = {k: v for k, v in (headers or {}).items() if k.lower() not in ("host", "content-length")}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    with httpx.Client(follow_redirects=False, trust_env=False, timeout=httpx.Timeout(timeout_s)) as client:
        for _ in range(max_redirects + 1):
            if current.host != first_host:
                raise UnsafeUrlError(f"a redirect to another host ({current.host}) is not followed")
            _check_allowed(current.host, allowed_hosts)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchFailed(f"the call took longer than {timeout_s:g} s")
            host = current.host
            port = current.port or (443 if current.scheme == "https" else 80)
            address = resolve_public(host, port, allow_private)
            pinned = current.copy_with(host=address)
            sent = {**headers, "Host": f"{host}:{current.port}" if current.port else host}
            extensions = {"sni_hostname": host} if current.scheme == "https" else {}
            try:
                with client.stream(method, pinned, params=params, headers=sent, json=json_body,
                                   extensions=extensions, timeout=httpx.Timeout(remaining)) as response:
                    if response.is_redirect:
                        current = _parse(str(current.join(response.headers.get("Location", ""))))
                        if response.status_code in (301, 302, 303):
                            method, json_body = "GET", None
                        params = None  # the Location carries its own query
                        continue
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > max_bytes:
                            raise FetchFailed(f"the response is larger than {max_bytes} bytes")
                        if time.monotonic() > deadline:
                            raise FetchFailed(f"the call took longer than {timeout_s:g} s")
                    text = bytes(body).decode(response.encoding or "utf-8", errors="replace")
                    return HttpResult(response.status_code, response.headers.get("Content-Type", ""), text,
                                      str(current))
            except httpx.TimeoutException as exc:
                raise FetchFailed(f"the call took longer than {timeout_s:g} s") from exc
            except httpx.HTTPError as exc:
                raise FetchFailed(f"the call failed ({exc.__class__.__name__})") from exc
    raise FetchFailed(f"more than {max_redirects} redirects")


def _check_allowed(host: str, allowed_hosts: list[str] | None) -> None:
    if allowed_hosts is None:
        return
    host = host.lower().rstrip(".")
    for allowed in allowed_hosts:
        allowed = allowed.strip().lower().rstrip(".")
        if allowed and (host == allowed or host.endswith("." + allowed)):
            return
    raise UnsafeUrlError(f"the host {host} is not in the tool's allow-list")
