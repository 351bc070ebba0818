"""Taking sources away: citations, exports read back by the libraries that read them, and alert feeds."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date

import bibtexparser
import feedparser
import pytest
import rispy

from webapp.takeaway import Citation, Entry, atom_feed, bibtex, citation_for, csl_json, csv_text, ris, spreadsheet_safe

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

def test_harvard_citation_names_persons_surname_first_then_year_title_publisher_url_and_accessed_date():
    entry = _entry(1, authors=("Stuart Carlton", "Spring Consortium"), publisher="Cafcass", date="2016-09-23",
                   url="https://www.cafcass.gov.uk/power", title="The Power to Innovate")
    cited = citation_for(entry, ACCESSED)
    assert cited.text() == (
        "Carlton, S. and Spring Consortium (2016) The Power to Innovate. Cafcass. "
        "Available at: https://www.cafcass.gov.uk/power (Accessed: 24 November 2026).")
    assert cited.in_text() == "(Carlton and Spring Consortium, 2016)"
    three = citation_for(_entry(9, authors=("Niamh O’Brien", "Faye Acton", "Mary-Jane Smith"), date="2024"),
                         ACCESSED)
    assert three.text().startswith("O’Brien, N., Acton, F. and Smith, M.-J. (2024) Title 9.")


def test_the_publisher_is_the_corporate_author_and_our_copy_is_never_cited_as_the_original():
    cited = citation_for(_entry(2, publisher="Department for Education", title="Is it working?"), ACCESSED)
    # The publisher is the author and is not named twice; no original known: no "Available at" at all
    # (our page is not the publication); no date: "no date".
    assert cited.text() == "Department for Education (no date) Is it working?"
    assert "kb.example" not in cited.text() and cited.url is None
    anonymous = citation_for(_entry(3, date="2020-01-01"), ACCESSED).text()
    assert anonymous == "Title 3 (2020)."


def test_a_reference_from_a_passage_gives_its_page_or_pages():
    entry = _entry(4, publisher="Ofsted", date="2019-12-20", title="Inspection of Hackney",
                   url="https://reports.ofsted.gov.uk/x")
    one = citation_for(entry, ACCESSED, page=5)
    assert one.text() == ("Ofsted (2019) Inspection of Hackney, p. 5. Available at: https://reports.ofsted.gov.uk/x "
                          "(Accessed: 24 November 2026).")
    assert one.in_text() == "(Ofsted, 2019, p. 5)"
    assert citation_for(entry, ACCESSED, page=5, page_end=6).in_text() == "(Ofsted, 2019, pp. 5–6)"


def test_citation_html_escapes_the_title_and_sets_it_in_italics():
    html = Citation("A <b>", "2020", "<script>x</script>", None, "https://e.org", "1 May 2020").html()
    assert "<script>" not in html and "<i>&lt;script&gt;x&lt;/script&gt;</i>" in html and "A &lt;b&gt;" in html


# -- exports read back -------------------------------------------------------------------------------

def test_ris_parses_with_rispy_persons_as_au_and_a_corporate_author_with_its_trailing_comma():
    entries = [NASTY, _entry(2, type="inspection", publisher="Ofsted", date="2021-07-01",
                             lead_inspector="Nick Stacey")]
    records = rispy.loads(ris(entries, ACCESSED))
    assert [r["title"] for r in records] == [NASTY.title, "Title 2"]
    first, second = records
    assert first["type_of_reference"] == "BLOG" and second["type_of_reference"] == "RPRT"
    # A person as "Family, Given"; an organisation whole, with the comma that stops it being split.
    assert first["authors"] == ["O'Neil, Jane", "Department for Education and Skills Research Unit,"]
    assert first["publisher"] == "Children & Young People Now"
    assert first["urls"] == ["https://example.org/a?b=1&c=2"] and first["year"] == "2019"
    assert first["access_date"] == "2026/11/24" and first["id"] == "s1"
    assert second["authors"] == ["Ofsted,"] and second["publisher"] == "Ofsted"
    # No original known: no UR (never our copy's address as the URL); our copy and the lead inspector are notes.
    assert "urls" not in second and "access_date" not in second
    assert second["notes"] == ["Lead inspector: Nick Stacey",
                               "Copy consulted in innovation-kb: https://kb.example/documents/s2"]


def test_bibtex_parses_with_bibtexparser_and_keeps_special_characters_escaped():
    entries = [NASTY, _entry(2, type="inspection", publisher="Ofsted", date="2021-07-01"),
               _entry(3, title="Title 2", type="inspection", publisher="Ofsted", date="2021-07-01"),
               _entry(4, type="report")]
    text = bibtex(entries, ACCESSED)
    database = bibtexparser.loads(text)
    assert len(database.entries) == 4
    keys = [e["ID"] for e in database.entries]
    assert len(set(keys)) == 4 and all(k.isascii() and k.isalnum() for k in keys)
    first, second, _, unknown = database.entries
    assert first["ENTRYTYPE"] == "misc" and second["ENTRYTYPE"] == "techreport"
    assert second["institution"] == "Ofsted" and second["year"] == "2021"
    # The corporate author in double braces: one name, never a person surnamed "Ofsted".
    assert second["author"] == "{Ofsted}" and "url" not in second
    # Every LaTeX special is escaped, so the braces balance and the title is read whole.
    assert first["title"].startswith(r"Costs \textbraceleft{}of\textbraceright{} care: 50\% \& rising\_fast \#1 \$5")
    assert first["title"].endswith(r"\textbackslash{} \textbraceright{}unbalanced\textbraceleft{}")
    assert first["url"] == r"https://example.org/a?b=1\&c=2" and first["urldate"] == "2026-11-24"
    assert first["author"] == "O'Neil, Jane and {Department for Education and Skills Research Unit}"
    # Nothing invented: a report with no known institution is a @misc without one, not "Unknown".
    assert unknown["ENTRYTYPE"] == "misc" and "institution" not in unknown and "author" not in unknown
    assert "Unknown" not in text


def test_bibtex_names_read_back_as_persons_and_one_organisation():
    from bibtexparser.customization import splitname

    [entry] = bibtexparser.loads(bibtex([_entry(5, authors=("Niamh O’Brien",), publisher="Department for Education")],
                                        ACCESSED)).entries
    assert splitname(entry["author"]) == {"first": ["Niamh"], "von": [], "last": ["O’Brien"], "jr": []}
    [corporate] = bibtexparser.loads(bibtex([_entry(6, publisher="Department for Education")], ACCESSED)).entries
    assert splitname(corporate["author"].strip("{}").join("{}"))["last"] == ["{Department for Education}"]


def test_csl_json_renders_in_harvard_cite_them_right_with_citeproc():
    from citeproc import Citation as CslCitation
    from citeproc import CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
    from citeproc.source.json import CiteProcJSON

    entries = [_entry(1, authors=("Niamh O’Brien", "Faye Acton"), publisher="Department for Education",
                      date="2024-05-21", title="Understanding social worker recording", url="https://example.org/r"),
               _entry(2, type="inspection", publisher="Ofsted", date="2017-11-24", title="Inspection of Camden",
                      lead_inspector="Nick Stacey")]
    items = json.loads(csl_json(entries, ACCESSED))
    assert items[0]["author"] == [{"family": "O’Brien", "given": "Niamh"}, {"family": "Acton", "given": "Faye"}]
    assert items[1]["author"] == [{"literal": "Ofsted"}] and "URL" not in items[1]
    assert "Lead inspector: Nick Stacey" in items[1]["note"]
    style = CitationStylesStyle("harvard-cite-them-right", locale="en-GB", validate=False)
    bibliography = CitationStylesBibliography(style, CiteProcJSON(items), formatter.plain)
    for item in items:
        bibliography.register(CslCitation([CitationItem(item["id"])]))
    persons, corporate = sorted((str(r) for r in bibliography.bibliography()), key=lambda r: "Ofsted" in r)
    assert persons.startswith("O’Brien, N. and Acton, F. (2024) Understanding social worker recording.")
    assert "Available at: https://example.org/r" in persons and "(Accessed: 24 November 2026)" in persons
    # The corporate author read as one name (not "Ofsted, O."), and no address where the original's is unknown.
    assert corporate.startswith("Ofsted (2017) Inspection of Camden.") and "Available at" not in corporate


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
    # Our copy is named as such in the note, never given as the original's url.
    assert f"/documents/{source_id}" in entry["note"] and not entry.get("url", "").endswith(f"/documents/{source_id}")
    csl = client.get(f"/api/documents/{source_id}", query_string={"format": "csljson"})
    assert csl.headers["Content-Type"].startswith("application/vnd.citationstyles.csl+json")
    assert csl.headers["Content-Disposition"].endswith('.json"') and json.loads(csl.get_data())[0]["id"] == source_id
    data = client.get(f"/api/documents/{source_id}").get_json()  # without format: the JSON, as before
    assert data["source_id"] == source_id and data["first_indexed"] == corpus_searcher.store.get_source(
        source_id).first_indexed
    wrong = client.get(f"/api/documents/{source_id}", query_string={"format": "xml"})
    assert wrong.status_code == 400
    assert "format must be one of ris, bibtex, csv, csljson" in wrong.get_json()["error"]["message"]
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
    assert "Cite this" in html and "In the text: <span class=\"app-in-text\">(" in html
    assert 'class="app-copy" data-copy-target="cite-' in html  # app.js adds its Copy button


@pytest.mark.integration
def test_document_page_shows_its_citation_and_downloads(client):
    source_id = _ranked_ids(client, "power to innovate")[0]
    html = client.get(f"/documents/{source_id}").get_data(as_text=True)
    assert "Cite this source" in html and "Added to this service on" in html and 'id="reference"' in html
    assert f"/api/documents/{source_id}?format=csljson" in html
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


@pytest.mark.integration
def test_every_export_of_a_multi_source_search_parses_back_with_the_sources_fields(client):
    """RIS (rispy), BibTeX (bibtexparser), CSL-JSON (citeproc-py, rendered in Cite Them Right) and CSV of one
    search: each holds every source in the search's order, with the title, persons or corporate author,
    publisher, year and original address the source's own JSON gives."""
    from citeproc import Citation as CslCitation
    from citeproc import CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
    from citeproc.source.json import CiteProcJSON

    q = {"q": "social work innovation", "top_k": 50}
    ids = _ranked_ids(client, **q)
    assert len(ids) >= 5
    sources = {i: client.get(f"/api/documents/{i}").get_json() for i in ids}

    def export(fmt: str) -> str:
        return client.get("/api/search", query_string={**q, "format": fmt}).get_data(as_text=True)

    records = rispy.loads(export("ris"))
    entries = bibtexparser.loads(export("bibtex")).entries
    items = json.loads(export("csljson"))
    rows = list(csv.DictReader(io.StringIO(export("csv").removeprefix("\ufeff"))))
    assert [r["id"] for r in records] == [i["id"] for i in items] == [r["source_id"] for r in rows] == ids
    assert len(entries) == len(ids)
    style = CitationStylesStyle("harvard-cite-them-right", locale="en-GB", validate=False)
    bibliography = CitationStylesBibliography(style, CiteProcJSON(items), formatter.plain)
    for source_id, record, entry, item, row in zip(ids, records, entries, items, rows, strict=True):
        source = sources[source_id]
        persons, publisher, year = source["authors"], source["publisher"], (source["date"] or "")[:4] or None
        assert record["title"] == item["title"] == row["title"] == source["title"]
        if persons:
            assert len(record["authors"]) == len(item["author"]) == len(persons)
            # Read back, each name is the source's: "Family, Given" for a person, "Name," for an organisation.
            read = [a[:-1] if a.endswith(",") else " ".join(reversed(a.split(", ", 1))) for a in record["authors"]]
            assert read == persons
            assert [n.get("literal") or f"{n['given']} {n['family']}" for n in item["author"]] == persons
        elif publisher:  # the corporate author, whole
            assert record["authors"] == [publisher + ","] and item["author"] == [{"literal": publisher}]
            assert entry["author"].startswith("{") and entry["author"].endswith("}")
        assert record.get("publisher") == item.get("publisher") == publisher
        assert record.get("year") == entry.get("year") == year
        assert record.get("urls", [None])[0] == item.get("URL") == entry.get("url") == source["url"]
        assert "Unknown" not in str(entry)
        bibliography.register(CslCitation([CitationItem(source_id)]))
    rendered = [str(r) for r in bibliography.bibliography()]
    assert len(rendered) == len(ids)
    for text in rendered:  # Cite Them Right: "Who (Year) Title." with "Available at" only for an original
        assert re.match(r"^.+ \((\d{4}|no date)\) .+", text), text
        assert "/documents/" not in text


