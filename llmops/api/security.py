"""Request-level protections shared by every surface.

* ``TRUSTED_PROXY_HOPS`` > 0: werkzeug's ``ProxyFix`` takes the client address (and scheme) from
  that many ``X-Forwarded-For`` / ``X-Forwarded-Proto`` hops, so per-IP limits see the client and
  not the proxy; 0 (default) ignores those headers, which a client could otherwise forge.
* Every response: ``X-Content-Type-Options: nosniff``; API responses (everything but the
  Prometheus scrape and the console's content-hashed ``/assets``) ``Cache-Control: no-store`` —
  they carry account data and secrets shown once.
* Failed API-key authentications (``InvalidApiKeyError``, wherever raised) are counted per client
  address; past ``API_KEY_FAILURE_RATE_LIMIT`` the key-authenticated routes (the key blueprints and
  any route that has refused a key) answer 429 to that address.
"""

from __future__ import annotations

import functools
import ipaddress

from flask import Flask, current_app, g, request
from limits import parse
from werkzeug.exceptions import TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from llmops.api import error_handlers
from llmops.errors import InvalidApiKeyError, ValidateError
from llmops.extensions import limiter
from llmops.runtime import runtime
from llmops.services.gateway import api_key_service

KEY_AUTH_BLUEPRINTS = ("openai", "voice_engine", "caiqi", "selfservice")
KEY_AUTH_ENDPOINTS = ("course.openapi_chat",)  # key routes in a JWT blueprint; others are learnt at their first refusal
FAILURE_SCOPE = "api-key-failures"


def init_app(app: Flask) -> None:
    hops = int(app.config.get("TRUSTED_PROXY_HOPS") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.runtime.key_auth_endpoints.update(KEY_AUTH_ENDPOINTS)
    app.register_error_handler(InvalidApiKeyError, _invalid_key)
    app.before_request(_refuse_after_key_failures)
    app.before_request(_refuse_nul_characters)
    app.after_request(_after_request)


def _refuse_nul_characters() -> None:
    """A NUL character in a query or form value answers 400 naming the field: PostgreSQL cannot
    store or compare text holding one (the driver raises), and no field of ours means one. JSON
    bodies are checked by ``json_body()``."""
    sources = [request.args] + ([request.form] if request.mimetype == "multipart/form-data" else [])
    for source in sources:
        for name, value in source.items(multi=True):
            if "\x00" in name or "\x00" in value:
                field = name.replace("\x00", "") or "query"
                raise ValidateError(f"{field}: NUL characters are not allowed",
                                    data={field: ["NUL characters are not allowed"]}, status=400)


def _invalid_key(exc: InvalidApiKeyError):
    g.api_key_failed = True
    return error_handlers.handle_app_error(exc)


def _key_route() -> bool:
    return (request.blueprint in KEY_AUTH_BLUEPRINTS
            or request.endpoint in runtime().key_auth_endpoints)


def client_address() -> str:
    """The caller's IP as the limits see it (after ``ProxyFix`` when proxies are trusted)."""
    return request.remote_addr or "unknown"


def _failure_limit():
    return parse(current_app.config["API_KEY_FAILURE_RATE_LIMIT"])


def _refuse_after_key_failures() -> None:
    if not limiter.enabled or not _key_route():
        return
    if api_key_service.is_known_valid(request.headers.get("Authorization")):
        return  # a key this process already knows to be valid: no storage round trip on the hot path
    if not limiter.limiter.test(_failure_limit(), FAILURE_SCOPE, client_address()):
        raise TooManyRequests(f"{current_app.config['API_KEY_FAILURE_RATE_LIMIT']} failed API key attempts "
                              "from this address; wait and retry with a valid key")


def _after_request(response):
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.endpoint not in ("ops.prometheus_metrics", "console.assets"):  # the console's hashed files cache
        response.headers["Cache-Control"] = "no-store"
    if g.get("api_key_failed") and limiter.enabled:
        runtime().key_auth_endpoints.add(request.endpoint)
        limiter.limiter.hit(_failure_limit(), FAILURE_SCOPE, client_address())
    return response


@functools.lru_cache(maxsize=16)
def parse_networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """A comma-separated CIDR list (``127.0.0.0/8, ::1/128``) → networks; ``ValueError`` if malformed."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip())


def address_in(address: str, networks_setting: str) -> bool:
    """Whether ``address`` lies in one of the networks of a CIDR-list setting."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in parse_networks(networks_setting))
