"""Document loading with ``unstructured``, fully offline (docs/offline.md), and content checks.

``sniff(path, extension)`` verifies that a file's bytes match its extension before it is
stored; ``load_text(path, extension)`` parses it into plain text (elements joined by blank lines).
Errors are ``LoaderError`` with a message fit to show a user.

Where the time goes (a profile of the B4 corpus, README "Performance") and what is done about it:

* unstructured classifies every element (title, narrative text, list item…) and, to do so, runs
  spaCy's ``en_core_web_sm`` (tagger and parser) over each paragraph: ~90% of parsing a Markdown,
  HTML or Word file. Only the elements' text is kept here, and the classification never changes
  it (checked on the B4 corpus and every test fixture: identical text), so unstructured is given
  spaCy's rule-based sentencizer instead (``_use_rule_based_sentences``). Its per-file language
  detection (metadata only) is skipped the same way (``languages=[""]``).
* PDFs: unstructured's ``fast`` strategy is pdfminer, which builds a Python object per character
  and then a layout (~1.5 s for a 40 kB page of text); the ``hi_res``/OCR strategies need hub
  models. The text layer is read with PDFium instead (``pypdfium2``, a dependency of
  unstructured's PDF extra), ~100× faster: lines in the order PDFium reads them, grouped into
  paragraphs where the vertical gap between two lines exceeds half a line's height, as
  pdfminer's text boxes are (``line_margin`` 0.5). Not done: pdfminer's column detection.
"""

from __future__ import annotations

import functools
import re
import signal
import threading
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path

SUPPORTED_EXTENSIONS = ("txt", "md", "markdown", "pdf", "html", "htm", "docx", "pptx", "xlsx", "csv")
TEXT_EXTENSIONS = ("txt", "md", "markdown", "html", "htm", "csv")
OOXML_MAIN_PART = {"docx": "word/", "pptx": "ppt/", "xlsx": "xl/"}
# Zip-bomb guards for Office files: total uncompressed size and compression ratio.
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted OOXML files are OLE containers


