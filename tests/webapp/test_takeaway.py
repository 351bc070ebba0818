"""Taking sources away: citations, exports read back by the libraries that read them, and alert feeds."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import bibtexparser
import feedparser
import pytest
import rispy

from webapp.takeaway import Citation, Entry, atom_feed, bibtex, citation_for, csv_text, ris, spreadsheet_safe

ACCESSED = date(2026, 11, 24)


def _entry(n: int, **fields) -> Entry:
    base = dict(source_id=f"s{n}", title=f"Title {n}", type="report", authors=(), publisher=None, date=None,
                url=None, page_url=f"https://kb.example/documents/s{n}", first_indexed=None)
    return Entry(**{**base, **fields})


NASTY = _entry(1, title="Costs {of} care: 50% & rising_fast #1 $5 ~ ^ \\ }unbalanced{",
               authors=("Jane O'Neil", "Department for Education and Skills Research Unit"),
               publisher="Children & Young People Now", date="2019-03-05", url="https://example.org/a?b=1&c=2",
               type="blog")


# -- citations ---------------------------------------------------------------------------------------

def test_harvard_citation_names_author_year_title_publisher_url_and_accessed_date():
    entry = _entry(1, authors=("Stuart Carlton", "Spring Consortium"), publisher="Cafcass", date="2016-09-23",
                   url="https://www.cafcass.gov.uk/power", title="The Power to Innovate")
    assert citation_for(entry, ACCESSED).text() == (
        "Stuart Carlton and Spring Consortium (2016) The Power to Innovate. Cafcass. "
        "Available at: https://www.cafcass.gov.uk/power (Accessed: 24 November 2026).")


def test_citation_falls_back_to_publisher_our_page_and_no_date():
    cited = citation_for(_entry(2, publisher="Ofsted", title="Is it working?"), ACCESSED)
    # The publisher is the author and is not named twice; no original: our page; no date: "no date".
    assert cited.text() == ("Ofsted (no date) Is it working? Available at: https://kb.example/documents/s2 "
                            "(Accessed: 24 November 2026).")
    anonymous = citation_for(_entry(3, date="2020-01-01"), ACCESSED).text()
    assert anonymous.startswith("Title 3 (2020). Available at:")


def test_citation_html_escapes_the_title_and_sets_it_in_italics():
    html = Citation("A <b>", "2020", "<script>x</script>", None, "https://e.org", "1 May 2020").html()
    assert "<script>" not in html and "<i>&lt;script&gt;x&lt;/script&gt;</i>" in html and "A &lt;b&gt;" in html


# -- exports read back -------------------------------------------------------------------------------

def test_ris_parses_with_rispy():
    entries = [NASTY, _entry(2, type="inspection", publisher="Ofsted", date="2021-07-01")]
    records = rispy.loads(ris(entries, ACCESSED))
    assert [r["title"] for r in records] == [NASTY.title, "Title 2"]
    first, second = records
    assert first["type_of_reference"] == "BLOG" and second["type_of_reference"] == "RPRT"
    assert first["authors"] == list(NASTY.authors) and first["publisher"] == "Children & Young People Now"
    assert first["urls"] == ["https://example.org/a?b=1&c=2"] and first["year"] == "2019"
    assert first["access_date"] == "2026/11/24" and first["id"] == "s1"
    assert second["urls"] == ["https://kb.example/documents/s2"]


def test_bibtex_parses_with_bibtexparser_and_keeps_special_characters_escaped():
    entries = [NASTY, _entry(2, type="inspection", publisher="Ofsted", date="2021-07-01"),
               _entry(3, title="Title 2", type="inspection", publisher="Ofsted", date="2021-07-01")]
    text = bibtex(entries, ACCESSED)
    database = bibtexparser.loads(text)
    assert len(database.entries) == 3
    keys = [e["ID"] for e in database.entries]
    assert len(set(keys)) == 3 and all(k.isascii() and k.isalnum() for k in keys)
    first, second, _ = database.entries
    assert first["ENTRYTYPE"] == "misc" and second["ENTRYTYPE"] == "techreport"
    assert second["institution"] == "Ofsted" and second["year"] == "2021"
    # Every LaTeX special is escaped, so the braces balance and the title is read whole.
    assert first["title"].startswith(r"Costs \textbraceleft{}of\textbraceright{} care: 50\% \& rising\_fast \#1 \$5")
    assert first["title"].endswith(r"\textbackslash{} \textbraceright{}unbalanced\textbraceleft{}")
    assert first["url"] == r"https://example.org/a?b=1\&c=2" and first["urldate"] == "2026-11-24"
    assert first["author"] == "Jane O'Neil and {Department for Education and Skills Research Unit}"


def test_csv_parses_and_guards_against_spreadsheet_formulas():
    hostile = _entry(4, title="=HYPERLINK(\"https://evil.example\",\"click\")", publisher="+44 20 7946 0000",
                     authors=("-2+3", "@SUM(A1)"), date="2018")
    text = csv_text([NASTY, hostile], ACCESSED)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [r["source_id"] for r in rows] == ["s1", "s4"]
    assert rows[0]["title"] == NASTY.title and rows[0]["original_url"] == NASTY.url
    assert rows[0]["citation"] == citation_for(NASTY, ACCESSED).text()
    assert rows[1]["title"].startswith("'=HYPERLINK") and rows[1]["publisher"] == "'+44 20 7946 0000"
    assert rows[1]["authors"] == "'-2+3; @SUM(A1)"
    for row in rows:
        assert not any(value.startswith(("=", "+", "-", "@")) for value in row.values())


@pytest.mark.parametrize("value, safe", [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"),
                                         ("\t=x", "'\t=x"), ("a=b", "a=b"), ("", "")])
def test_spreadsheet_safe(value, safe):
    assert spreadsheet_safe(value) == safe


# -- feeds -------------------------------------------------------------------------------------------

def test_feed_validates_and_is_ordered_by_first_indexed_not_publication_date():
    old_report = _entry(1, title="A 2019 report indexed tonight", date="2019-01-01",
                        first_indexed="2026-11-24T22:00:00+00:00", url="https://example.org/r")
    recent_post = _entry(2, title="A 2026 post indexed last month", date="2026-10-01",
                         first_indexed="2026-10-20T08:00:00+00:00")
    older = _entry(3, title="Indexed before dates were kept")
    text = atom_feed([recent_post, older, old_report], title="innovation-kb: sources for “care”",
                     self_url="https://kb.example/search.atom?q=care", page_url="https://kb.example/search?q=care",
                     fallback="2026-01-01T00:00:00+00:00")
    feed = feedparser.parse(text)
    assert feed.bozo == 0, feed.bozo_exception
    assert feed.version == "atom10"
    assert [e.title for e in feed.entries] == [old_report.title, recent_post.title, older.title]
    assert feed.entries[0].published.startswith("2026-11-24T22:00:00")
    assert feed.entries[2].published.startswith("2026-01-01")  # the generation's build date stands in
    assert feed.feed.updated.startswith("2026-11-24T22:00:00")
    assert [(link.rel, link.href) for link in feed.entries[0].links] == [("alternate", "https://kb.example/documents/s1")]
    assert "published 1 January 2019" in feed.entries[0].summary and "https://example.org/r" in feed.entries[0].summary


# -- through the app, over the sample corpus ---------------------------------------------------------


def _ranked_ids(client, q: str, **args) -> list[str]:
    data = client.get("/api/search", query_string={"q": q, "top_k": 50, **args}).get_json()
    return [r["source_id"] for r in data["results"]]


@pytest.mark.integration
def test_api_search_exports_the_results_in_order(client):
    ids = _ranked_ids(client, "adolescents edge of care")
    assert len(ids) >= 2
    response = client.get("/api/search", query_string={"q": "adolescents edge of care", "format": "ris"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/x-research-info-systems")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="innovation-kb-adolescents-edge-of-care-')
    assert disposition.endswith('.ris"')
    assert [r["id"] for r in rispy.loads(response.get_data(as_text=True))] == ids

    bib = client.get("/api/search", query_string={"q": "adolescents edge of care", "format": "bibtex"})
    assert bib.headers["Content-Type"].startswith("application/x-bibtex")
    assert bib.headers["Content-Disposition"].endswith('.bib"')
    assert len(bibtexparser.loads(bib.get_data(as_text=True)).entries) == len(ids)

    sheet = client.get("/api/search", query_string={"q": "adolescents edge of care", "format": "csv"})
    assert sheet.headers["Content-Type"].startswith("text/csv") and sheet.headers["Content-Disposition"].endswith(
        '.csv"')
    rows = list(csv.DictReader(io.StringIO(sheet.get_data(as_text=True).removeprefix("\ufeff"))))
    assert [r["source_id"] for r in rows] == ids and all(r["first_indexed"] for r in rows)


@pytest.mark.integration
def test_exports_follow_the_filters_and_the_ticked_sources(client):
    ids = _ranked_ids(client, "innovation", type="blog")
    assert ids
    # The results page's form sends the search in one field.
    rows = client.get("/search/export", query_string={"search": "q=innovation&type=blog", "format": "csv"})
    assert rows.status_code == 200
    parsed = list(csv.DictReader(io.StringIO(rows.get_data(as_text=True).removeprefix("\ufeff"))))
    assert [r["source_id"] for r in parsed] == ids and {r["type"] for r in parsed} == {"blog"}
    everything = _ranked_ids(client, "innovation")
    ticked = [everything[-1], everything[0]]
    picked = client.get("/search/export", query_string=[("q", "innovation"), ("format", "ris"),
                                                         ("id", ticked[0]), ("id", ticked[1])])
    assert [r["id"] for r in rispy.loads(picked.get_data(as_text=True))] == ticked


@pytest.mark.integration
def test_one_document_exports_and_wrong_formats_say_what_to_do(client, corpus_searcher):
    source_id = _ranked_ids(client, "power to innovate")[0]
    bib = client.get(f"/api/documents/{source_id}", query_string={"format": "bibtex"})
    assert bib.status_code == 200
    [entry] = bibtexparser.loads(bib.get_data(as_text=True)).entries
    assert entry["url"].endswith(f"/documents/{source_id}")
    data = client.get(f"/api/documents/{source_id}").get_json()  # without format: the JSON, as before
    assert data["source_id"] == source_id and data["first_indexed"] == corpus_searcher.store.get_source(
        source_id).first_indexed
    wrong = client.get(f"/api/documents/{source_id}", query_string={"format": "xml"})
    assert wrong.status_code == 400 and "format must be one of ris, bibtex, csv" in wrong.get_json()["error"]["message"]
    assert client.get("/api/documents/no-such-source", query_string={"format": "ris"}).status_code == 404
    gone = client.get("/search/export", query_string={"q": "care", "format": "ris", "id": "no-such-source"})
    assert gone.status_code == 400 and "ticked" in gone.get_data(as_text=True)
    assert client.get("/search/export", query_string={"format": "ris"}).status_code == 400


@pytest.mark.integration
def test_search_feed_validates_and_lists_the_search_newest_indexed_first(client, corpus_searcher):
    response = client.get("/search.atom", query_string={"q": "innovation", "type": "blog"})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.get_data(as_text=True))
    assert feed.bozo == 0, feed.bozo_exception
    ids = _ranked_ids(client, "innovation", type="blog")
    assert sorted(e.link.rsplit("/", 1)[-1] for e in feed.entries) == sorted(ids)
    records = corpus_searcher.store.get_sources(ids)
    published = [e.published for e in feed.entries]
    assert published == sorted(published, reverse=True)
    assert {e.published[:19] for e in feed.entries} == {records[i].first_indexed[:19] for i in ids}
    assert feed.feed.links[0].href.endswith("/search.atom?q=innovation&type=blog")
    same = feedparser.parse(client.get("/api/search", query_string={"q": "innovation", "type": "blog",
                                                                     "format": "atom"}).get_data(as_text=True))
    assert [e.id for e in same.entries] == [e.id for e in feed.entries]


def test_a_query_with_control_characters_still_gets_a_valid_feed(client):
    """XML cannot hold them, and feedgen refused the whole feed (a 500 found by the schema test)."""
    response = client.get("/search.atom", query_string={"q": "innovation\x01\x1f"})
    assert response.status_code == 200
    feed = feedparser.parse(response.get_data(as_text=True))
    assert feed.bozo == 0, feed.bozo_exception
    assert "\x01" not in feed.feed.title


@pytest.mark.integration
def test_results_page_links_its_feed_exports_and_citations(client):
    html = client.get("/search", query_string={"q": "power to innovate", "type": "blog"}).get_data(as_text=True)
    assert ('<link rel="alternate" type="application/atom+xml" title="Alerts: new sources for this search" '
            'href="/search.atom?q=power+to+innovate&amp;type=blog">') in html
    assert ">Get alerts for this search</a>" in html and "How to subscribe in Outlook or Teams" in html
    assert '<form id="app-export" action="/search/export" method="get">' in html
    assert 'name="id" type="checkbox"' in html and 'form="app-export"' in html
    assert '<input type="hidden" name="search" value="q=power+to+innovate&amp;type=blog">' in html
    assert "Cite this" in html and "(Accessed: " in html


@pytest.mark.integration
def test_document_page_shows_its_citation_and_downloads(client):
    source_id = _ranked_ids(client, "power to innovate")[0]
    html = client.get(f"/documents/{source_id}").get_data(as_text=True)
    assert "Cite this source" in html and "(Accessed: " in html and "Added to this service on" in html
    assert f"/api/documents/{source_id}?format=ris" in html and f"/api/documents/{source_id}?format=bibtex" in html


@pytest.mark.integration
def test_a_result_links_its_original_prominently_and_never_a_script_url(app):
    from flask import render_template

    from index.search.results import SourceResult

    def rendered(url):
        result = SourceResult(document_id="a b/c", title="Kinship care review", source="", type="report",
                              date="2023-05-01", score=1.0, publisher="DfE", url=url, authors=[], passages=[])
        with app.test_request_context("/search?q=kinship"):
            return render_template("search/_takeaway_result.html", r=result)

    html = rendered("https://www.gov.uk/government/publications/kinship")
    assert ('<a class="govuk-link govuk-!-font-weight-bold" href="https://www.gov.uk/government/publications/kinship" '
            'rel="noopener">Read the original') in html and "on gov.uk" in html
    # An id that is not a safe HTML id gets a hashed one; the value sent is the id itself.
    assert 'value="a b/c"' in html and re.search(r'id="pick-[0-9a-f]{16}"', html)
    assert "DfE (2023) <i>Kinship care review</i>. Available at: https://www.gov.uk/" in html
    unsafe = rendered("javascript:alert(1)")
    assert "Read the original" not in unsafe and "javascript:" not in unsafe


@pytest.mark.integration
def test_ticked_sources_are_bounded(client):
    too_many = [("format", "csv"), ("q", "care")] + [("id", f"s{n}") for n in range(501)]
    response = client.get("/api/search", query_string=too_many)
    assert response.status_code == 400 and "at most 500" in response.get_json()["error"]["message"]
    long_id = client.get("/api/search", query_string={"q": "care", "format": "ris", "id": "x" * 201})
    assert long_id.status_code == 400 and "id must be at most 200" in long_id.get_json()["error"]["message"]


@pytest.mark.integration
def test_export_holds_every_result_the_page_counts_even_beyond_the_candidates(corpus_settings):
    """Each retriever returns ``candidates`` passages; the fused list can name more sources than that,
    and the export must hold all that the page counts, in the page's order."""
    from webapp import create_app

    client = create_app({"TESTING": True, "KB_SETTINGS": corpus_settings.replace(candidates=2)}).test_client()
    query = {"q": "social work innovation", "top_k": 2}
    pages = [client.get("/api/search", query_string={**query, "page": n}).get_json() for n in (1, 2)]
    total = pages[0]["total"]
    assert total > 2
    sheet = client.get("/api/search", query_string={**query, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(sheet.get_data(as_text=True).removeprefix("\ufeff"))))
    assert len(rows) == total
    assert [r["source_id"] for r in rows[:2]] == [r["source_id"] for r in pages[0]["results"]]


