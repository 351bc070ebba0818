"""The read stage converts on several CPUs with the same result as on one, and reads PDFs with PDFium
first, pypdf where PDFium's text is missing, garbled or in a right-to-left script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.build import read_files
from ingest.converters.pdf import PdfConverter
from ingest.discover import discover
from tests.conftest import CORPUS, ROOT, SHARED

pytestmark = pytest.mark.unit

REAL = SHARED / "realfiles"


def _mixed_files() -> list[Path]:
    """The test corpus, inspections from the sample corpus, and real files that are read or refused."""
    return [*discover([CORPUS]), *sorted((ROOT / "corpus" / "ofsted").glob("*.pdf"))[:4],
            REAL / "pdf" / "pdfjs_helloworld-bad.pdf",  # too little text
            REAL / "pdf" / "pypdf-samples_libreoffice-writer-password.pdf",  # encrypted
            REAL / "pdf" / "pypdf-samples_crazyones-pdfa.pdf",
            REAL / "html" / "readability_bbc-1.html", REAL / "docx" / "pandoc_headers.docx",
            REAL / "docx" / "python-docx_having-images.docx"]  # no text


def test_the_read_stage_gives_the_same_documents_in_the_same_order_on_one_worker_or_two():
    files = _mixed_files()
    one, one_failed = read_files(files, False, None, workers=1)
    two, two_failed = read_files(files, False, None, workers=2)
    assert [(d.id, d.content, d.meta) for d in one] == [(d.id, d.content, d.meta) for d in two]
    assert one_failed == two_failed
    assert sorted(Path(f.path).name for f in one_failed) == ["pdfjs_helloworld-bad.pdf",
                                                            "pypdf-samples_libreoffice-writer-password.pdf",
                                                            "python-docx_having-images.docx"]
    assert sum(d.meta["format"] == "pdf" for d in one) == 5 and len(one) == 5 + 4 + 1 + 2


def _read_pdf(path: Path):
    out = PdfConverter().run(sources=[path])
    assert not out["failures"], out["failures"]
    return out["documents"][0]


def test_a_plain_pdf_is_read_by_pdfium_alone():
    doc = _read_pdf(REAL / "pdf" / "pdfjs_tracemonkey.pdf")
    assert doc.meta["extractor"] == "pypdfium2"
    assert "Trace-based Just-in-Time Type Specialization" in doc.content
    assert doc.content.count("\f") == doc.meta["pages"] - 1


def test_pdfium_hyphen_marks_become_hyphens():
    # Word's non-breaking hyphens come out of PDFium as U+FFFE ("multi\ufffeagency").
    doc = _read_pdf(ROOT / "corpus" / "ofsted" / "dorset_2021-11-19.pdf")
    assert "\ufffe" not in doc.content
    assert "multi-agency" in doc.content


def test_right_to_left_pages_keep_pypdf_text_where_pdfium_reverses_it():
    # On this rotated page PDFium gives "يبيبَح" (visual order) and stray Coptic letters; pypdf is right.
    doc = _read_pdf(REAL / "pdf" / "pypdf-samples_habibi-rotated.pdf")
    assert "حَبيبي" in doc.content and "ϲΒϴΒ" not in doc.content
    assert doc.meta["extractor"] == "pypdf"


def test_pages_pypdf_reads_as_mojibake_stay_pdfium_text():
    vertical = _read_pdf(REAL / "pdf" / "pdfjs_vertical.pdf")
    arabic = _read_pdf(REAL / "pdf" / "pdfjs_ArabicCIDTrueType.pdf")
    assert "日本語" in vertical.content and vertical.meta["extractor"] == "pypdfium2"
    assert "العربية" in arabic.content


def test_numbered_paragraphs_keep_the_space_after_their_number():
    # PDFium reads "10.Ensure that…" here (the PDF moves the pen instead of writing a space).
    doc = _read_pdf(ROOT / "corpus" / "ofsted" / "leicester_2021-11-12.pdf")
    assert not re.search(r"(?m)^\d{1,3}\.[A-Z]", doc.content)
    assert len(re.findall(r"(?m)^\d{1,3}\. [A-Z]", doc.content)) >= 30


def test_paragraph_gaps_become_blank_lines_but_a_heading_s_lines_stay_together(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=24)
    pdf.multi_cell(120, 12, "Inspection of Northshire local authority children's services")
    pdf.set_font("Helvetica", size=11)
    for number in (1, 2):
        pdf.ln(6)
        pdf.multi_cell(0, 6, f"Paragraph {number} says that the family support service saw more families "
                             "this year than last, and that waiting times fell in every team. " * 2)
    path = tmp_path / "gaps.pdf"
    path.write_bytes(bytes(pdf.output()))
    doc = _read_pdf(path)
    blocks = [block.split("\n") for block in doc.content.strip().split("\n\n")]
    assert [len(lines) for lines in blocks] == [2, 3, 3]  # heading; each paragraph, its wrapped lines
    assert blocks[1][0].startswith("Paragraph 1") and blocks[2][0].startswith("Paragraph 2")
