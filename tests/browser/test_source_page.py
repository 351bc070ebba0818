"""Check it at the source (issue 25, item 5): a passage's PDF page rendered, with its sentence's boxes
drawn where PDFium places its characters, as an accessible page; refused where the licence is not known."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.browser.conftest import axe_violations
from tests.conftest import make_settings
from tests.helpers import sources_by_file_name

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SENTENCE = "Kinship carers in Wessex received weekly support visits from a named social worker."
FILLER = ("The council reviewed its family help offer with partners across health, education and the police. "
          "Practitioners described the changes as helpful, and caseloads fell over the year. ")
TOP_MM = 120  # where the sentence starts on page 2, from the top of the page


def _pdf(path, licensed: bool) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 6, "Kinship care in Wessex: an evaluation\n\n" + FILLER * 6, new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    pdf.multi_cell(0, 6, FILLER * 4, new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(10, TOP_MM)
    pdf.multi_cell(0, 6, SENTENCE + " " + FILLER * 3, new_x="LMARGIN", new_y="NEXT")
    if licensed:
        pdf.multi_cell(0, 6, "\nThis publication is available under the Open Government Licence v3.0.",
                       new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


@pytest.fixture(scope="module")
def source_server(tmp_path_factory) -> Iterator[tuple[str, dict[str, str]]]:
    from werkzeug.serving import make_server

    from index.storage import open_generation
    from ingest.run import run_ingest
    from webapp import create_app

    folder = tmp_path_factory.mktemp("source-pdfs")
    _pdf(folder / "wessex-kinship.pdf", licensed=True)
    _pdf(folder / "unlicensed-kinship.pdf", licensed=False)
    settings = make_settings(tmp_path_factory.mktemp("source-index"))
    assert run_ingest([folder], settings).ok
    ids = {name: record.id for name, record in sources_by_file_name(open_generation(settings).store).items()}
    app = create_app({"KB_SETTINGS": settings})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", ids
    server.shutdown()


def _passage_with(page, server: str, source_id: str) -> int:
    data = page.request.get(f"{server}/api/documents/{source_id}").json()
    text = data["text"]
    at = text.index("Kinship carers in Wessex")
    return next(p["ordinal"] for p in data["passages"] if p["start"] <= at < p["end"])


def test_the_cited_page_is_shown_with_the_sentence_boxed_where_it_is_printed(page, source_server):
    server, ids = source_server
    source_id = ids["wessex-kinship.pdf"]
    ordinal = _passage_with(page, server, source_id)
    page.goto(f"{server}/documents/{source_id}?passage={ordinal}&q=kinship+carers+weekly+support+visits")
    page.click("#check-source")
    page.wait_for_url("**/source?passage=*")
    assert page.locator("h1").inner_text() == "Check it at the source: page 2"
    svg = page.locator("#source-page")
    image = svg.locator("image")
    image_url = image.get_attribute("href")
    response = page.request.get(server + image_url)
    assert response.ok and response.headers["content-type"] == "image/png"
    boxes = svg.locator("rect.app-source-box")
    assert boxes.count() >= 1
    # The first box sits where fpdf printed the sentence: TOP_MM from the top (A4 is 297 mm), at the left margin.
    frame, first = svg.bounding_box(), boxes.first.bounding_box()
    assert abs((first["y"] - frame["y"]) / frame["height"] - TOP_MM / 297) < 0.02
    assert abs((first["x"] - frame["x"]) / frame["width"] - 10 / 210) < 0.02
    assert first["width"] / frame["width"] > 0.5  # a whole line of text, not a stray glyph
    # The text alternative: the SVG's title names the sentence; the passage is on the page as text.
    assert SENTENCE in svg.locator("title").text_content()
    assert SENTENCE in page.locator("#source-passage").inner_text()
    assert axe_violations(page) == []
    assert page.js_errors == []


def test_a_pdf_without_a_licence_that_allows_it_is_not_shown(page, source_server):
    server, ids = source_server
    source_id = ids["unlicensed-kinship.pdf"]
    ordinal = _passage_with(page, server, source_id)
    page.goto(f"{server}/documents/{source_id}/source?passage={ordinal}")
    assert "does not say it is published under a licence" in page.locator("#source-refusal").inner_text()
    assert page.locator("#source-page").count() == 0
    assert page.request.get(f"{server}/documents/{source_id}/source/2.png").status == 404
    assert page.request.get(f"{server}/documents/{source_id}/source?passage=9999").status == 404
    assert axe_violations(page) == []
