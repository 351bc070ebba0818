"""Who uses a model and how they were judged: project and council pages over real Ofsted reports read in
place (North Yorkshire's two inspections naming No Wrong Door, Dorset's Harbour built on it, and
Shropshire and Somerset, statistical neighbours of both), with the full projects catalogue."""

from __future__ import annotations

import re

import pytest

from tests.conftest import CORPUS, ROOT, SHARED, make_settings

pytestmark = pytest.mark.integration

REPORTS = SHARED / "corpora" / "ofsted-ilacs" / "reports"
FILES = ["north-yorkshire_2023-08-18.pdf", "north-yorkshire_2018-08-06.pdf", "dorset_2021-11-19.pdf",
         "shropshire_2022-03-25.pdf", "somerset_2022-09-21.pdf"]
NWD = "north-yorkshire-no-wrong-door"
CATALOGUE = ROOT / "corpus" / "projects.yaml"  # the full catalogue: No Wrong Door, Harbour


def leaders_settings(data_dir):
    """Settings over ``data_dir`` once the sample corpus and the five reports are ingested (browser tests too)."""
    from ingest.run import run_ingest

    settings = make_settings(data_dir, projects=str(CATALOGUE))
    report = run_ingest([CORPUS, *(REPORTS / name for name in FILES)], settings)
    assert report.ok, report.failures
    return settings


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from webapp import create_app

    settings = leaders_settings(tmp_path_factory.mktemp("leaders"))
    return create_app({"TESTING": True, "KB_SETTINGS": settings}).test_client()


def test_the_project_lists_the_councils_using_it_with_their_judgements_over_time(client, schema):
    data = client.get(f"/api/projects/{NWD}").get_json()
    schema("ProjectDetail", data)
    using = {c["name"]: c for c in data["councils_using"]}
    assert {"North Yorkshire", "Dorset"} <= set(using), list(using)
    north = using["North Yorkshire"]
    assert north["relation"] == "uses" and north["page_url"] == "/councils/north-yorkshire"
    assert [(i["inspection"]["published"], i["overall_effectiveness"]) for i in north["inspections"]] == [
        ("2018-08-06", "outstanding"), ("2023-08-18", "outstanding")]
    latest = {j["area"]: j["grade"] for j in north["inspections"][-1]["inspection"]["judgements"]}
    assert latest["care_leavers"] == "outstanding"
    said = north["reports"][0]
    assert "No Wrong Door" in said["excerpt"] and said["relation"] == "uses"
    assert said["passage_url"].startswith(f"{said['page_url']}?passage=")
    assert "No wrong door" in using["Dorset"]["reports"][0]["excerpt"]
    assert "Shropshire" not in using and all(c["relation"] == "mentions" for c in data["councils_mentioning"])


def test_the_project_page_shows_them_as_a_table_and_a_chart(client):
    page = client.get(f"/projects/{NWD}").get_data(as_text=True)
    assert "Councils using it" in page
    section = page[page.index("Councils using it"):page.index("Sources that mention it")]
    assert "Read the passage" in section and '<svg class="app-chart"' in section
    assert section.count("<circle") == 3  # North Yorkshire twice, Dorset once
    table = section[section.index("<table"):section.index("</table>")]
    rows = re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", table, re.S)[1:]
    text = [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]
    assert text[0].startswith("Dorset 19 Nov 2021 ILACS Good Outstanding"), text
    assert any(t.startswith("North Yorkshire 6 Aug 2018 ILACS Outstanding") for t in text), text


def test_the_council_page_shows_its_inspections_models_and_statistical_neighbours(client, schema):
    data = client.get("/api/councils/north-yorkshire").get_json()
    schema("CouncilDetail", data)
    assert [i["inspection"]["published"] for i in data["inspections"]] == ["2018-08-06", "2023-08-18"]
    assert NWD in [p["slug"] for p in data["projects_used"]]
    neighbours = {n["name"]: n for n in data["statistical_neighbours"]}
    assert len(neighbours) == 10 and "Wiltshire" in neighbours
    shropshire = neighbours["Shropshire"]  # its 2022 report is indexed, but Ofsted's list knows a newer one
    assert shropshire["judged_from"] == "ofsted-overview" and shropshire["published"] == "2025-08-12"
    assert shropshire["report_url"] is None and shropshire["page_url"] == "/councils/shropshire"
    wiltshire = neighbours["Wiltshire"]  # no report of it indexed: Ofsted's overview
    assert wiltshire["judged_from"] == "ofsted-overview" and wiltshire["report_url"] is None
    assert wiltshire["overall_effectiveness"] in {"outstanding", "good", "requires improvement", "inadequate"}
    assert wiltshire["uses"] == [] and wiltshire["page_url"] is None
    page = client.get("/councils/north-yorkshire").get_data(as_text=True)
    assert "Statistical neighbours of North Yorkshire" in page and "Ofsted inspections of North Yorkshire" in page
    assert "from Ofsted's list" in page