class LoaderError(Exception):
    """The file cannot be parsed; ``message`` says why in words a user understands."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def sniff(path: str | Path, extension: str) -> str | None:
    """None when the bytes fit ``extension``; otherwise the reason they do not."""
    path = Path(path)
    head = path.read_bytes()[:8192] if path.stat().st_size else b""
    if not head:
        return "the file is empty"
    if extension == "pdf":
        return None if head.lstrip()[:5] == b"%PDF-" else "the file is not a PDF document"
    if extension in OOXML_MAIN_PART:
        if head.startswith(OLE_MAGIC):
            return f"the .{extension} file is password-protected or in the old binary Office format"
        if not zipfile.is_zipfile(path):
            return f"the file is not a valid .{extension} document"
        return _check_ooxml(path, extension)
    if extension in TEXT_EXTENSIONS:
        return "the file looks binary, not text" if b"\x00" in head and not _is_utf16(head) else None
    return f"unsupported file type .{extension}"


def _is_utf16(head: bytes) -> bool:
    return head.startswith((b"\xff\xfe", b"\xfe\xff"))


def _check_ooxml(path: Path, extension: str) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {i.filename for i in infos}
            total = sum(i.file_size for i in infos)
            packed = sum(i.compress_size for i in infos) or 1
    except zipfile.BadZipFile:
        return f"the file is not a valid .{extension} document (damaged or truncated)"
    if "[Content_Types].xml" not in names or not any(n.startswith(OOXML_MAIN_PART[extension]) for n in names):
        return f"the file is a zip archive but not a .{extension} document"
    if total > MAX_UNCOMPRESSED_BYTES or total / packed > MAX_COMPRESSION_RATIO:
        return f"the .{extension} file expands to {total // (1024 * 1024)} MB: refused as a possible zip bomb"
    return None


class ParseTimeout(LoaderError):
    """Parsing ran past its deadline."""


def check_limits(path: str | Path, extension: str, max_pages: int, max_bytes: int) -> str | None:
    """None when the file stays within ``max_pages`` (PDF pages, slides) and expands to at most
    ``max_bytes`` (a PDF's streams inflated, an Office file's parts); otherwise the reason."""
    path = Path(path)
    if extension == "pdf":
        return _check_pdf(path, max_pages, max_bytes)
    if extension in OOXML_MAIN_PART:
        try:
            with zipfile.ZipFile(path) as archive:
                infos = archive.infolist()
        except zipfile.BadZipFile:
            return f"the file is not a valid .{extension} document (damaged or truncated)"
        total = sum(i.file_size for i in infos)
        if total > max_bytes:
            return f"the .{extension} file expands to {_mb(total)} MB, more than the {_mb(max_bytes)} MB allowed"
        slides = sum(1 for i in infos if _SLIDE.fullmatch(i.filename))
        if slides > max_pages:
            return f"the presentation has {slides} slides, more than the {max_pages} allowed"
    return None


_SLIDE = re.compile(r"ppt/slides/slide\d+\.xml")
_PDF_STREAM = re.compile(rb"(?<!end)stream\r?\n")


def _mb(size: int) -> int:
    return size // (1024 * 1024)


def _check_pdf(path: Path, max_pages: int, max_bytes: int) -> str | None:
    """Inflate every stream of the PDF (in 1 MB steps, stopping past ``max_bytes``) before any
    parser does, then count its pages without rendering them."""
    data = path.read_bytes()
    total = 0
    for match in _PDF_STREAM.finditer(data):
        end = data.find(b"endstream", match.end())
        total += _inflated_size(data[match.end():end if end >= 0 else len(data)], max_bytes - total)
        if total > max_bytes:
            return f"the PDF's content expands to more than {_mb(max_bytes)} MB: refused as a possible decompression bomb"
    try:
        from pdfminer.pdfdocument import PDFDocument
        from pdfminer.pdfpage import PDFPage
        from pdfminer.pdfparser import PDFParser

        with open(path, "rb") as handle:
            for pages, _page in enumerate(PDFPage.create_pages(PDFDocument(PDFParser(handle))), start=1):
                if pages > max_pages:
                    return f"the PDF has more than {max_pages} pages"
    except Exception:  # noqa: BLE001 — encrypted or damaged: the parser reports it in its own words
        return None
    return None


def _inflated_size(raw: bytes, budget: int) -> int:
    """Bytes ``raw`` inflates to (its own size when it is not zlib data), counted up to just past ``budget``."""
    inflater, size = zlib.decompressobj(), 0
    try:
        while raw:
            size += len(inflater.decompress(raw, 1024 * 1024))
            if size > budget:
                return size
            raw = inflater.unconsumed_tail
    except zlib.error:
        return max(size, len(raw))
    return size


@contextmanager
def deadline(seconds: float | None):
    """Raise ``ParseTimeout`` in this thread after ``seconds`` (SIGALRM; only in the main thread,
    as in a worker process — elsewhere, or with no ``seconds``, there is no deadline). Python code
    is interrupted at once; a long C call (a decompression) at its end."""
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(_signum, _frame):
        raise ParseTimeout(f"parsing the file took longer than {seconds:g} s and was stopped")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def load_text(path: str | Path, extension: str, max_pages: int | None = None, max_bytes: int | None = None,
              timeout_s: float | None = None) -> str:
    """Parse ``path`` → plain text, within the limits given (``check_limits``, and ``timeout_s``
    seconds of wall time). Raises ``LoaderError`` (empty, encrypted, damaged, no text, over a
    limit, too slow)."""
    reason = sniff(path, extension)
    if not reason and max_pages is not None and max_bytes is not None:
        reason = check_limits(path, extension, max_pages, max_bytes)
    if reason:
        raise LoaderError(reason)
    try:
        with deadline(timeout_s):
            elements = _partition(str(path), extension)
    except LoaderError:
        raise
    except Exception as exc:  # noqa: BLE001 — parsers raise many types; the user needs one message
        raise LoaderError(_describe(exc, extension)) from exc
    text = "\n\n".join(str(e.text).strip() for e in elements if getattr(e, "text", None) and str(e.text).strip())
    if not text.strip():
        raise LoaderError("no text could be extracted from the file (scanned images need OCR, which is not available)")
    return text


def _partition(filename: str, extension: str) -> list:
    """Elements (anything with ``.text``) of the file."""
    if extension == "pdf":
        return [_Text(p) for p in pdf_paragraphs(filename)]
    _use_rule_based_sentences()
    options = {"filename": filename, "languages": [""]}  # [""]: no language detection
    if extension == "docx":
        from unstructured.partition.docx import partition_docx

        return partition_docx(**options)
    if extension == "pptx":
        from unstructured.partition.pptx import partition_pptx

        return partition_pptx(**options)
    if extension == "xlsx":
        from unstructured.partition.xlsx import partition_xlsx

        return partition_xlsx(**options)
    if extension == "csv":
        from unstructured.partition.csv import partition_csv

        return partition_csv(**options)
    if extension in ("html", "htm"):
        from unstructured.partition.html import partition_html

        return partition_html(**options)
    if extension in ("md", "markdown"):
        from unstructured.partition.md import partition_md

        return partition_md(**options)
    from unstructured.partition.text import partition_text

    return partition_text(**options)


class _Text:
    def __init__(self, text: str):
        self.text = text


@functools.cache
def _use_rule_based_sentences() -> None:
    """Have unstructured split sentences with spaCy's rule-based sentencizer instead of loading
    ``en_core_web_sm`` and running its tagger and parser on every paragraph (module docstring).
    Element types may differ (more plain ``Text``, fewer ``NarrativeText``); text does not."""
    import spacy
    from unstructured.nlp import tokenize

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    tokenize._get_nlp = lambda: nlp  # unstructured's own loader of the pipeline it runs


# A line belongs to the paragraph above it when the gap between them is at most this share of
# the taller line's height (pdfminer's ``line_margin``).
LINE_MARGIN = 0.5


def pdf_paragraphs(filename: str) -> list[str]:
    """The paragraphs of a PDF's text layer, page by page (PDFium; lines joined by spaces)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(filename)
    paragraphs: list[str] = []
    try:
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            try:
                paragraphs.extend(_page_paragraphs(textpage))
            finally:
                textpage.close()
                page.close()
    finally:
        document.close()
    return paragraphs


