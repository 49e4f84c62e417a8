"""A real local HTTP API for custom API tools in tests (not product code), plus fixtures:
``tool_server`` (the server; API_TOOLS_ALLOW_PRIVATE on while a test uses it) and ``tool_model``
(``zhipu/glm-4-flash`` — a free model the registry lists with ``tool_call`` — served by the fake
upstream). Import the fixtures into a test module to use them.

Endpoints: ``GET /weather?location=`` (echoes the Authorization header it got), ``POST /ip``
(JSON body), ``GET /items/{id}``, ``GET /slow?seconds=``, ``GET /fail`` (500), ``GET /big``
(2 MB), ``GET /page`` (HTML), ``GET /redirect?to=URL`` (302); and stand-ins for the internet
services of builtin tools: ``POST /search`` (serper.dev, ``X-API-KEY: serper-key``),
``GET /data/2.5/weather`` (OpenWeather, ``appid=ow-key``), ``POST /images/generations``
(OpenAI images, ``Bearer image-key``).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest


class ToolServer:
    def __init__(self):
        self.requests: list[dict] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> ToolServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status: int, body: bytes, content_type: str = "application/json", headers=None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def _record(self, body=None):
                url = urlparse(self.path)
                server.requests.append({"method": self.command, "path": url.path, "query": parse_qs(url.query),
                                        "headers": dict(self.headers), "body": body})
                return url, {k: v[0] for k, v in parse_qs(url.query).items()}

            def do_GET(self):
                url, query = self._record()
                if url.path == "/weather":
                    self._send(200, json.dumps({"location": query.get("location"), "weather": "sunny, 21°C",
                                                "auth": self.headers.get("Authorization")}).encode())
                elif url.path.startswith("/items/"):
                    self._send(200, json.dumps({"item": url.path.rsplit("/", 1)[1]}).encode())
                elif url.path == "/slow":
                    time.sleep(float(query.get("seconds", "1")))
                    self._send(200, b'{"slow": "done"}')
                elif url.path == "/fail":
                    self._send(500, b'{"error": "the service broke"}')
                elif url.path == "/big":
                    self._send(200, b"x" * (2 * 1024 * 1024), "text/plain")
                elif url.path == "/page":
                    self._send(200, b"<html><head><script>var x=1;</script></head><body><h1>Opening hours</h1>"
                                    b"<p>Mon-Fri 9:00-18:00</p></body></html>", "text/html; charset=utf-8")
                elif url.path == "/data/2.5/weather":  # OpenWeather's current weather
                    if query.get("appid") != "ow-key":
                        self._send(401, b'{"cod": 401, "message": "Invalid API key"}')
                        return
                    self._send(200, json.dumps({"name": query.get("q"), "weather": [{"description": "light rain"}],
                                                "main": {"temp": 18.5, "feels_like": 18.1, "humidity": 81},
                                                "wind": {"speed": 3.6}}).encode())
                elif url.path == "/redirect":
                    self._send(302, b"", "text/plain", {"Location": query.get("to", "/")})
                else:
                    self._send(404, b'{"error": "not found"}')

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                url, _ = self._record(body)
                if url.path == "/ip":
                    self._send(200, json.dumps({"ip": body.get("ip"), "region": "local network"}).encode())
                elif url.path == "/search":  # serper.dev
                    if self.headers.get("X-API-KEY") != "serper-key":
                        self._send(403, b'{"message": "Unauthorized."}')
                        return
                    self._send(200, json.dumps({"answerBox": {"answer": "Paris"}, "organic": [
                        {"title": "Paris - Wikipedia", "link": "https://en.wikipedia.org/wiki/Paris",
                         "snippet": "Paris is the capital of France."}]}).encode())
                elif url.path == "/images/generations":  # OpenAI's images API
                    if self.headers.get("Authorization") != "Bearer image-key":
                        self._send(401, b'{"error": {"message": "bad key"}}')
                        return
                    self._send(200, json.dumps({"created": 1, "data": [
                        {"url": f"https://images.example.com/{body.get('size')}/{body.get('style')}.png"}]}).encode())
                else:
                    self._send(404, b'{"error": "not found"}')

        return Handler


@pytest.fixture(scope="session")
def tool_server_process():
    server = ToolServer().start()
    yield server
    server.stop()


@pytest.fixture
def tool_server(app, tool_server_process, monkeypatch):
    """The local API server; private addresses are allowed for API tools while the test runs."""
    monkeypatch.setitem(app.config, "API_TOOLS_ALLOW_PRIVATE", True)
    tool_server_process.requests.clear()
    return tool_server_process


@pytest.fixture
def tool_model(app, fake, monkeypatch):
    """``(provider, model)`` of a function-calling model on the fake upstream: the registry's
    ``zhipu/glm-4-flash`` (``tool_call`` listed, price 0) with a key set and its base URL on the fake."""
    from llmops.extensions import db
    from llmops.models import ProviderOverride
    from llmops.services.core import model_service

    monkeypatch.setitem(app.config, "PROVIDER_API_KEYS", {**app.config["PROVIDER_API_KEYS"],
                                                          "ZHIPU_API_KEY": "sk-zhipu-test"})
    with app.app_context():
        model_service.set_provider_override("zhipu", fake.base_url, None, True)
    yield "zhipu", "glm-4-flash"
    with app.app_context():
        db.session.delete(db.session.get(ProviderOverride, "zhipu"))
        db.session.commit()
        app.runtime.reset("model_registry")