def test_dorset_uses_harbour_and_north_yorkshire_is_its_neighbour(client, schema):
    data = client.get("/api/councils/dorset").get_json()
    schema("CouncilDetail", data)
    used = {p["slug"]: p for p in data["projects_used"]}
    assert {"dorset-harbour", NWD} <= set(used)
    assert "Harbour programme" in used["dorset-harbour"]["reports"][0]["excerpt"]
    north = next(n for n in data["statistical_neighbours"] if n["name"] == "North Yorkshire")
    assert north["judged_from"] == "index" and north["published"] == "2023-08-18"
    assert north["overall_effectiveness"] == "outstanding" and NWD in [p["slug"] for p in north["uses"]]
    # Ofsted's list has a newer inspection of Somerset but no overall grade for it: the indexed report's.
    somerset = next(n for n in data["statistical_neighbours"] if n["name"] == "Somerset")
    assert somerset["judged_from"] == "index" and somerset["published"] == "2022-09-21"
    assert somerset["overall_effectiveness"] in {"outstanding", "good", "requires improvement", "inadequate"}


def test_a_council_without_inspections_still_has_its_page(client, schema):
    data = client.get("/api/councils/hackney").get_json()
    schema("CouncilDetail", data)
    assert data["inspections"] == [] and data["projects_used"] == []
    assert client.get("/councils/hackney").status_code == 200


def test_ticking_north_yorkshire_finds_its_reports_not_dorsets_which_mentions_it(client):
    """Issue 26, deliverable 2: "council" is the council a source is about, "mentions" every council it names."""
    def sources(**facets):
        data = client.get("/api/search", query_string={"top_k": 50, **facets}).get_json()
        return {r["source"].rsplit("/", 1)[-1] for r in data["results"]}, data["facets"]

    about, facets = sources(council="north-yorkshire")
    assert about == {"north-yorkshire_2023-08-18.pdf", "north-yorkshire_2018-08-06.pdf"}
    assert facets["council"]["north-yorkshire"] == 2 and facets["council"]["dorset"] == 1
    mentioning, _ = sources(mentions="north-yorkshire")
    assert "dorset_2021-11-19.pdf" in mentioning and about < mentioning
    assert sources(council="dorset")[0] == {"dorset_2021-11-19.pdf"}
    # The same with words, and on the page: the filter says which it means.
    found = client.get("/api/search", query_string={"q": "No Wrong Door", "council": "north-yorkshire"}).get_json()
    assert found["total"] >= 1 and all("north-yorkshire_" in r["source"] for r in found["results"])
    page = client.get("/search", query_string={"q": "No Wrong Door"}).get_data(as_text=True)
    assert "Council it is about" in page and "Councils it mentions" in page
    assert page.index("Council it is about") < page.index("Councils it mentions")


def test_related_projects_give_the_reasons_a_person_would(client):
    """Issue 26, deliverable 4: Dorset's Harbour, based on No Wrong Door, comes first and says so."""
    related = client.get(f"/api/projects/{NWD}").get_json()["related"]
    first = related[0]
    assert first["slug"] == "dorset-harbour"
    assert "based on North Yorkshire's approach to adolescents in care" in first["reasons"]
    assert "used by the same council (Dorset), their inspections say" in first["reasons"]
    assert any(r.startswith("same theme") for r in first["reasons"])
    back = client.get("/api/projects/dorset-harbour").get_json()["related"]
    assert back[0]["slug"] == NWD and "Dorset's Harbour is based on it" in back[0]["reasons"]
    page = client.get(f"/projects/{NWD}").get_data(as_text=True)
    section = page[page.index("Related projects"):]
    assert "much the same things" not in section and "based on North Yorkshire" in section
