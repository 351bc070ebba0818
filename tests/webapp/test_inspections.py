"""Inspection reports as structured sources on the pages and in the API (a real Ofsted report, read in place)."""

from __future__ import annotations

import pytest

from tests.conftest import CORPUS, SHARED, make_settings

pytestmark = pytest.mark.integration

REPORT = SHARED / "corpora" / "ofsted-ilacs" / "reports" / "dorset_2021-11-19.pdf"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from ingest.run import run_ingest
    from webapp import create_app

    settings = make_settings(tmp_path_factory.mktemp("inspections"))
    report = run_ingest([CORPUS, REPORT], settings)
    assert report.ok, report.failures
    return create_app({"TESTING": True, "KB_SETTINGS": settings}).test_client()


def _dorset(client) -> dict:
    found = client.get("/api/search", query_string={"q": "Harbour edge of care Dorset"}).get_json()
    return next(r for r in found["results"] if r["type"] == "inspection")


def test_search_results_carry_the_inspection(client):
    result = _dorset(client)
    assert result["title"] == "Inspection of Dorset local authority children’s services, 2021"
    inspection = result["inspection"]
    assert inspection["council"] == "Dorset" and inspection["published"] == "2021-11-19"
    assert {j["area"]: j["grade"] for j in inspection["judgements"]}["impact_of_leaders"] == "outstanding"


def test_judgements_are_a_facet(client):
    every = client.get("/api/search", query_string={"q": "children"}).get_json()
    assert every["facets"]["judgement"]["overall-effectiveness-good"] == 1
    good = client.get("/api/search", query_string={"q": "children", "judgement": "overall-effectiveness-good"})
    assert [r["type"] for r in good.get_json()["results"]] == ["inspection"]
    none = client.get("/api/search", query_string={"q": "children", "judgement": "overall-effectiveness-inadequate"})
    assert none.get_json()["total"] == 0
    page = client.get("/search", query_string={"q": "children"}).get_data(as_text=True)
    assert "Inspection judgement" in page and "Overall effectiveness: good" in page


def test_the_document_page_and_its_json_show_the_inspection_and_the_licence(client):
    source_id = _dorset(client)["source_id"]
    page = client.get(f"/documents/{source_id}").get_data(as_text=True)
    assert "Council inspected" in page and "Lead inspector" in page and "Steve Lowe" in page
    assert "Impact of leaders" in page and "Outstanding" in page
    assert "Open Government Licence v3.0" in page
    data = client.get(f"/api/documents/{source_id}").get_json()
    assert data["inspection"]["start"] == "2021-09-27" and data["inspection"]["end"] == "2021-10-08"
    assert data["licence"] == "OGL-3.0" and "Open Government Licence" in data["attribution"]
