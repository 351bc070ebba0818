"""Authors from evidence (issue 25): a name in a file's metadata is cited only when the text names it."""

from __future__ import annotations

import pytest
from haystack import Document

from ingest.authors import byline_evidence, expand_initials, judge_names, kind_of, normal_name
from ingest.extract import TextMetadataExtractor, extract_metadata
from ingest.metadata import MetadataResolver, title_problem
from ingest.templates import TemplateReader

REPORT = """Reimagining case management

Report written by Dr Niamh O’Brien and Faye Acton (Anglia Ruskin University)

The Department for Education (DfE) funded the pilot. Ten social workers took part.
We thank Alison Williamson for her help.

References
Baginsky, M. and Manthorpe, J. (2024) Social work practice. London.
"""


@pytest.mark.parametrize("name, kind", [
    ("Scanning Station", None), ("Microsoft Word", None), ("Administrator", None), ("user", None),
    ("slee", None), ("ICHANDA", None), ("J. S.", None), ("Joy Howick", "person"), ("Acton, Faye", "person"),
    ("Department for Education", "organisation"), ("DfE", "organisation"), ("Rees Centre", "organisation"),
    ("National Children’s", "organisation"), ("Zoë Álvarez", "person"),
])
def test_kind_of_a_metadata_name(name, kind):
    assert kind_of(name)[0] == kind


def test_a_person_counts_only_where_the_text_names_them_as_author():
    assert byline_evidence("Faye Acton", REPORT)
    assert byline_evidence("Acton, Faye", REPORT)
    # thanked, and cited in the references: not the report's authors
    assert byline_evidence("Alison Williamson", REPORT) is None
    assert byline_evidence("Mary Baginsky", REPORT) is None


def test_judged_names_keep_the_reason_for_each_refusal():
    verdicts = {v.name: v for v in judge_names(["Alison Williamson", "Scanning Station", "DfE", "Ofsted"], REPORT)}
    assert verdicts["Alison Williamson"].accepted_as is None
    assert "does not name as an author" in verdicts["Alison Williamson"].reason
    assert verdicts["Scanning Station"].accepted_as is None and "software" in verdicts["Scanning Station"].reason
    assert verdicts["Department for Education"].accepted_as == "organisation"  # DfE spelled out as the text does
    assert verdicts["Ofsted"].accepted_as is None  # an organisation the text never names


def test_initials_are_expanded_as_the_text_defines_them():
    assert expand_initials("DfE", REPORT) == "Department for Education"
    assert expand_initials("NHS", REPORT) is None
    assert normal_name("Dr Jane Smith MP") == "Jane Smith"


def test_bylines_in_the_text():
    assert extract_metadata(REPORT)["authors"] == ["Niamh O’Brien", "Faye Acton"]
    assert extract_metadata("DDSF Project 1a\nReport Author: Alistair Herbert, Data to Insight\n")["authors"] == [
        "Alistair Herbert"]
    # Organisations in an authors line, one broken over two lines, are not persons.
    assert "authors" not in extract_metadata("Evaluation\n\nAuthors: Verian, National Children’s\nBureau (NCB)\n")
    foreword = "Guidance\nMinisterial Foreword\n\nBy Margaret Hodge MP\nMinister for Children\n\nText."
    assert "authors" not in extract_metadata(foreword)
    assert extract_metadata("Guide\n\n© Crown copyright 2004\nProduced by the Department for Education and "
                            "Skills\n")["publisher"] == "Department for Education and Skills"


def _resolve(text: str, embedded: dict, source: str = "/corpus/report.pdf") -> dict:
    docs = [Document(content=text, meta={"source": source, "embedded": embedded})]
    docs = TextMetadataExtractor().run(docs)["documents"]
    docs = TemplateReader().run(docs)["documents"]
    return MetadataResolver().run(docs)["documents"][0].meta


def test_the_file_metadata_names_refused_are_recorded_with_why():
    meta = _resolve(REPORT, {"title": "5414-DfES-Reimagining txt", "authors": ["Alison Williamson", "DfE"]})
    assert meta["authors"] == ["Niamh O’Brien", "Faye Acton"] and meta["provenance"]["authors"] == "text"
    assert meta["publisher"] == "Department for Education"
    assert "'Alison Williamson' from the file's metadata" in meta["provenance"]["authors_rejected"]
    assert meta["title"] == "Reimagining case management"  # the file name in the metadata is not a title
    assert "a file name" in meta["provenance"]["title_rejected"]


def test_an_unnamed_person_gives_way_to_the_publisher_as_corporate_author():
    text = "Children's social care national framework\n\nStatutory guidance from the Department for Education.\n"
    meta = _resolve(text, {"authors": ["Joy Howick", "Department for Education"]})
    assert meta["authors"] == [] and meta["publisher"] == "Department for Education"
    assert "Joy Howick" in meta["provenance"]["authors_rejected"]


def test_an_inspection_is_cited_to_ofsted_with_its_lead_inspector_from_the_text():
    text = ("London Borough of Camden\nInspection of services for children in need of help and protection, children "
            "looked after and care leavers\nInspection date: 25 September 2017 to 19 October 2017\n"
            "Report published: 24 November 2017\n\nThe overall judgement is that children’s services are good\n\n"
            + "Body text.\n" * 50 + "The inspection team\n\nLead inspector: Nick Stacey\n\n"
            "Deputy lead inspector: Julie Knight\n")
    meta = _resolve(text, {"authors": ["Alison Williamson"]}, "/corpus/ofsted/camden_2017-11-24.pdf")
    assert meta["authors"] == [] and meta["publisher"] == "Ofsted" and meta["provenance"]["authors"] == "template"
    assert meta["inspection"]["lead_inspector"] == "Nick Stacey"
    assert "ofsted-inspection template" in meta["provenance"]["authors_rejected"]


@pytest.mark.parametrize("title, bad", [
    ("5414-DfES-AdvocacyServices txt", True), ("NVEST Newsletter June 25 (002)", True), ("report_final_v2", True),
    ("Inspection of Stoke-on-Trent local authority children’s services", False),
    ("Well-being and co-production in early-years support", False),
])
def test_file_names_are_not_titles(title, bad):
    assert (title_problem(title) is not None) == bad
