"""Issue 26, deliverable 6: a pasted case note stays out of URLs, headings and titles.

The access log itself is read in tests/test_serve.py (gunicorn, as `kb serve` runs it).
"""

from __future__ import annotations

import html
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import CORPUS


@pytest.fixture(scope="module")
def paragraph() -> str:
    words = (CORPUS / "003_9ee0817c87de1d62.txt").read_text(encoding="utf-8").split()
    return " ".join(words[len(words) // 2 - 100 : len(words) // 2 + 100])


def _title(page: str) -> str:
    found = re.search(r"<title[^>]*>(.*?)</title>", page, re.S)
    assert found
    return html.unescape(found.group(1)).strip()


def _h1(page: str) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    assert found
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def test_the_box_warns_against_personal_details_and_posts(client):
    page = client.get("/").get_data(as_text=True)
    assert "Do not type a child's name or other personal details." in html.unescape(page)
    assert re.search(r'<form action="/search" method="post" role="search"', page)
    assert re.search(r'<div id="q-hint" class="govuk-hint"><strong id="q-privacy"', page)
    assert 'aria-describedby="q-hint"' in page


def test_typed_words_come_back_as_a_url_to_share(client):
    response = client.post("/search", data={"q": "adolescents edge of care", "type": "blog"})
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == "/search"
    assert parse_qs(location.query) == {"q": ["adolescents edge of care"], "type": ["blog"]}


def test_a_pasted_text_is_held_under_an_id_never_in_a_url(client, paragraph):
    response = client.post("/search", data={"q": paragraph, "sort": "date"})
    assert response.status_code == 303
    location = response.headers["Location"]
    args = parse_qs(urlsplit(location).query)
    assert set(args) == {"r", "sort"} and re.fullmatch(r"[A-Za-z0-9_-]{22}", args["r"][0])
    page_response = client.get(location)
    assert page_response.status_code == 200
    page = page_response.get_data(as_text=True)
    # The heading and title name it, short; the whole text is one click away and in the box to edit.
    assert _h1(page) == "Results for the text you pasted"
    assert re.fullmatch(r"\d+ results? for the text you pasted – innovation-kb", _title(page))
    assert 'id="app-query-text"' in page and "Show the text you pasted (200 words)" in page
    # No link of the page carries the text: every link to results or a source carries the id instead.
    links = [html.unescape(href) for href in re.findall(r'href="([^"]+)"', page)]
    first_words = paragraph.split()[:3]
    assert not [link for link in links if "q=" in link and first_words[0] in link]
    sources = [link for link in links if link.startswith("/documents/")]
    assert sources and all(f"r={args['r'][0]}" in link for link in sources)
    # No alert feed for pasted text (its address would have to hold the text).
    assert 'id="alerts-pasted"' in page and "application/atom+xml" not in page


def test_a_pasted_text_in_a_link_moves_to_an_id(client, paragraph):
    response = client.get("/search", query_string={"q": paragraph, "type": "report"})
    assert response.status_code == 303
    args = parse_qs(urlsplit(response.headers["Location"]).query)
    assert set(args) == {"r", "type"}


def test_the_json_api_is_unchanged(client, paragraph):
    response = client.get("/api/search", query_string={"q": paragraph})
    assert response.status_code == 200
    assert response.get_json()["query"] == paragraph


def test_the_export_and_back_to_results_follow_the_id(client, paragraph):
    location = client.post("/search", data={"q": paragraph}).headers["Location"]
    ref = parse_qs(urlsplit(location).query)["r"][0]
    export = client.get("/search/export", query_string={"search": f"r={ref}", "format": "csv"})
    assert export.status_code == 200 and export.get_data(as_text=True).count("\n") > 1
    page = client.get(location).get_data(as_text=True)
    source = next(html.unescape(h) for h in re.findall(r'href="(/documents/[^"]+)"', page))
    document = client.get(source).get_data(as_text=True)
    back = re.search(r'href="([^"]+)"[^>]*>\s*Back to results', document)
    assert back and f"r={ref}" in html.unescape(back.group(1))


def test_a_forgotten_text_says_what_to_do(app, client, paragraph):
    response = client.get("/search", query_string={"r": "A" * 22})
    assert response.status_code == 410
    assert "Paste it into the search box again" in response.get_data(as_text=True)
    assert client.get("/api/search", query_string={"r": "../../etc/passwd"}).status_code == 400


def test_a_long_query_is_a_short_heading(client):
    words = "adolescents edge of care " * 8  # 32 words: not pasted (4 distinct ones), but long
    page = client.get("/search", query_string={"q": words.strip()}).get_data(as_text=True)
    assert len(_h1(page)) < 80 and _h1(page).endswith("…”")
    assert len(_title(page)) < 110
    assert "Show the whole search (32 words)" in page


def test_held_texts_expire_and_the_oldest_go_first(tmp_path):
    from webapp.pasted import DirectoryTexts, MemoryTexts

    for texts in (MemoryTexts(ttl=0.2, max_held=2), DirectoryTexts(tmp_path, ttl=0.2, max_held=2)):
        first = texts.put("one")
        assert texts.get(first) == "one"
        second, third = texts.put("two"), texts.put("three")
        assert texts.get(first) is None and texts.get(second) == "two" and texts.get(third) == "three"
        time.sleep(0.3)
        assert texts.get(third) is None


def test_flask_own_server_logs_paths_without_queries(app, caplog):
    """`kb serve --dev`: werkzeug's request log, through the handler kb gives it."""
    import logging
    import threading
    import urllib.request

    from werkzeug.serving import make_server

    from webapp.server import PrivateRequestHandler

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=PrivateRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            url = f"http://127.0.0.1:{server.server_port}/api/suggest?q=Zebedee"
            with urllib.request.urlopen(url, timeout=30) as response:
                assert response.status == 200
    finally:
        server.shutdown()
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert any("GET /api/suggest HTTP/1.1" in line for line in lines), lines
    assert not [line for line in lines if "Zebedee" in line]


@pytest.mark.parametrize("logged, kept", [
    ("GET /search?q=Zebedee+Smith HTTP/1.1", "GET /search HTTP/1.1"),
    ("http://kb.example/search?q=Zebedee#match", "http://kb.example/search"),
    ("/documents/abc?r=AAAA&page=2", "/documents/abc"),
    ("-", "-"),
])
def test_a_logged_url_loses_its_query(logged, kept):
    from webapp.server import without_query

    assert without_query(logged) == kept
