"""Custom API tools and the URL fetcher never reach our own network: loopback, private,
link-local (cloud metadata at 169.254.169.254), IPv6 loopback — given literally, as DNS names
that resolve to them, or as redirect targets — unless API_TOOLS_ALLOW_PRIVATE is set."""

from __future__ import annotations

import json
import socket
import uuid

import pytest

from llmops.providers import safe_fetch
from llmops.tools import http
from tests.api.test_agent import api_provider, api_refs, chat, configure

PRIVATE_URLS = ["http://127.0.0.1:9/x", "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/x",
                "http://10.1.2.3/x", "http://192.168.0.10/x", "http://172.16.5.4/x", "http://100.64.0.1/x",
                "http://0.0.0.0:9/x", "http://[::ffff:127.0.0.1]:9/x", "http://2130706433:9/x", "http://0x7f.1:9/x",
                "http://[fe80::1]/x", "http://[fd00::1]/x"]
NAMES = {"metadata.internal.test": "169.254.169.254", "intranet.test": "10.0.0.7", "loop6.test": "::1",
         "loop.test": "127.0.0.1"}


@pytest.fixture
def fake_dns(monkeypatch):
    """DNS names that resolve to internal addresses (the names are reserved ``.test`` names)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in NAMES:
            address = NAMES[host]
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, port or 80))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def public_test_host(monkeypatch, tool_server_process):
    """``public.test`` stands for a public server: it is the local tool server, taken as public.
    ``rebind.test`` answers like it once, then with a private address (DNS rebinding)."""
    real = safe_fetch.resolve_public
    answers = {"rebind.test": 0}

    def resolve(host, port, allow_private=False):
        if host in ("public.test", "other-public.test"):
            return "127.0.0.1"
        if host == "rebind.test":
            answers["rebind.test"] += 1
            return "127.0.0.1" if answers["rebind.test"] == 1 else real("10.0.0.7", port, allow_private)
        return real(host, port, allow_private)

    monkeypatch.setattr(safe_fetch, "resolve_public", resolve)
    tool_server_process.requests.clear()
    return tool_server_process


def call(url: str, **kwargs) -> http.HttpResult:
    return http.request("GET", url, timeout_s=3, max_bytes=10_000, **kwargs)


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_internal_addresses_are_refused(url):
    with pytest.raises(http.UnsafeUrlError):
        call(url)


@pytest.mark.parametrize("name", [*NAMES, "localhost"])
def test_names_resolving_to_internal_addresses_are_refused(fake_dns, name):
    with pytest.raises(http.UnsafeUrlError):
        call(f"http://{name}:9/x")


def test_redirects_to_internal_addresses_are_refused(public_test_host):
    port = public_test_host.url.rsplit(":", 1)[1]
    assert call(f"http://public.test:{port}/weather?location=x").status == 200  # the public host itself works
    for target in ("http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:9/x", "http://[::1]:9/x",
                   "http://10.0.0.1/x", f"http://localhost:{port}/weather", "http://metadata.internal.test/"):
        with pytest.raises(http.UnsafeUrlError):
            call(f"http://public.test:{port}/redirect?to={target}")
    # the same host name, answering a private address the second time (DNS rebinding)
    with pytest.raises(http.UnsafeUrlError, match="not public"):
        call(f"http://rebind.test:{port}/redirect?to=/weather")
    assert [r["path"] for r in public_test_host.requests].count("/weather") == 1


def test_redirects_to_another_public_host_are_refused(public_test_host):
    """A tool's calls stay on the host its schema names, even when a redirect points at another
    public host (``other-public.test`` resolves as public, to the same local server)."""
    port = public_test_host.url.rsplit(":", 1)[1]
    with pytest.raises(http.UnsafeUrlError, match="another host"):
        call(f"http://public.test:{port}/redirect?to=http://other-public.test:{port}/weather")
    assert "/weather" not in [r["path"] for r in public_test_host.requests]  # never fetched
    assert call(f"http://other-public.test:{port}/weather?location=x").status == 200  # the host itself is fine


def test_same_host_redirects_are_followed(public_test_host):
    port = public_test_host.url.rsplit(":", 1)[1]
    result = call(f"http://public.test:{port}/redirect?to=/items/5")
    assert result.status == 200 and json.loads(result.text) == {"item": "5"}


def test_allow_private_is_needed_for_internal_hosts(tool_server_process):
    assert call(f"{tool_server_process.url}/items/1", allow_private=True).status == 200
    with pytest.raises(http.UnsafeUrlError):
        call(f"{tool_server_process.url}/items/1")


def test_an_agent_calling_an_internal_api_gets_an_error_observation(app, client, auth, new_app, fake, tool_model,
                                                                      tool_server_process, fake_dns, monkeypatch):
    monkeypatch.setitem(app.config, "API_TOOLS_ALLOW_PRIVATE", False)
    tool_server_process.requests.clear()
    for server in (tool_server_process.url, "http://metadata.internal.test", "http://[::1]:9"):
        provider = api_provider(client, auth, server)
        configure(client, auth, new_app, api_refs(provider, "GetWeather"), tool_model)
        fake.behaviour.next_tool_calls = [[{"name": "GetWeather", "arguments": {"location": "x"}}]]
        events = chat(client, auth, new_app)
        action = next(d for e, d in events if e == "agent_action")
        assert action["observation"].startswith("error: ") and "not public" in action["observation"], action
        assert events[-1][0] == "agent_end"
    assert tool_server_process.requests == []  # nothing reached the internal server


def test_url_fetcher_refuses_internal_hosts_even_when_allow_listed(app, fake_dns, tool_server_process):
    from llmops.tools.builtin import functions
    from llmops.tools.runtime import ToolContext

    with app.app_context():
        for url in (f"{tool_server_process.url}/page", "http://metadata.internal.test/latest/meta-data/"):
            host = url.split("/")[2].split(":")[0]
            with pytest.raises(http.UnsafeUrlError):
                functions.url_fetch({"url": url}, {"allowed_hosts": host}, ToolContext(account_id=uuid.uuid4()))
