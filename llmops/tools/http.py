"""Outgoing HTTP calls made for a tool (custom API tools, the URL fetcher).

The SSRF guard is ``providers.safe_fetch.request`` (public addresses only, checked after DNS
resolution and connected to as checked, redirects checked again, size and time caps); a tool adds
its own policy: redirects stay on the **first host**, and ``allowed_hosts`` (the URL fetcher's
allow-list) limits the hosts. No Flask imports.
"""

from __future__ import annotations

from typing import Any

from llmops.providers import safe_fetch
from llmops.providers.safe_fetch import FetchFailed, HttpResult, UnsafeUrlError

__all__ = ["FetchFailed", "HttpResult", "UnsafeUrlError", "request"]


def request(method: str, url: str, **options: Any) -> HttpResult:
    """``safe_fetch.request`` (same options) with redirects kept on the URL's host."""
    return safe_fetch.request(method, url, same_host=True, **options)
