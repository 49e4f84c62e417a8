"""Fetching a URL someone else chose without letting them reach our own network (SSRF): image
URLs in chat messages (``fetch_public``) and tools' HTTP calls (``llmops.tools.http``) both go
through ``request`` here, the one implementation.

``request`` accepts only ``http``/``https``; it resolves the host itself and refuses when any of
its addresses is not a public unicast address (loopback, private, link-local — cloud metadata at
169.254.169.254 —, shared, multicast, reserved, unspecified) unless ``allow_private``; it then
connects to the address it checked (the host name is kept for the ``Host`` header and TLS), so a
second DNS answer cannot swap in an internal address. Redirects are followed by hand, at most
``max_redirects``, each target checked the same way (and, with ``same_host``, kept on the first
host). The body is read up to ``max_bytes`` (a larger ``Content-Length`` is refused before
reading) within ``timeout_s`` in total. Refusals raise ``UnsafeUrlError`` (the caller's fault, a
400), failures ``FetchFailed``. No Flask imports.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass

import httpx

ALLOWED_SCHEMES = ("http", "https")


class UnsafeUrlError(ValueError):
    """The URL may not be fetched (scheme, or an address that is not public)."""


class FetchFailed(ValueError):
    """The URL could not be fetched (connection, status, size or time limit)."""


def check_address(address: str, allow_private: bool = False) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``address`` as an IP when it is public unicast (or ``allow_private``); ``UnsafeUrlError`` otherwise."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_multicast or ip.is_unspecified:
        raise UnsafeUrlError(f"the address {ip} may not be fetched")
    if not allow_private and (not ip.is_global or ip.is_reserved or ip.is_loopback or ip.is_link_local
                              or ip.is_private):
        raise UnsafeUrlError(f"the address {ip} is not public")
    return ip


def literal_address(host: str) -> str | None:
    """``host`` as an IP address when it is one, legacy forms included (``2130706433``, ``0x7f.1``)."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None


def resolve_public(host: str, port: int, allow_private: bool = False) -> str:
    """The first address of ``host`` after checking every address it resolves to."""
    literal = literal_address(host)
    if literal is not None:
        return str(check_address(literal, allow_private))
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailed(f"the host {host!r} could not be resolved") from exc
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise FetchFailed(f"the host {host!r} has no address")
    checked = [check_address(a, allow_private) for a in addresses]
    return str(checked[0])


@dataclass
class HttpResult:
    """A finished call: HTTP ``status``, ``content_type``, the ``body`` (at most ``max_bytes``) and
    the ``url`` that answered (after redirects)."""

    status: int
    content_type: str
    body: bytes
    encoding: str
    url: str

    @property
    def text(self) -> str:
        """The body decoded with its declared charset (UTF-8 when none), bad bytes replaced."""
        return self.body.decode(self.encoding, errors="replace")


def request(method: str, url: str, *, params: dict | None = None, headers: dict | None = None,
            cookies: dict | None = None, json_body: dict | None = None, timeout_s: float = 10.0,
            max_bytes: int = 512 * 1024, allow_private: bool = False, max_redirects: int = 3,
            same_host: bool = False, allowed_hosts: list[str] | None = None) -> HttpResult:
    """Send one request as described above → ``HttpResult`` (any HTTP status; the caller decides).

    ``same_host``: a redirect to another host is refused (``UnsafeUrlError``). ``allowed_hosts``:
    when given, the URL's host (and every redirect's) must be one of them or a subdomain of one.
    ``timeout_s`` bounds the whole call, redirects included. Raises ``UnsafeUrlError`` (refused URL
    or address) or ``FetchFailed`` (resolution, connection, time or size limit)."""
    deadline = time.monotonic() + timeout_s
    current = _parse(url)
    first_host = current.host
    headers = {k: v for k, v in (headers or {}).items() if k.lower() not in ("host", "content-length")}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    with httpx.Client(follow_redirects=False, trust_env=False, timeout=httpx.Timeout(timeout_s)) as client:
        for _ in range(max_redirects + 1):
            if same_host and current.host != first_host:
                raise UnsafeUrlError(f"a redirect to another host ({current.host}) is not followed")
            _check_allowed(current.host, allowed_hosts)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchFailed(f"the call took longer than {timeout_s:g} s")
            host = current.host
            port = current.port or (443 if current.scheme == "https" else 80)
            address = resolve_public(host, port, allow_private)
            pinned = current.copy_with(host=address)  # the checked address, never a second DNS answer
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
                    declared = response.headers.get("Content-Length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise FetchFailed(f"the response is larger than {max_bytes} bytes")
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > max_bytes:
                            raise FetchFailed(f"the response is larger than {max_bytes} bytes")
                        if time.monotonic() > deadline:
                            raise FetchFailed(f"the call took longer than {timeout_s:g} s")
                    return HttpResult(response.status_code, response.headers.get("Content-Type", ""), bytes(body),
                                      response.encoding or "utf-8", str(current))
            except httpx.TimeoutException as exc:
                raise FetchFailed(f"the call took longer than {timeout_s:g} s") from exc
            except httpx.HTTPError as exc:
                raise FetchFailed(f"the call failed ({exc.__class__.__name__})") from exc
    raise FetchFailed(f"more than {max_redirects} redirects")


def fetch_public(url: str, *, max_bytes: int, timeout_s: float, allow_private: bool = False,
                 max_redirects: int = 3) -> tuple[bytes, str]:
    """(body, content type) of an image URL a client gave us: ``request`` with redirects to any
    public host; an answer other than 200 raises ``FetchFailed``."""
    result = request("GET", url, headers={"Accept": "image/*"}, timeout_s=timeout_s, max_bytes=max_bytes,
                     allow_private=allow_private, max_redirects=max_redirects)
    if result.status != 200:
        raise FetchFailed(f"the URL answered {result.status}")
    return result.body, result.content_type


def _check_allowed(host: str, allowed_hosts: list[str] | None) -> None:
    if allowed_hosts is None:
        return
    host = host.lower().rstrip(".")
    for allowed in allowed_hosts:
        allowed = allowed.strip().lower().rstrip(".")
        if allowed and (host == allowed or host.endswith("." + allowed)):
            return
    raise UnsafeUrlError(f"the host {host} is not in the tool's allow-list")


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise UnsafeUrlError("not a valid URL") from exc
    if parsed.scheme not in ALLOWED_SCHEMES or not parsed.host:
        raise UnsafeUrlError("only http and https URLs may be fetched")
    return parsed
