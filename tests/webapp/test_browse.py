"""Leaders' browse pages and their JSON, over the ingested sample corpus."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest
from jsonschema import Draft202012Validator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def schema():
    spec = json.loads(resources.files("webapp").joinpath("openapi.json").read_text())

    def validate(name, data):
        Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": spec["components"]}).validate(data)

    return validate


def test_every_seed_project_is_linked_to_the_source_that_names_it(client, schema):
    data = client.get("/api/projects").get_json()
    schema("Projects", data)
    by_slug = {p["slug"]: p for p in data["projects"]}
    # The ten seed projects are the ones the sample corpus names; the rest come from the real reports.
    seeds = {"reclaiming-social-work", "signs-of-safety", "north-yorkshire-no-wrong-door",
             "doncaster-childrens-services-trust", "achieving-for-children", "durham-aycliffe", "tri-borough",
             "evolve-yp-social-work-practice", "trafford-nhs-section-75", "staffordshire-social-work-practice"}
    assert seeds <= set(by_slug) and all(by_slug[s]["sources"] >= 1 for s in seeds), by_slug
    hackney = client.get("/api/projects/reclaiming-social-work").get_json()
    schema("ProjectDetail", hackney)
    assert hackney["councils"] == ["Hackney"]
    assert [s["title"] for s in hackney["sources"]] == [
        "Children's minister: 'Why we must change outdated practice model of social care'"]
    assert "Reclaiming Social Work" in hackney["sources"][0]["excerpt"]


def test_related_projects_have_reasons(client):
    related = client.get("/api/projects/reclaiming-social-work").get_json()["related"]
    assert related and all(r["reason"] for r in related)
    evolve = next(r for r in related if r["slug"] == "evolve-yp-social-work-practice")
    assert "shares: social work practice models and workforce" in evolve["reason"]
    assert "1 source in common" in evolve["reason"]
    assert [r["score"] for r in related] == sorted((r["score"] for r in related), reverse=True)


@pytest.mark.parametrize("query, expected", [
    ({"theme": "practice-models"}, {"reclaiming-social-work", "signs-of-safety"}),
    ({"council": "hackney"}, {"reclaiming-social-work"}),
    ({"year": "2016"}, {"signs-of-safety", "trafford-nhs-section-75"}),
])
def test_projects_filter(client, query, expected):
    slugs = {p["slug"] for p in client.get("/api/projects", query_string=query).get_json()["projects"]}
    assert expected <= slugs
    if "council" in query:
        assert slugs == expected


def test_projects_sort(client):
    by_sources = client.get("/api/projects?sort=sources").get_json()["projects"]
    assert by_sources[0]["slug"] == "achieving-for-children"  # named in two sources
    by_name = [p["name"] for p in client.get("/api/projects").get_json()["projects"]]
    assert by_name == sorted(by_name, key=str.lower)
    assert client.get("/api/projects?sort=colour").status_code == 400


def test_councils_and_themes_api(client, schema):
    councils = client.get("/api/councils").get_json()
    schema("Councils", councils)
    hackney = next(c for c in councils["councils"] if c["slug"] == "hackney")
    assert hackney["projects"] == ["reclaiming-social-work"] and hackney["sources"] == 1
    assert (hackney["region"], hackney["type"]) == ("London", "London borough")
    themes = client.get("/api/themes").get_json()
    schema("Themes", themes)
    assert len(themes["themes"]) == 10 and sum(t["sources"] for t in themes["themes"]) > 0


def test_related_documents_are_not_the_document_itself(client, schema):
    ids = [r["document_id"] for r in client.get("/api/search?q=innovation&top_k=5").get_json()["results"]]
    data = client.get(f"/api/documents/{ids[0]}/related").get_json()
    schema("Related", data)
    related = [r["document_id"] for r in data["related"]]
    assert ids[0] not in related and len(related) == len(set(related)) == 4
    assert [r["similarity"] for r in data["related"]] == sorted((r["similarity"] for r in data["related"]),
                                                                reverse=True)
    assert client.get("/api/documents/nope/related").status_code == 404


@pytest.mark.parametrize("url, text", [
    ("/projects", "Projects and practice models"),
    ("/projects?theme=practice-models&sort=recent", "Signs of Safety"),
    ("/projects/tri-borough", "Hammersmith and Fulham"),
    ("/councils", "Yorkshire and the Humber"),
    ("/councils/hackney", "Reclaiming Social Work"),
    ("/themes", "Publications per year, by theme"),
    ("/themes/practice-models", "Signs of Safety"),
])
def test_browse_pages(client, url, text):
    response = client.get(url)
    assert response.status_code == 200
    assert text in response.get_data(as_text=True)


def test_chart_is_an_svg_with_a_table_of_the_same_figures(client):
    page = client.get("/themes").get_data(as_text=True)
    svg = re.search(r'<svg class="app-chart".*?</svg>', page, re.S).group(0)
    assert 'role="img"' in svg and "<desc" in svg
    bars = re.findall(r"<title>([^<]+): (\d+) in (\d{4})</title>", svg)
    table = page[page.index('<table class="govuk-table">'):]
    assert bars
    for label, count, year in bars:
        row = re.search(rf'<th scope="row" class="govuk-table__header">{re.escape(label)}</th>(.*?)</tr>', table, re.S)
        assert row and count in row.group(1), (label, year)


def test_a_council_leads_to_a_filtered_search_by_links(client):
    council = client.get("/councils/hackney").get_data(as_text=True)
    link = re.search(r'href="(/search\?q=&amp;council=hackney)"', council).group(1).replace("&amp;", "&")
    listing = client.get(link)
    page = listing.get_data(as_text=True)
    assert listing.status_code == 200 and "Sources naming Hackney" in page
    theme = re.search(r'name="theme" type="checkbox" value="([^"]+)"', page).group(1)
    narrowed = client.get(link + f"&theme={theme}").get_data(as_text=True)
    assert "Sources naming Hackney, on" in narrowed
    api = client.get(f"/api/search?council=hackney&theme={theme}").get_json()
    assert api["total"] >= 1 and api["facets"]["council"]["hackney"] == api["total"]


@pytest.mark.parametrize("url", ["/projects/nope", "/councils/nowhere", "/themes/nothing"])
def test_unknown_things_are_404(client, url):
    assert client.get(url).status_code == 404
    api = client.get("/api" + url)
    assert api.status_code == 404 and api.is_json
    error = api.get_json()["error"]
    assert error["code"] == "not_found" and error["message"]


def test_document_page_links_projects_councils_and_related(client):
    ids = [r["document_id"] for r in client.get("/api/search?q=Reclaiming Social Work Hackney").get_json()["results"]]
    page = client.get(f"/documents/{ids[0]}").get_data(as_text=True)
    assert 'href="/projects/reclaiming-social-work"' in page
    assert "Related documents" in page and page.count('href="/documents/') >= 4
