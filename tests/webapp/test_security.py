"""Security and robustness of the web app: headers, escaping, bounds, no tracebacks."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("url", ["/", "/search?q=care", "/api/search?q=care", "/nowhere", "/static/app.js"])
def test_standard_headers_everywhere(client, url):
    response = client.get(url)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp and "base-uri 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_inline_script_carries_the_nonce_of_its_response(client):
    first, second = client.get("/"), client.get("/")
    nonces = []
    for response in (first, second):
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        page = response.get_data(as_text=True)
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
        assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline)
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def _attributes(page: str) -> list[tuple[str, str]]:
    """Every attribute of every tag, values unescaped as a browser reads them."""
    found: list[tuple[str, str]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.extend((name, value or "") for name, value in attrs)

    Collector().feed(page)
    return found


@pytest.mark.parametrize("query", [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)> care',
    "care <mark>social</mark> work",
    "javascript:alert(1) innovation",
])
def test_hostile_text_is_escaped_everywhere(client, query):
    page = client.get("/search", query_string={"q": query}).get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page and "<mark>social</mark>" not in page
    attributes = _attributes(page)
    assert ("value", query) in attributes  # echoed back in the search box, as text
    # Escaping does not stop a javascript: URL: typed text must never become a link, a source or a form target.
    links = [value for name, value in attributes if name in ("href", "src", "action", "formaction")]
    assert links and not [v for v in links if v.strip().lower().startswith(("javascript:", "data:", "vbscript:"))]
    api = client.get("/api/search", query_string={"q": query})
    assert api.status_code in (200, 400)
    for result in (api.get_json().get("results") or []):
        for passage in result["passages"]:
            assert "<script" not in passage["highlighted"] and "<img" not in passage["highlighted"]


@pytest.mark.parametrize("url, status", [
    ("/search?q=care&page=99999999999999999999", 400),
    ("/search?q=care&top_k=-1", 400),
    ("/search?q=care&year=20166", 400),
    ("/search?q=care&council=" + "x" * 101, 400),
    ("/search?q=care&council=nowhere", 400),
    ("/api/search?q=care&type=" + "&type=".join(f"t{i}" for i in range(21)), 400),
    ("/api/suggest?q=a", 400),
    ("/api/suggest?q=" + "a" * 101, 400),
    ("/search?q=%00%01care", 200),
    ("/documents/..%2f..%2fetc%2fpasswd", 404),
])
def test_bounds_give_clear_4xx_never_5xx(client, url, status):
    response = client.get(url)
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "werkzeug" not in body.lower()


def test_unknown_filter_value_is_named_with_the_values_there_are(client):
    """Issue 23, 7: a made-up value is a mistake to say, not "nothing matched"."""
    response = client.get("/search?q=care&council=narnia")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "no council called &#39;narnia&#39;" in page
    api = client.get("/api/search?q=care&type=podcast")
    error = api.get_json()["error"]
    assert api.status_code == 400 and error["parameter"] == "type" and "blog" in error["known"]
    assert "type may be one of" in error["message"]
    assert client.get("/api/search?q=care&judgement=inadequate").status_code == 400
    # a real value that no source here has finds nothing, truly
    real = client.get("/api/search?q=care&judgement=overall-effectiveness-inadequate")
    assert real.status_code == 200 and real.get_json()["total"] == 0


def test_a_page_past_the_last_is_a_404_linking_to_the_last(client):
    total = client.get("/api/search?q=care&top_k=2").get_json()
    pages = total["pages"]
    assert pages >= 2
    assert client.get(f"/api/search?q=care&top_k=2&page={pages}").status_code == 200
    past = client.get(f"/api/search?q=care&top_k=2&page={pages + 1}")
    assert past.status_code == 404 and past.get_json()["error"]["pages"] == pages
    page = client.get(f"/search?q=care&top_k=2&page={pages + 1}")
    text = page.get_data(as_text=True)
    assert page.status_code == 404 and f"page={pages}" in text and "Go to the last page" in text


def test_no_debug_in_production_app(corpus_settings):
    from webapp import create_app

    app = create_app({"KB_SETTINGS": corpus_settings})
    assert not app.debug and not app.testing

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "secret detail" not in response.get_data(as_text=True)


def test_suggestions_and_api_facets(client):
    data = client.get("/api/suggest?q=innov").get_json()
    assert data["suggestions"] and all("innov" in s["text"].lower() for s in data["suggestions"])
    assert {s["kind"] for s in data["suggestions"]} <= {"document", "theme", "project"}
    projects = client.get("/api/suggest?q=tribor").get_json()["suggestions"]
    assert projects[0] == {"text": "Tri-Borough", "kind": "project", "slug": "tri-borough", "name": "Tri-Borough",
                           "url": None, "page_url": "/projects/tri-borough"}
    api = client.get("/api/search?q=social work&type=blog").get_json()
    assert set(api["facets"]) == {"type", "year", "council", "mentions", "theme", "project", "judgement"}
    # The ticked facet keeps its other values (counted without its own choice); the rest count the blogs.
    assert api["facets"]["type"]["blog"] == api["total"] and len(api["facets"]["type"]) > 1
    assert sum(api["facets"]["year"].values()) == api["total"]
    assert all(r["type"] == "blog" for r in api["results"])
