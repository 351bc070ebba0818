"""Publisher templates on real reports, read in place from ../shared/corpora (Open Government Licence)."""

from __future__ import annotations

import pytest

from ingest.templates import recognise
from tests.conftest import SHARED

REPORTS = SHARED / "corpora" / "ofsted-ilacs" / "reports"


def _text(stem: str) -> tuple[str, str]:
    import pypdfium2 as pdfium

    path = REPORTS / f"{stem}.pdf"
    document = pdfium.PdfDocument(path)
    try:
        return "\f".join(document[i].get_textpage().get_text_range() for i in range(3)), str(path)
    finally:
        document.close()


@pytest.mark.unit
def test_an_ilacs_report_gives_its_council_dates_inspector_and_grades():
    found = recognise(*_text("dorset_2021-11-19"))
    assert found is not None and found.publisher == "Ofsted" and found.type == "inspection"
    assert found.title == "Inspection of Dorset local authority children’s services, 2021"
    inspection = found.inspection
    assert (inspection.council, inspection.framework) == ("Dorset", "ILACS")
    assert (inspection.start, inspection.end, inspection.published) == ("2021-09-27", "2021-10-08", "2021-11-19")
    assert inspection.lead_inspector == "Steve Lowe"
    # Not Dorset's latest inspection: the link is the council's page of inspections on Ofsted's site.
    assert found.url is not None and found.url.startswith("https://reports.ofsted.gov.uk/provider/44/")
    assert {j.area: j.grade for j in inspection.judgements} == {
        "impact_of_leaders": "outstanding", "help_and_protection": "good", "in_care": "good",
        "overall_effectiveness": "good"}


@pytest.mark.unit
def test_requires_improvement_in_any_case_and_the_council_from_a_two_line_title():
    inspection = recognise(*_text("isles-of-scilly_2023-08-25")).inspection
    assert inspection.council == "Isles of Scilly"
    assert inspection.grade("in_care") == "requires improvement" and inspection.overall == "inadequate"
    barnet = recognise(*_text("barnet_2019-07-01")).inspection  # "London Borough of Barnet" above the title
    assert barnet.council == "Barnet" and barnet.start == "2019-05-13" and barnet.end == "2019-05-24"
    latest = recognise(*_text("barnsley_2023-10-27"))  # the inspection the overview's row describes
    assert latest.url == "https://files.ofsted.gov.uk/v1/file/50231520"


@pytest.mark.unit
def test_a_single_inspection_framework_report():
    inspection = recognise(*_text("halton_2015-02-03")).inspection
    assert (inspection.council, inspection.framework, inspection.published) == ("Halton", "SIF", "2015-02-03")
    assert (inspection.start, inspection.end) == ("2014-11-18", "2014-12-10")
    assert inspection.overall == "requires improvement"
    assert inspection.grade("in_care") == "good" and inspection.grade("adoption") == "good"
    assert inspection.grade("impact_of_leaders") == "requires improvement"


@pytest.mark.unit
def test_other_documents_are_not_inspections():
    assert recognise("Inspection of the boiler room\nInspection dates: 1 to 2 May 2020\nAll fine.", "x.txt") is None
    assert recognise("Children's social care: a review of the evidence.", "review.pdf") is None


@pytest.mark.integration
def test_an_ingested_inspection_is_a_structured_source(tmp_path):
    from index.storage import open_generation
    from ingest.run import run_ingest
    from tests.conftest import make_settings

    settings = make_settings(tmp_path / "data")
    report = run_ingest([REPORTS / "dorset_2021-11-19.pdf"], settings)
    assert report.ok, report.failures
    store = open_generation(settings).store
    record = store.get_source(store.source_ids()[0])
    assert (record.type, record.publisher, record.date) == ("inspection", "Ofsted", "2021-11-19")
    assert record.title == "Inspection of Dorset local authority children’s services, 2021"
    assert record.provenance["title"] == "template" and record.template == "ofsted-inspection"
    assert record.url.startswith("https://reports.ofsted.gov.uk/provider/44/")
    assert record.licence == "OGL-3.0", "the back page states the licence (it is then removed as boilerplate)"
    assert record.inspection is not None and record.inspection.overall == "good"
    assert record.inspection.grade("impact_of_leaders") == "outstanding"
