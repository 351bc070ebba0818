"""Leaders' browse pages and their JSON, over the ingested sample corpus."""

from __future__ import annotations

import re

import pytest

from index.browse.taxonomy import themes as taxonomy

pytestmark = pytest.mark.integration


def test_every_seed_project_is_linked_to_the_source_that_names_it(client, schema):
    data = client.get("/api/projects").get_json()
    schema("Projects", data)
    by_slug = {p["slug"]: p for p in data["projects"]}
    assert len(by_slug) == 10 and all(p["source_count"] >= 1 for p in by_slug.values()), by_slug
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
    assert "same themes: social work practice models and workforce" in evolve["reason"]
    assert "named together in 1 source" in evolve["reason"]
    assert [r["score"] for r in related] == sorted((r["score"] for r in related), reverse=True)
    # Issue 26: every reason is one a person would give, never how alike the sources read.
    assert not [r for r in related if "much the same" in r["reason"] or "similar subjects" in r["reason"]
                or "a little in common" in r["reason"]]


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
    assert hackney["projects"] == ["reclaiming-social-work"] and hackney["source_count"] == 1
    assert (hackney["region"], hackney["type"]) == ("London", "London borough")
    themes = client.get("/api/themes").get_json()
    schema("Themes", themes)
    assert len(themes["themes"]) == len(taxonomy()) and sum(t["source_count"] for t in themes["themes"]) > 0


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
    ("/themes", "Sources per year"),
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
    table = page[page.index('<table class="govuk-table app-chart-table">'):]
    years = re.findall(r'<th scope="col" class="govuk-table__header govuk-table__header--numeric">([^<]+)</th>',
                       table[:table.index("</thead>")])
    assert bars
    for label, count, year in bars:
        row = re.search(rf'<th scope="row" class="govuk-table__header">{re.escape(label)}</th>(.*?)</tr>', table, re.S)
        cells = re.findall(r'<td class="[^"]*">(\d+)</td>', row.group(1))
        assert cells[years.index(year)] == count, (label, year)


def _chart_total(page: str) -> int:
    """The chart's "All sources" total, and check the bars add up to the same per year."""
    svg = re.search(r'<svg class="app-chart".*?</svg>', page, re.S)
    row = re.search(r'<th scope="row" class="govuk-table__header">All sources</th>(.*?)</tr>', page, re.S)
    cells = [int(n) for n in re.findall(r">(\d+)</td>", row.group(1))]
    if svg:
        drawn = sum(int(n) for n in re.findall(r"<title>[^<]+: (\d+) in \d{4}</title>", svg.group(0)))
        assert drawn + _undated(page) == cells[0], "the bars count each dated source once"
    assert cells[0] == sum(cells[1:]), "the total (first, so never scrolled out of sight) adds up the years"
    return cells[0]


def _undated(page: str) -> int:
    found = re.search(r"(\d+) (?:has|have) no known date", page)
    return int(found.group(1)) if found else 0


@pytest.mark.parametrize("slug", ["hackney", "kingston-upon-thames", "county-durham", "lincolnshire"])
def test_a_council_chart_counts_each_of_its_sources_once(client, slug):
    """Hackney has one source on five themes: its chart reached 5, one per theme."""
    data = client.get(f"/api/councils/{slug}").get_json()
    assert sum(data["sources_per_year"].values()) + data["undated_source_count"] == data["source_count"]
    page = client.get(f"/councils/{slug}").get_data(as_text=True)
    assert _chart_total(page) == data["source_count"] == len(data["sources"])


def test_the_themes_chart_counts_sources_not_theme_tags(client):
    """Five sources (two with no date) on fourteen theme tags: the chart and its total say five."""
    themes = client.get("/api/themes").get_json()
    everything = client.get("/api/search?type=article&type=blog&type=news&top_k=50").get_json()["total"]
    assert themes["source_count"] == everything == 5
    assert sum(t["source_count"] for t in themes["themes"]) > themes["source_count"], "some source has two themes"
    page = client.get("/themes").get_data(as_text=True)
    assert _chart_total(page) == 5 and _undated(page) == 2
    assert "Date not known" in page and "counts under each" in page
    assert re.search(r'aria-labelledby="chart-title chart-title-desc"', page)
    assert "divided by type of source" in page


def test_undated_sources_are_counted_apart_not_dropped(client):
    data = client.get("/api/themes/legislation-regulation").get_json()
    assert sum(data["by_year"].values()) + data["undated_source_count"] == data["source_count"] == 3
    assert data["undated_source_count"] == 1
    page = client.get("/themes/legislation-regulation").get_data(as_text=True)
    assert _chart_total(page) == 3 and "Date not known" in page
    assert page.count("tagged because") == len(data["sources"]), "each source listed says why"


