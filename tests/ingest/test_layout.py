"""Reading paginated text as a person reads it, and publisher boilerplate learned across documents (no model)."""

from __future__ import annotations

import pytest
from haystack import Document

from ingest.boilerplate import LearnedBoilerplate, learn
from ingest.layout import join_hyphenated, read_pages, reflow

PROSE = ("Children receive the help that they need at the right time. Families benefit from a broad range of early\n"
         "help services, tailored to their needs and in the places where they live. Partnership working is well\n"
         "developed.\n")


def _page(number: int, body: str) -> str:
    return (f"Inspection of Dorset local authority children’s services\n27 September to 8 October 2021 {number}\n"
            f"{body}")


@pytest.mark.unit
def test_running_headers_and_page_numbers_go_and_pages_stay():
    topics = ["early help", "the front door", "assessments", "care leavers", "the workforce"]
    pages = []
    for n, topic in enumerate(topics, start=1):
        body = PROSE.replace("services", f"{topic} services").replace("developed.", f"developed for {topic}.")
        pages.append(_page(n, f"{n}. On {topic}: {body}Work on {topic} is developing.\n{n + 1}"))
    text = "\f".join(pages)
    out, removed = read_pages(text)
    assert "Inspection of Dorset" not in out and "October 2021" not in out
    assert out.count("\f") == 4, "page breaks stay, so passages keep their page"
    assert removed == 15  # two header lines and a page number on each of five pages
    assert "1. On early help: Children receive the help that they need at the right time. Families benefit from a " \
           "broad range of early help early help services" in out, "wrapped lines are one paragraph again"


@pytest.mark.unit
def test_a_line_on_only_some_pages_is_content():
    pages = [_page(1, "One. " + PROSE), "The Harbour works with adolescents.\n" + PROSE, _page(3, "Three. " + PROSE),
             "Four. " + PROSE, "Five. " + PROSE]
    out, _ = read_pages("\f".join(pages))
    assert "The Harbour works with adolescents." in out


@pytest.mark.unit
def test_headings_numbered_paragraphs_and_table_cells_stay_apart():
    lines = ["The impact of leaders on social work", "practice with children and families", "Outstanding",
             "Overall effectiveness Good", "What needs to improve?", "◼ Oversight of arrangements when care leavers",
             "move in and out of emergency accommodation.", "1. Children are seen regularly.", "2. Managers supervise."]
    assert reflow(lines, full_width=90) == [
        "The impact of leaders on social work practice with children and families", "Outstanding",
        "Overall effectiveness Good", "What needs to improve?",
        "◼ Oversight of arrangements when care leavers move in and out of emergency accommodation.",
        "1. Children are seen regularly.", "2. Managers supervise."]


@pytest.mark.unit
def test_a_number_the_page_wrapped_mid_sentence_stays_in_the_sentence():
    lines = ["44. Many care leavers do not get a personal adviser or a pathway plan until they are well beyond",
             "17. This results in some delays in securing adult services for them because the plans are late",
             "45. Children are seen regularly."]
    assert reflow(lines, full_width=90) == [
        "44. Many care leavers do not get a personal adviser or a pathway plan until they are well beyond 17. This "
        "results in some delays in securing adult services for them because the plans are late",
        "45. Children are seen regularly."]


@pytest.mark.unit
def test_words_broken_across_lines_are_joined_when_the_text_knows_the_word():
    text = "commissioning matters. The council's commis-\nsioning is sound. A child-\ncentred plan."
    assert join_hyphenated(text) == "commissioning matters. The council's commissioning is sound. A child-centred plan."


def _report(council: str, body: str) -> Document:
    back = ("Ofsted is the Office for Standards in Education.\nPiccadilly Gate\nStore Street\nManchester\n"
            "T: 0300 123 1231\n© Crown copyright 2021")
    return Document(content=f"Inspection of {council}\nJudgement Grade\nGood\f{body}\nWhat needs to improve?\n"
                            f"Better plans.\f{back}", meta={"template": {"publisher": "Ofsted"}})


@pytest.mark.unit
def test_publisher_boilerplate_is_learned_and_only_runs_of_it_go():
    reports = [_report(c, f"Children in {c} are safe.") for c in ("Dorset", "Leeds", "Kent", "Hackney", "Wigan")]
    learned = learn(reports)
    text, removed = learned.strip(reports[0])
    assert "Piccadilly Gate" not in text and "Crown copyright" not in text and removed == 6
    assert "What needs to improve?" in text, "a single common heading is not a run of boilerplate"
    assert "Judgement Grade\nGood" in text, "the title page stays"
    assert learn(reports[:4]).publishers == {}, "too few documents to call anything a template"


@pytest.mark.unit
def test_what_was_learned_is_kept_for_incremental_runs():
    reports = [_report(c, f"Children in {c} are safe.") for c in ("Dorset", "Leeds", "Kent", "Hackney", "Wigan")]
    stored = LearnedBoilerplate.from_json(learn(reports).to_json())
    odd = Document(content="Title\fBody\fPiccadilly Gate\nStore Street\nManchester\nNew line one\nNew line two",
                   meta={"template": {"publisher": "Ofsted"}})
    again = learn([odd], known=stored)
    assert again.publishers["Ofsted"].lines == stored.publishers["Ofsted"].lines
    assert "New line one" in again.strip(odd)[0] and "Piccadilly Gate" not in again.strip(odd)[0]
