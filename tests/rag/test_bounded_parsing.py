"""Bounded parsing: cleaning rules in linear time, limits on what a PDF or an Office file expands
to and on its pages, a per-document parse deadline — each ends the document in ``error`` with a
message saying which limit, instead of holding a worker."""

from __future__ import annotations

import time
import uuid
import zipfile

import pytest

from llmops.rag import cleaning
from llmops.rag.loaders import LoaderError, ParseTimeout, deadline, load_text
from tests.api.test_datasets import new_dataset, upload
from tests.fixtures.files import pdf_with, pptx_bytes

MB = 1024 * 1024


@pytest.mark.parametrize("text", [
    "a" * 400_000,                                   # one run without "@": 2.9 s at 40k chars before, ~5 min here
    "a." * 200_000,
    ("x@" + "a" * 50) * 8_000,
    "a@" + "b-" * 200_000,
    "http://" + "a" * 400_000,
])
def test_cleaning_rules_run_in_linear_time(text):
    started = time.perf_counter()
    cleaning.clean(text, ["remove_extra_space", "remove_url_and_email"])
    assert time.perf_counter() - started < 1.0  # quadratic would take minutes on 400k characters


def test_cleaning_time_grows_linearly():
    def timed(n: int) -> float:
        text = "user.name" * (n // 9)
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            cleaning.remove_url_and_email(text)
            best = min(best, time.perf_counter() - started)
        return best

    small, large = timed(20_000), timed(320_000)  # 16x the input: ~16x the time, not ~256x
    assert large < max(small, 1e-4) * 60


def test_email_and_url_removal_still_work():
    text = "mail john.doe+x@mail.example.com. or see https://x.org/a?b=1 and www.test.com, not foo@bar"
    assert cleaning.remove_url_and_email(text) == "mail . or see  and  not foo@bar"


def test_pdf_limits(tmp_path):
    path = tmp_path / "pages.pdf"
    path.write_bytes(pdf_with(pages=30))
    assert "Hello pages" in load_text(path, "pdf", max_pages=30, max_bytes=10 * MB)
    with pytest.raises(LoaderError, match="more than 20 pages"):
        load_text(path, "pdf", max_pages=20, max_bytes=10 * MB)

    bomb = tmp_path / "bomb.pdf"  # 60 KB on disk, 60 MB inflated
    bomb.write_bytes(pdf_with(stream=b"BT (x) Tj ET " + b" " * (60 * MB), deflate=True))
    assert bomb.stat().st_size < 200_000
    started = time.perf_counter()
    with pytest.raises(LoaderError, match="decompression bomb"):
        load_text(bomb, "pdf", max_pages=100, max_bytes=20 * MB)
    assert time.perf_counter() - started < 5


def test_office_limits(tmp_path):
    slides = tmp_path / "slides.pptx"
    slides.write_bytes(pptx_bytes([f"Slide {i}. Some words." for i in range(12)]))
    assert "Slide 11" in load_text(slides, "pptx", max_pages=12, max_bytes=50 * MB)
    with pytest.raises(LoaderError, match="12 slides"):
        load_text(slides, "pptx", max_pages=10, max_bytes=50 * MB)
    big = tmp_path / "big.docx"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document>" + "x " * (3 * MB) + "</w:document>")
    with pytest.raises(LoaderError, match="expands to 6 MB"):
        load_text(big, "docx", max_pages=100, max_bytes=5 * MB)


def test_deadline_stops_slow_python_code():
    started = time.perf_counter()
    with pytest.raises(ParseTimeout, match="longer than 0.5 s"), deadline(0.5):
        while True:
            sum(range(1000))
    assert time.perf_counter() - started < 2


def test_indexing_stops_a_document_over_a_limit_with_its_reason(app, client, auth):
    from llmops.extensions import db
    from llmops.models import Document
    from llmops.services.knowledge import indexing_service

    dataset_id = new_dataset(client, auth)
    file_id = upload(client, auth, "many-pages.pdf", pdf_with(pages=40)).get_json()["data"]["id"]
    created = client.post(f"/datasets/{dataset_id}/documents", json={"upload_file_ids": [file_id]}, headers=auth)
    document_id = uuid.UUID(created.get_json()["data"]["documents"][0]["id"])
    saved = app.config["PARSE_MAX_PAGES"]
    app.config["PARSE_MAX_PAGES"] = 25
    try:
        with app.app_context():
            assert indexing_service.index_document(document_id) == "error"
            assert "more than 25 pages" in db.session.get(Document, document_id).error
    finally:
        app.config["PARSE_MAX_PAGES"] = saved