def _page_paragraphs(textpage) -> list[str]:
    text = textpage.get_text_range()  # one character per character index; "\r\n" ends a line
    paragraphs: list[list[str]] = []
    previous = None  # (bottom, top) of the line above
    start = 0
    for line in text.split("\r\n"):
        stripped = line.replace("\x02", "-").strip()  # \x02: PDFium's hyphen at a line's end
        offset = start + len(line) - len(line.lstrip())
        start += len(line) + 2
        if not stripped:
            previous = None
            continue
        _left, bottom, _right, top = textpage.get_charbox(offset, loose=True)
        if previous is None or not _same_paragraph(previous, (bottom, top)):
            paragraphs.append([])
        paragraphs[-1].append(stripped)
        previous = (bottom, top)
    return [" ".join(" ".join(lines).split()) for lines in paragraphs]


def _same_paragraph(above: tuple[float, float], line: tuple[float, float]) -> bool:
    """True when ``line`` (bottom, top in PDF points, y upwards) continues the paragraph of the
    line ``above``: it is below it, with a gap of at most ``LINE_MARGIN`` line heights."""
    height = max(above[1] - above[0], line[1] - line[0], 1.0)
    gap = above[0] - line[1]
    return line[1] <= above[1] and gap <= LINE_MARGIN * height


def _describe(exc: Exception, extension: str) -> str:
    name = exc.__class__.__name__
    if "Password" in name or "Encrypt" in name or "password" in str(exc).lower():
        return f"the .{extension} file is password-protected"
    if "Syntax" in name or "EOF" in str(exc) or "truncated" in str(exc).lower():
        return f"the .{extension} file is damaged or truncated ({name})"
    return f"the .{extension} file could not be parsed ({name}: {str(exc)[:200]})"
