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
    assert '12 Feb 2014</time> <span class="govuk-body-s app-result__meta">(from metadata file)</span>' in text
    assert 'Adolescents and edge of care</a> <span class="govuk-body-s app-result__meta">(keywords:' in text
    assert 'href="/councils/hackney"' in text and 'href="/projects/reclaiming-social-work"' in text


def test_the_search_form_takes_a_pasted_paragraph(client):
    from tests.conftest import CORPUS

    assert 'maxlength="6000"' in client.get("/").get_data(as_text=True)
    words = (CORPUS / "003_9ee0817c87de1d62.txt").read_text(encoding="utf-8").split()
    paragraph = " ".join(words[len(words) // 2 - 100 : len(words) // 2 + 100])  # 200 words, > 1,000 characters
    response = client.get("/search", query_string={"q": paragraph})
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
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
    from index.generations import DataDir

    health = client.get("/healthz").get_json()
    assert health["status"] == "ok" and health["sources"] == 5
    assert health["generation"] == DataDir(corpus_settings.data_dir).current_id()
    assert "Index updated " in client.get("/").get_data(as_text=True)


def test_healthz_without_index_is_json_503(tmp_path):
    from webapp import create_app

    client = create_app({"TESTING": True, "KB_OVERRIDES": {"data_dir": str(tmp_path / "none")}}).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "no_index"
