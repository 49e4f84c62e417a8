"""Fetching a URL a client gave us (an image in a chat message) without letting the client reach
our own network (SSRF).

``fetch_public(url, ...)`` accepts only ``http``/``https``; it resolves the host itself and refuses
when any of its addresses is not a public unicast address (loopback, private, link-local — cloud
metadata at 169.254.169.254 —, shared, multicast, reserved, unspecified); it then connects to the
address it checked (the host name is kept for the ``Host`` header and TLS), so a second DNS answer
cannot swap in an internal address. Redirects are followed by hand, at most ``max_redirects``,
each target checked the same way. The body is read up to ``max_bytes`` within ``timeout_s`` in
total. Refusals raise ``UnsafeUrlError`` (the caller's fault, a 400), failures ``FetchFailed``.
No Flask imports.
"""

from __future__ import annotations

import ipaddress
import socket
import time

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


def fetch_public(url: str, *, max_bytes: int, timeout_s: float, allow_private: bool = False,
                 max_redirects: int = 3) -> tuple[bytes, str]:
    """(body, content type) of ``url``; ``UnsafeUrlError`` / ``FetchFailed`` as described above."""
    deadline = time.monotonic() + timeout_s
    current = _parse(url)
    with httpx.Client(follow_redirects=False, trust_env=False, timeout=httpx.Timeout(timeout_s)) as client:
        for _ in range(max_redirects + 1):
            if time.monotonic() > deadline:
                raise FetchFailed(f"the download took longer than {timeout_s:g} s")
            host = current.host
            port = current.port or (443 if current.scheme == "https" else 80)
            address = resolve_public(host, port, allow_private)
            pinned = current.copy_with(host=address)
            headers = {"Host": f"{host}:{current.port}" if current.port else host, "Accept": "image/*"}
            extensions = {"sni_hostname": host} if current.scheme == "https" else {}
            try:
                with client.stream("GET", pinned, headers=headers, extensions=extensions) as response:
                    if response.is_redirect:
                        location = response.headers.get("Location", "")
                        current = _parse(str(current.join(location)))
                        continue
                    if response.status_code != 200:
                        raise FetchFailed(f"the URL answered {response.status_code}")
                    declared = response.headers.get("Content-Length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise FetchFailed(f"the file is larger than {max_bytes} bytes")
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > max_bytes:
                            raise FetchFailed(f"the file is larger than {max_bytes} bytes")
                        if time.monotonic() > deadline:
                            raise FetchFailed(f"the download took longer than {timeout_s:g} s")
                    return bytes(body), response.headers.get("Content-Type", "")
            except httpx.HTTPError as exc:
                raise FetchFailed(f"the URL could not be fetched ({exc.__class__.__name__})") from exc
    raise FetchFailed(f"more than {max_redirects} redirects")


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise UnsafeUrlError("not a valid URL") from exc
    if parsed.scheme not in ALLOWED_SCHEMES or not parsed.host:
        raise UnsafeUrlError("only http and https URLs may be fetched")
    return parsed
