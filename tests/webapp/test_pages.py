"""Pages and API through Flask's test client, over the ingested sample corpus."""

import json
import re
from importlib import resources

import pytest
from jsonschema import Draft202012Validator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def schemas():
    spec = json.loads(resources.files("webapp").joinpath("openapi.json").read_text())

    def validator(name):
        schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
        return Draft202012Validator(schema)

    return validator


def test_home_has_a_search_box(client):
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'<input class="govuk-input" id="q" name="q" type="search"', page)
    assert 'action="/search"' in page
    assert '<link rel="stylesheet" href="/static/build/app.css?v=' in page


def test_results_page_ranks_sources_with_highlighted_passages(client):
    response = client.get("/search", query_string={"q": "adolescents edge of care"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    titles = re.findall(r'<h2 class="govuk-heading-m[^"]*"><a class="govuk-link" href="(/documents/[^"]+)">'
                        r'([^<]+)</a></h2>', page)
    assert titles[0][1].startswith("Children&#39;s minister")
    assert "<mark>adolescents</mark>" in page.lower()
    assert "Community Care" in page and '<time datetime="2014-02-12">12 Feb 2014</time>' in page
    document = client.get(titles[0][0].replace("&amp;", "&"))
    assert document.status_code == 200
    text = document.get_data(as_text=True)
    assert '<mark id="match"' in text
    assert re.search(r'<dt class="govuk-summary-list__key">\s*Councils named\s*</dt>', text) and "Hackney" in text
    assert '12 Feb 2014</time>' in text and "metadata file" not in text  # where a field came from is ingest's
    assert 'Adolescents and edge of care</a> <span class="govuk-body-s app-result__meta">(1 paragraph about it)' in text
    assert "tagged because: “" in text and "make a big difference with adolescents" in text
    assert 'href="/councils/hackney"' in text and 'href="/projects/reclaiming-social-work"' in text


def test_the_search_form_takes_a_pasted_paragraph(client):
    from tests.conftest import CORPUS

    assert 'maxlength="6000"' in client.get("/").get_data(as_text=True)
    words = (CORPUS / "003_9ee0817c87de1d62.txt").read_text(encoding="utf-8").split()
    paragraph = " ".join(words[len(words) // 2 - 100 : len(words) // 2 + 100])  # 200 words, > 1,000 characters
    response = client.get("/search", query_string={"q": paragraph}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert paragraph[:40] not in response.request.url  # held under an id (tests/webapp/test_private_searches.py)
    titles = re.findall(r'<h2 class="govuk-heading-m[^"]*"><a class="govuk-link" href="[^"]+">([^<]+)</a></h2>', page)
    assert titles[0].startswith("Children&#39;s minister")
    assert "<mark>" in page
    # The box keeps the whole paragraph, to edit.
    assert 'value="' + paragraph[:60].replace("'", "&#39;") in page


def test_pagination_links(client):
    page = client.get("/search", query_string={"q": "innovation", "top_k": 2}).get_data(as_text=True)
    assert "page 1 of 3" in page
    assert re.search(r'href="/search\?q=innovation&amp;page=2&amp;top_k=2" rel="next"', page)
    second = client.get("/search", query_string={"q": "innovation", "top_k": 2, "page": 2}).get_data(as_text=True)
    assert 'rel="prev"' in second and "page 2 of 3" in second
    assert 'aria-current="page"' in second


def test_hostile_query_is_escaped(client):
    page = client.get("/search", query_string={"q": '<script>alert(1)</script> care'}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


@pytest.mark.parametrize("url, status, text", [
    ("/search?q=", 400, "Enter some words"),
    ("/search?q=" + "x" * 6001, 400, "the limit is 6000"),
    ("/search?q=care&page=0", 400, "page must be from 1"),
    ("/search?q=care&top_k=abc", 400, "top_k must be a whole number"),
    ("/search?q=-care", 400, "cannot be only exclusions"),
    ("/search?q=care&sort=newest", 400, "sort must be relevance or date"),
    ("/search?q=care&from=2017&to=2014", 400, "from 2017 is later than to 2014"),
    ("/search?q=care&from=2016-01", 400, "from must be a four-digit year"),
    ("/search?q=care&year=someday", 400, "year must be a four-digit year"),
    ("/documents/doesnotexist", 404, "no page at this address"),
    ("/documents/x?passage=abc", 404, "no page at this address"),
    ("/nowhere", 404, "no page at this address"),
])
def test_user_mistakes_get_helpful_pages(client, url, status, text):
    response = client.get(url)
    assert response.status_code == status
    assert text in response.get_data(as_text=True)


def test_api_keeps_the_contract(client, schemas):
    response = client.get("/api/search", query_string={"q": "power to innovate", "top_k": 2})
    data = response.get_json()
    assert response.status_code == 200
    schemas("SearchResponse").validate(data)
    assert data["query"] == "power to innovate" and data["total"] == 5 and len(data["results"]) == 2
    first = data["results"][0]
    assert {"document_id", "title", "source", "type", "date", "score", "passages"} <= set(first)
    passage = first["passages"][0]
    assert passage["end"] > passage["start"] >= 0
    assert "<mark>" in passage["highlighted"]


@pytest.mark.parametrize("query, status, code", [
    ({"q": ""}, 400, "bad_request"),
    ({"q": "care", "top_k": "1000"}, 400, "bad_request"),
    ({"q": '"""'}, 400, "bad_request"),
    ({"q": "care", "sort": "newest"}, 400, "bad_request"),
    ({"q": "care", "sort": ["date", "relevance"]}, 400, "bad_request"),
    ({"q": "care", "from": "2017", "to": "2014"}, 400, "bad_request"),
])
def test_api_errors_are_json(client, schemas, query, status, code):
    response = client.get("/api/search", query_string=query)
    assert response.status_code == status
    schemas("Error").validate(response.get_json())
    assert response.get_json()["error"]["code"] == code


def test_no_index_yet_says_how_to_build_one(tmp_path):
    from webapp import create_app

    app = create_app({"TESTING": True, "KB_OVERRIDES": {"data_dir": str(tmp_path / "empty")}})
    client = app.test_client()
    page = client.get("/search?q=care")
    assert page.status_code == 503
    assert "kb ingest corpus" in page.get_data(as_text=True)
    api = client.get("/api/search?q=care")
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "no_index"


def test_new_generation_is_picked_up_without_restart(tmp_path, corpus_copy):
    from ingest.run import run_ingest
    from tests.conftest import make_settings
    from webapp import create_app

    settings = make_settings(tmp_path / "data")
    run_ingest([corpus_copy / "003_9ee0817c87de1d62.txt"], settings)
    client = create_app({"TESTING": True, "KB_SETTINGS": settings}).test_client()
    first = client.get("/api/search?q=Trafford section 75").get_json()
    assert all("004_" not in r["source"] for r in first["results"])
    before = first["generation"]
    run_ingest([corpus_copy / "004_7b87d5ffdc1c3793.txt"], settings)
    after = client.get("/api/search?q=Trafford section 75").get_json()
    assert after["generation"] != before
    assert "004_" in after["results"][0]["source"]


def test_openapi_document_is_served_and_valid(client):
    from openapi_spec_validator import validate

    spec = client.get("/api/openapi.json").get_json()
    validate(spec)
    assert "/api/search" in spec["paths"]


def test_healthz_and_freshness(client, corpus_settings):
    from index.storage import generations

    health = client.get("/healthz").get_json()
    assert health["status"] == "ok" and health["sources"] == 5
    assert health["generation"] == generations(corpus_settings).current_id()
    assert "Index updated " in client.get("/").get_data(as_text=True)


def test_healthz_without_index_is_json_503(tmp_path):
    from webapp import create_app

    client = create_app({"TESTING": True, "KB_OVERRIDES": {"data_dir": str(tmp_path / "none")}}).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "no_index"


def _checkboxes(page: str, facet: str) -> dict[str, str]:
    """``{value: label}`` of a facet's checkboxes on a results page."""
    return dict(re.findall(rf'name="{facet}" type="checkbox" value="([^"]+)"[^>]*>\s*'
                           r'<label class="govuk-label govuk-checkboxes__label" for="[^"]+">([^<]+)<', page))


def test_ticking_a_type_keeps_the_other_types_listed_with_counts(client):
    everything = client.get("/api/search", query_string={"q": "social work"}).get_json()
    assert len(everything["facets"]["type"]) >= 2
    blogs = client.get("/api/search", query_string={"q": "social work", "type": "blog"}).get_json()
    assert blogs["facets"]["type"] == everything["facets"]["type"]
    assert blogs["total"] == everything["facets"]["type"]["blog"] < everything["total"]
    page = client.get("/search", query_string={"q": "social work", "type": "blog"}).get_data(as_text=True)
    listed = _checkboxes(page, "type")
    assert set(listed) == set(everything["facets"]["type"])
    other = next(t for t in listed if t != "blog")
    assert listed[other] == f"{other.capitalize()} ({everything['facets']['type'][other]}"
    assert 'value="blog" checked' in page and f'value="{other}" checked' not in page


def test_sort_by_date_lists_the_same_sources_newest_first_undated_last(client, schemas):
    ranked = client.get("/api/search", query_string={"q": "social work", "top_k": 50}).get_json()
    dated = client.get("/api/search", query_string={"q": "social work", "top_k": 50, "sort": "date"}).get_json()
    schemas("SearchResponse").validate(dated)
    assert ranked["sort"] == "relevance" and dated["sort"] == "date"
    assert sorted(r["source_id"] for r in dated["results"]) == sorted(r["source_id"] for r in ranked["results"])
    dates = [r["date"] for r in dated["results"]]
    known = [d for d in dates if d]
    assert len(known) >= 2 and None in dates
    assert dates == sorted(known, reverse=True) + [None] * (len(dates) - len(known))
    page = client.get("/search", query_string={"q": "social work", "sort": "date"}).get_data(as_text=True)
    assert "<strong>newest first</strong>" in page
    assert '<a class="govuk-link" href="/search?q=social+work">relevance' in page
    shown = re.findall(r'<time datetime="([^"]+)">', page)
    assert shown == sorted(shown, reverse=True)


def test_undated_sources_are_counted_and_reachable(client):
    everything = client.get("/api/search", query_string={"q": "social work", "top_k": 50}).get_json()
    undated = {r["source_id"] for r in everything["results"] if r["date"] is None}
    assert undated and everything["facets"]["year"]["unknown"] == len(undated)
    assert list(everything["facets"]["year"])[-1] == "unknown"
    chosen = client.get("/api/search", query_string={"q": "social work", "year": "unknown"}).get_json()
    assert {r["source_id"] for r in chosen["results"]} == undated
    browse = client.get("/search", query_string={"year": "unknown"}).get_data(as_text=True)
    assert "Sources with no known date" in browse and "Date not known (" in browse
    assert "date not known" in browse


def test_year_range_narrows_and_leaves_out_undated_sources(client):
    since = client.get("/api/search", query_string={"q": "social work", "from": "2016", "top_k": 50}).get_json()
    assert since["total"] >= 1 and all(r["date"] and r["date"] >= "2016" for r in since["results"])
    until = client.get("/api/search", query_string={"q": "social work", "to": "2015", "top_k": 50}).get_json()
    assert until["total"] >= 1 and all(r["date"] and r["date"] < "2016" for r in until["results"])
    page = client.get("/search", query_string={"q": "social work", "from": "2016"}).get_data(as_text=True)
    assert 'name="from" type="text" inputmode="numeric" maxlength="4" value="2016"' in page
    removal = ('href="/search?q=social+work">Remove filter<span class="govuk-visually-hidden">:</span> '
               'Published: from 2016')
    assert removal in page


def test_a_long_facet_shows_a_few_values_and_all_of_them_without_javascript(client):
    from webapp.search import FACET_SHOWN, FACET_SLACK

    # The councils the sources name (the sample's articles are about none: see test_facets.py).
    counts = client.get("/api/search", query_string={"q": "care"}).get_json()["facets"]["mentions"]
    assert len(counts) > FACET_SHOWN + FACET_SLACK, "the sample corpus names enough councils to need 'Show all'"
    # Most frequent first (the JSON object's keys are sorted by name).
    counts = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    page = client.get("/search", query_string={"q": "care"}).get_data(as_text=True)
    assert list(_checkboxes(page, "mentions")) == list(counts)[:FACET_SHOWN]
    link = re.search(r'<a class="govuk-link" href="([^"]+)">Show all (\d+) councils</a>', page)
    assert link and int(link[2]) == len(counts)
    full = client.get(link[1].replace("&amp;", "&")).get_data(as_text=True)
    assert list(_checkboxes(full, "mentions")) == list(counts)
    assert 'id="find-mentions" name="find" type="search" value=""' in full and 'form="facet-find"' in full
    assert "Show fewer councils" in full
    # The box narrows the list (a form of its own, so no JavaScript is needed); chosen values stay listed.
    found = client.get("/search", query_string={"q": "care", "show": "mentions", "find": "upon",
                                                "mentions": "hackney"}).get_data(as_text=True)
    assert set(_checkboxes(found, "mentions")) == {"hackney", *(c for c in counts if "upon" in c)}
    assert '<input type="hidden" name="show" value="mentions">' in found


def test_a_facet_a_little_longer_than_the_short_list_is_listed_whole():
    from index.search.facets import FacetSelection, FacetTable
    from webapp.search import FACET_SHOWN, FACET_SLACK, facet_views

    table = FacetTable({}, {})
    few = {f"c{i:02d}": 1 for i in range(FACET_SHOWN + FACET_SLACK)}
    many = {f"c{i:02d}": 1 for i in range(FACET_SHOWN + FACET_SLACK + 1)}
    [whole] = facet_views({"council": few}, FacetSelection(), table, None, "")
    assert len(whole.values) == len(few) and not whole.more
    [short] = facet_views({"council": many}, FacetSelection(), table, None, "")
    assert len(short.values) == FACET_SHOWN and short.more and short.total == len(many)
    # A chosen value beyond the short list stays listed, ticked.
    last = list(many)[-1]
    [chosen] = facet_views({"council": many}, FacetSelection({"council": (last,)}), table, None, "")
    assert [v.slug for v in chosen.values][-1] == last and chosen.values[-1].checked
    [found] = facet_views({"council": many}, FacetSelection(), table, "council", "C1")
    assert [v.slug for v in found.values] == [c for c in many if "c1" in c] and found.expanded


def test_back_to_results_keeps_query_filters_sort_and_page(client):
    args = {"q": "social work", "type": ["blog", "article"], "sort": "date", "top_k": "1", "page": "2"}
    page = client.get("/search", query_string=args).get_data(as_text=True)
    link = re.search(r'<h2 class="govuk-heading-m[^"]*"><a class="govuk-link" href="(/documents/[^"]+)">', page)
    assert link
    document = client.get(link[1].replace("&amp;", "&")).get_data(as_text=True)
    back = re.search(r'<a href="([^"]+)" class="govuk-back-link">Back to results</a>', document)
    assert back
    from urllib.parse import parse_qs, urlsplit

    url = urlsplit(back[1].replace("&amp;", "&"))
    assert url.path == "/search"
    assert parse_qs(url.query) == {"q": ["social work"], "type": ["blog", "article"], "sort": ["date"],
                                   "top_k": ["1"], "page": ["2"]}
    # Opened from a list without words (a council's sources), it goes back there too.
    browse = client.get("/documents/" + link[1].split("/")[2].split("?")[0], query_string={"council": "hackney"})
    assert 'href="/search?council=hackney" class="govuk-back-link"' in browse.get_data(as_text=True)
    # Opened from elsewhere, there is no results page to go back to.
    plain = client.get("/documents/" + link[1].split("/")[2].split("?")[0]).get_data(as_text=True)
    assert "Back to results" not in plain


def test_results_come_with_a_skip_link_and_a_filter_control(client):
    page = client.get("/search", query_string={"q": "care"}).get_data(as_text=True)
    skip, filters, results = (page.index(s) for s in ('>Skip to results</a>', 'id="app-filters"', 'id="app-results"'))
    assert skip < filters < results
    assert '<a class="govuk-link" href="#app-filters">Filter results</a>' in page


# -- issue 14: honest matching and why this result ---------------------------------------------------------

def _text(html: str) -> str:
    """The page's words, as read: inline elements joined to their neighbours, blocks apart."""
    inline = re.sub(r"</?(?:em|a|mark|strong)\b[^>]*>", "", html)
    return " ".join(re.sub(r"<[^>]+>", " ", inline).split())


@pytest.mark.parametrize("q", ["xyzzyq", "zebra"])
def test_nothing_found_is_said_plainly_and_never_padded(client, q):
    response = client.get("/search", query_string={"q": q})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No sources match your search" in page
    assert f"You searched for {q}." in _text(page) and f"No source contains {q}." in _text(page)
    assert 'class="app-result"' not in page, "no unrelated sources"


def test_did_you_mean_links_to_the_search(client):
    page = client.get("/search", query_string={"q": "adolesents edge of care"}).get_data(as_text=True)
    assert 'id="app-did-you-mean"' in page
    assert '<a class="govuk-link" href="/search?q=adolescents+edge+of+care">adolescents edge of care</a>' in page
    assert "None contains adolesents." in _text(page)
    assert "Related searches" in page


def test_some_words_says_which(client):
    page = client.get("/search", query_string={"q": "zebra social work"}).get_data(as_text=True)
    assert "No source contains all of zebra, social, work; these hold some of the words." in _text(page)
    assert "Holds some of your words, not all" in page


def test_why_this_result_is_a_details_component(client):
    page = client.get("/search", query_string={"q": "Cafcass chief executive"}).get_data(as_text=True)
    why = re.findall(r'<details class="govuk-details app-why">(.*?)</details>', page, re.S)
    assert len(why) == page.count('class="app-result"') >= 1
    text = _text(why[0])
    assert "Why this result" in text and "“cafcass” is in its publisher&#39;s name" in text
    assert "Found" in text and "score" not in text.lower()


def test_api_says_how_results_match_and_why(client, schemas):
    data = client.get("/api/search", query_string={"q": "adolesents edge of care"}).get_json()
    schemas("SearchResponse").validate(data)
    assert data["matched"] == "some" and data["missing_words"] == ["adolesents"]
    assert data["suggestions"][0] == {"query": "adolescents edge of care", "kind": "spelling",
                                      "changes": [["adolesents", "adolescents"]],
                                      "page_url": "/search?q=adolescents+edge+of+care"}
    for result in data["results"]:
        assert result["match"] in ("some", "meaning")
        assert {"words", "synonyms", "keyword_share", "how_found", "passage_reason", "summary"} <= set(result["why"])
    nothing = client.get("/api/search", query_string={"q": "xyzzyq"}).get_json()
    schemas("SearchResponse").validate(nothing)
    assert nothing["matched"] == "none" and nothing["results"] == [] and nothing["missing_words"] == ["xyzzyq"]


def test_publisher_name_is_not_highlighted_on_the_page(client):
    page = client.get("/search", query_string={"q": "adolescents edge of care"}).get_data(as_text=True)
    assert "Community <mark>Care</mark>" not in page
