"""Names in a query offered as filters (issue 24, deliverable 3): on the sample corpus's own councils, projects
and years, as the API's ``suggested_filters`` and one-click links on the results page."""

from __future__ import annotations


def _offered(data):
    return {(f["facet"], f["value"]) for f in data["suggested_filters"]}


def test_a_named_council_project_and_year_are_offered_not_applied(client):
    facets = client.get("/api/search", query_string={"q": "care"}).get_json()["facets"]
    council = next(iter(facets["mentions"]))
    year = next(y for y in facets["year"] if y.isdigit())
    query = f"Signs of Safety {council.replace('-', ' ')} {year}"
    data = client.get("/api/search", query_string={"q": query}).get_json()
    assert {("project", "signs-of-safety"), ("mentions", council), ("year", year)} <= _offered(data)
    plain = client.get("/api/search", query_string={"q": "care"}).get_json()
    assert data["total"] >= 1 and not plain["suggested_filters"], "offered only for names the query holds"
    taken = next(f for f in data["suggested_filters"] if f["facet"] == "project")
    assert "project=signs-of-safety" in taken["page_url"]
    ticked = client.get(taken["page_url"].replace("/search", "/api/search", 1)).get_json()
    assert 1 <= ticked["total"] <= data["total"] and ("project", "signs-of-safety") not in _offered(ticked)
    page = client.get("/search", query_string={"q": query}).get_data(as_text=True)
    assert "Your search names a filter you can take" in page and "Only sources about Signs of Safety" in page


def test_grade_words_are_offered_only_where_a_report_has_that_grade(client):
    facets = client.get("/api/search", query_string={"q": "children"}).get_json()["facets"]["judgement"]
    for grade in ("good", "inadequate"):
        data = client.get("/api/search", query_string={"q": f"{grade} councils children"}).get_json()
        slug = f"overall-effectiveness-{grade}"
        assert (("judgement", slug) in _offered(data)) == (slug in facets)