def test_fifty_varied_sources_export_and_parse_back_in_every_format():
    """Fifty sources of every kind the corpora hold (persons, a corporate author, neither; an original's
    address or none; dated or not; names with apostrophes, hyphens and accents) parse back whole."""
    from citeproc import Citation as CslCitation
    from citeproc import CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
    from citeproc.source.json import CiteProcJSON

    people = [(), ("Niamh O’Brien", "Faye Acton"), ("Mary-Jane Thomson-Jones",), ("Zoë Álvarez", "Li Wei", "Sam Hart")]
    publishers = [None, "Ofsted", "Department for Education", "Children & Young People Now"]
    kinds = ("report", "inspection", "blog", "news", "article")
    entries = [_entry(n, authors=people[n % 4], publisher=publishers[(n // 4) % 4], type=kinds[n % 5],
                      date=None if n % 7 == 0 else f"{2010 + n % 15}-0{1 + n % 9}-1{n % 9}",
                      url=None if n % 3 == 0 else f"https://example.org/r/{n}?a=1&b=2",
                      title=f"Report {n}: {{care}} & 50%") for n in range(50)]
    records = rispy.loads(ris(entries, ACCESSED))
    database = bibtexparser.loads(bibtex(entries, ACCESSED))
    items = json.loads(csl_json(entries, ACCESSED))
    assert len(records) == len(database.entries) == len(items) == 50
    style = CitationStylesStyle("harvard-cite-them-right", locale="en-GB", validate=False)
    bibliography = CitationStylesBibliography(style, CiteProcJSON(items), formatter.plain)
    for entry, record, bib, item in zip(entries, records, database.entries, items, strict=True):
        assert record["title"] == item["title"] == entry.title and record["id"] == item["id"] == entry.source_id
        expected = [" ".join(reversed(a.split(", ", 1))) for a in record.get("authors", []) if not a.endswith(",")]
        assert expected == list(entry.authors)
        if not entry.authors and entry.publisher:
            assert record["authors"] == [entry.publisher + ","] and bib["author"] == "{" + bib["author"][1:-1] + "}"
        assert record.get("urls", [None])[0] == item.get("URL") == entry.url
        assert ("url" in bib) == bool(entry.url) and "Unknown" not in str(bib)
        bibliography.register(CslCitation([CitationItem(entry.source_id)]))
    rendered = [str(r) for r in bibliography.bibliography()]
    assert len(rendered) == 50 and not any("kb.example" in r for r in rendered)
    assert sum("Available at: https://example.org/r/" in r for r in rendered) == sum(bool(e.url) for e in entries)