@pytest.mark.integration
def test_an_export_keeps_the_pages_order_and_year_range(client):
    """Exported from a page sorted newest first, or narrowed to some years, the file holds that page's sources
    in that page's order (the export form packs sort and range into its search field)."""
    q = "innovation"
    by_date = _ranked_ids(client, q, sort="date")
    assert by_date != _ranked_ids(client, q), "the sample corpus must rank differently by date"
    packed = client.get("/search/export", query_string={"search": f"q={q}&sort=date", "format": "ris"})
    assert [r["id"] for r in rispy.loads(packed.get_data(as_text=True))] == by_date
    api = client.get("/api/search", query_string={"q": q, "sort": "date", "format": "ris"})
    assert [r["id"] for r in rispy.loads(api.get_data(as_text=True))] == by_date

    ranged = _ranked_ids(client, q, **{"from": 2015, "to": 2016})
    assert ranged and len(ranged) < len(by_date)
    sheet = client.get("/api/search", query_string={"q": q, "from": 2015, "to": 2016, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(sheet.get_data(as_text=True).removeprefix("\ufeff"))))
    assert [r["source_id"] for r in rows] == ranged
    page = client.get("/search", query_string={"q": q, "sort": "date", "from": 2015}).get_data(as_text=True)
    assert "sort=date" in page and "/search.atom?q=innovation&amp;from=2015" in page
    assert client.get("/api/search", query_string={"q": q, "sort": "newest", "format": "csv"}).status_code == 400
