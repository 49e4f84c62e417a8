"""Text extraction: PDF paragraphs from the text layer, other formats through unstructured."""

from __future__ import annotations

from llmops.rag.loaders import load_text, pdf_paragraphs
from tests.fixtures.files import corpus, pdf_with

PARAGRAPHS = (b"BT /F1 12 Tf 72 720 Td 14 TL (First paragraph, line one runs on) ' (and its second line ends here.) ' "
              b"0 -20 Td (Second paragraph after a gap.) ' (Its next line.) ' ET "
              b"BT /F1 18 Tf 72 400 Td (A Heading) Tj ET "
              b"BT /F1 10 Tf 72 370 Td 12 TL (Small text body line.) ' (Continues here.) ' ET")
EXPECTED = ["First paragraph, line one runs on and its second line ends here.", "Second paragraph after a gap. Its next line.",
            "A Heading", "Small text body line. Continues here."]


def test_pdf_lines_are_grouped_into_paragraphs_page_by_page(tmp_path):
    path = tmp_path / "paragraphs.pdf"
    path.write_bytes(pdf_with(pages=2, stream=PARAGRAPHS))
    assert pdf_paragraphs(str(path)) == EXPECTED * 2
    assert load_text(path, "pdf") == "\n\n".join(EXPECTED * 2)


def test_every_format_keeps_its_text(tmp_path):
    for name, data in corpus().items():
        path = tmp_path / name
        path.write_bytes(data)
        text = load_text(path, name.rsplit(".", 1)[1])
        words = {"photosynthesis.txt": "Calvin cycle", "great-wall.md": "万里长城", "volcano.html": "magma rises",
                 "tides.pdf": "caused by the gravitational pull of the Moon and the Sun. Spring tides",
                 "bees.docx": "蜜蜂通过摇摆舞", "jupiter.pptx": "Great Red Spot", "metals.xlsx": "tungsten",
                 "rivers.csv": "Nile"}[name]
        assert words in text, (name, text)
