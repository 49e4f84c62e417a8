"""Image URLs in chat messages are fetched by the server from public addresses only (never from
its own network: loopback, private, link-local metadata...), within size and time limits, and sent
upstream inline, so no upstream fetches a client's URL from inside our network either."""

from __future__ import annotations

import base64
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


class ImageServer:
    """A web server on loopback standing for an internal service (it must never be reached)."""

    def __init__(self):
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.hits.append(self.path)
                if self.path.startswith("/redirect"):
                    self.send_response(302)
                    self.send_header("Location", self.path.split("to=", 1)[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = PNG + b"\x00" * (200_000 if self.path == "/big.png" else 0)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()
                if self.path == "/slow.png":
                    for _ in range(30):
                        self.wfile.write(b"\x00" * 10)
                        self.wfile.flush()
                        time.sleep(0.1)
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def images():
    server = ImageServer()
    yield server
    server.httpd.shutdown()


def with_image(url: str) -> dict:
    return {"model": "smollm2-135m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": url}}]}]}


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/chat/completions", "/api/v1/chat/completions"])
def test_an_internal_image_url_is_refused(client, key_headers, fake, images, path):
    body = {**with_image(f"{images.url}/cat.png"), "stream": False}
    response = client.post(path, json=body, headers=key_headers)
    assert response.status_code in (400, 422), response.get_data(as_text=True)
    assert "messages.0.content.1.image_url.url" in response.get_data(as_text=True)
    assert images.hits == [] and fake.requests == []  # neither we nor the upstream went there


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://localhost:1/x.png",
                                 "http://[::1]:1/x.png", "http://10.0.0.8/x.png", "http://2130706433:1/x.png",
                                 "file:///etc/passwd", "gopher://127.0.0.1:1/"])
def test_private_and_odd_urls_are_refused_without_a_connection(client, key_headers, fake, url):
    response = client.post("/v1/chat/completions", json=with_image(url), headers=key_headers)
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "messages.0.content.1.image_url.url"
    assert fake.requests == []


@pytest.fixture
def allow_loopback(app, monkeypatch):
    """``IMAGE_FETCH_ALLOW_PRIVATE`` on (our image server is on loopback); the tests change other
    ``IMAGE_FETCH_*`` settings through the returned config, all restored afterwards."""
    for name in ("IMAGE_FETCH_MAX_BYTES", "IMAGE_FETCH_TIMEOUT_S"):
        monkeypatch.setitem(app.config, name, app.config[name])  # restored even when a test changes it
    monkeypatch.setitem(app.config, "IMAGE_FETCH_ALLOW_PRIVATE", True)
    return app.config


def test_an_allowed_image_is_fetched_and_sent_inline(client, key_headers, fake, images, allow_loopback):
    response = client.post("/v1/chat/completions", json=with_image(f"{images.url}/cat.png"), headers=key_headers)
    assert response.status_code == 200, response.get_json()
    sent = fake.requests[-1]["messages"][0]["content"][1]["image_url"]["url"]
    assert sent == "data:image/png;base64," + base64.b64encode(PNG).decode()


def test_size_time_and_redirect_limits(client, key_headers, fake, images, allow_loopback):
    allow_loopback["IMAGE_FETCH_MAX_BYTES"] = 100_000
    big = client.post("/v1/chat/completions", json=with_image(f"{images.url}/big.png"), headers=key_headers)
    assert big.status_code == 400 and "larger than" in big.get_json()["error"]["message"]
    allow_loopback["IMAGE_FETCH_TIMEOUT_S"] = 0.5
    started = time.monotonic()
    slow = client.post("/v1/chat/completions", json=with_image(f"{images.url}/slow.png"), headers=key_headers)
    assert slow.status_code == 400 and time.monotonic() - started < 2.5
    for target in ("http://224.0.0.1/x.png", "http://0.0.0.0:1/x.png", "file:///etc/passwd"):
        hop = client.post("/v1/chat/completions", json=with_image(f"{images.url}/redirect?to={target}"),
                          headers=key_headers)
        assert hop.status_code == 400, hop.get_json()
    loop = f"{images.url}/redirect?to={images.url}/redirect?to={images.url}/redirect?to={images.url}/redirect?to=/cat.png"
    assert client.post("/v1/chat/completions", json=with_image(loop), headers=key_headers).status_code == 400
    assert fake.requests == []
