"""Course module 03 (uploads): HTTP 200 on success (the course front end accepts nothing else),
the fields of its response examples, images served back from their URL, clear 4xx otherwise."""

from __future__ import annotations

import io
import struct
import zlib
from urllib.parse import urlparse

from tests.api.course.conftest import envelope, missing

FILE_FIELDS = {"id", "account_id", "name", "key", "size", "extension", "mime_type", "created_at"}


def png_bytes() -> bytes:
    """A valid 1×1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def post_file(client, path, headers, name, data):
    return client.post(path, data={"file": (io.BytesIO(data), name)}, headers=headers,
                       content_type="multipart/form-data")


def test_upload_file_replay(client, logged_in):
    response = post_file(client, "/upload-files/file", logged_in, "项目API文档.md", "# 项目API文档\n内容".encode())
    data = envelope(response, 200)
    assert not missing(data, FILE_FIELDS)
    assert data["name"] == "项目API文档.md" and data["extension"] == "md" and data["size"] > 0
    assert data["mime_type"] == "text/markdown" and data["key"].endswith(".md") and not data["key"].startswith("/")
    # our own route keeps answering 201
    assert post_file(client, "/upload-files", logged_in, "a.txt", b"hello").status_code == 201


def test_upload_file_refusals(client, logged_in):
    assert post_file(client, "/upload-files/file", logged_in, "fake.pdf", b"not a pdf").status_code == 415
    response = client.post("/upload-files/file", data={}, headers=logged_in, content_type="multipart/form-data")
    assert response.status_code == 422 and "file" in response.get_json()["data"]
    assert post_file(client, "/upload-files/file", {}, "a.txt", b"hello").status_code == 401


def test_upload_image_is_served_back(client, logged_in):
    data = envelope(post_file(client, "/upload-files/image", logged_in, "avatar.png", png_bytes()), 200)
    url = urlparse(data["image_url"])
    assert url.scheme == "http" and url.path.startswith("/upload-files/images/") and url.path.endswith(".png")
    served = client.get(url.path)  # no Authorization: an <img src> sends none; the name is unguessable
    assert served.status_code == 200 and served.data == png_bytes()
    assert served.headers["Content-Type"] == "image/png" and served.headers["X-Content-Type-Options"] == "nosniff"
    assert len(url.path.rsplit("/", 1)[1].split(".")[0]) == 32


def test_upload_image_checks_the_content(app, client, logged_in, monkeypatch):
    for name, payload in [("x.png", b"just text, not an image"),
                          ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
                          ("x.gif", b"\x89PNG but cut")]:
        response = post_file(client, "/upload-files/image", logged_in, name, payload)
        assert response.status_code == 415 and "file" in response.get_json()["data"], name
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 64)
    assert post_file(client, "/upload-files/image", logged_in, "big.png", png_bytes() * 4).status_code == 413
    assert client.get("/upload-files/images/..%2Fllmops.db").status_code == 404
    assert client.get("/upload-files/images/" + "a" * 32 + ".png").status_code == 404