def test_a_source_reaching_a_council_through_a_project_is_not_named_in(client, schema):
    """The Power to Innovate names Achieving for Children, never Windsor and Maidenhead (a partner)."""
    data = client.get("/api/councils/windsor-and-maidenhead").get_json()
    schema("CouncilDetail", data)
    assert data["sources"] == [] and data["source_count"] == 0
    [through] = data["sources_through_projects"]
    assert through["title"] == "The Power to Innovate" and through["through"] == "Achieving for Children"
    assert through["project"]["slug"] == "achieving-for-children"
    page = client.get("/councils/windsor-and-maidenhead").get_data(as_text=True)
    named = page[page.index("Sources that name it"):page.index("Sources about a partnership")]
    assert "The Power to Innovate" not in named and "No source here names Windsor and Maidenhead" in named
    partnership = page[page.index("Sources about a partnership"):]
    assert "The Power to Innovate" in partnership
    assert re.search(r'Through project <a class="govuk-link" href="/projects/achieving-for-children">', partnership)
    listing = client.get("/api/councils").get_json()["councils"]
    assert next(c for c in listing if c["slug"] == "windsor-and-maidenhead")["source_count"] == 0
    # A council the same source names outright is named in it.
    lincolnshire = client.get("/api/councils/lincolnshire").get_json()
    assert "The Power to Innovate" in {s["title"] for s in lincolnshire["sources"]}
    document = client.get(f"/documents/{through['source_id']}").get_data(as_text=True)
    named_row = document[document.index("Councils named"):document.index("Through a partnership")]
    assert "Lincolnshire" in named_row and "Windsor" not in named_row


def _pages(client) -> list[str]:
    urls = ["/", "/search?q=social+work", "/search?q=innovation&type=blog", "/projects", "/councils", "/themes",
            "/status", "/accessibility", "/privacy", "/gaps"]
    urls += [p["page_url"] for p in client.get("/api/projects").get_json()["projects"]]
    urls += [c["page_url"] for c in client.get("/api/councils").get_json()["councils"]]
    urls += [t["page_url"] for t in client.get("/api/themes").get_json()["themes"]]
    urls += [r["page_url"] for r in client.get("/api/search?q=care&top_k=50").get_json()["results"]]
    return urls


def test_no_page_shows_internal_names_or_raw_scores(client):
    for url in _pages(client):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        # A source's own text may hold any words and figures; everything around it is ours.
        page = re.sub(r'<div class="govuk-body app-document-text">.*?</div>', "", page, flags=re.S)
        text = re.sub(r"<script.*?</script>|<[^>]+>", " ", page, flags=re.S)
        for internal in ("from metadata file", ".yaml", "keywords:", "sidecar", ".meta.json", ".txt"):
            assert internal not in text, (url, internal)
        assert not re.search(r"(?<![\d.£$])\d\.\d{2,}\b", text), (url, re.search(r"\S*\d\.\d{2,}\S*", text))


def test_related_projects_are_ordered_and_explained_in_words(client):
    related = client.get("/api/projects/signs-of-safety").get_json()["related"]
    page = client.get("/projects/signs-of-safety").get_data(as_text=True)
    section = page[page.index("Related projects"):]
    positions = [section.index(f'href="/projects/{r["slug"]}"') for r in related]
    assert positions == sorted(positions), "the page lists them best first"
    assert "same theme: social work practice models" in section and not re.search(r"\(\d\.\d+\)", section)
    # Signs of Safety's related projects are the other practice models of the catalogue first.
    models = {p["slug"] for p in client.get("/api/projects?theme=practice-models").get_json()["projects"]}
    models.discard("signs-of-safety")
    assert models and {r["slug"] for r in related[: len(models)]} == models
    assert all("social work practice models" in r["reason"] for r in related[: len(models)])


def test_service_status_is_a_page_and_its_json_under_api(client):
    page = client.get("/status").get_data(as_text=True)
    assert "The service is working" in page and "Sources you can search" in page and "{" not in page.split(
        "<main", 1)[1].split("</main>")[0]
    data = client.get("/api/status").get_json()
    # /healthz's figures, and what the index was built without (tests/webapp/test_setup_warnings.py)
    assert data == {**client.get("/healthz").get_json(), "age_seconds": data["age_seconds"],
                    "warnings": data["warnings"]}
    home = client.get("/").get_data(as_text=True)
    footer = home[home.index('class="govuk-footer"'):]
    for href in ('href="/status"', 'href="/accessibility"', 'href="/privacy"', 'href="/gaps"'):
        assert href in footer
    assert "/healthz" not in footer


def test_a_council_leads_to_a_filtered_search_by_links(client):
    council = client.get("/councils/hackney").get_data(as_text=True)
    # The council page lists the sources naming it: its link searches those ("mentions"); none is about it.
    link = re.search(r'href="(/search\?q=&amp;mentions=hackney)"', council).group(1).replace("&amp;", "&")
    assert "council=hackney" not in council
    listing = client.get(link)
    page = listing.get_data(as_text=True)
    assert listing.status_code == 200 and "Sources mentioning Hackney" in page
    theme = re.search(r'name="theme" type="checkbox" value="([^"]+)"', page).group(1)
    narrowed = client.get(link + f"&theme={theme}").get_data(as_text=True)
    assert "Sources mentioning Hackney, on" in narrowed
    api = client.get(f"/api/search?mentions=hackney&theme={theme}").get_json()
    assert api["total"] >= 1 and api["facets"]["mentions"]["hackney"] == api["total"]


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
