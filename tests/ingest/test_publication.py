"""Only the publication is indexed (issue 25, item 4): back matter, contents pages, paragraph numbers,
footnote marks, words broken in table cells and judgement-table headers do not reach the passages."""

from __future__ import annotations

from ingest.clean import clean_pages
from ingest.publication import Vocabulary, back_matter_start, contents_lines, english_words, tidy_line

BODY = "Social workers know their children well. Planning for permanence is timely and implemented well.\n"
BACK_PAGE = ("Quality assurance manager: Sean TarpeyAny complaints about the inspection or the report should be "
             "made following the procedures set out in the guidance.\n\nThe Office for Standards in Education, "
             "Children’s Services and Skills (Ofsted) regulates and inspects to achieve excellence.\n"
             "Interested in our work? You can subscribe to our monthly newsletter.\nPiccadilly Gate\nStore Street\n"
             "Manchester\nM1 2WD\nT: 0300 123 4234\nTextphone: 0161 618 8524\n© Crown copyright 2017")


def test_the_back_page_goes_from_its_first_line_and_the_pages_keep_their_offsets():
    raw = "Title page\n" + BODY + "\f" + BODY * 3 + "\f" + BODY + BACK_PAGE
    text, removed, starts = clean_pages(raw)
    assert "Crown copyright" not in text and "Piccadilly" not in text and "complaints" not in text
    assert "Ofsted) regulates" not in text and text.endswith("Quality assurance manager: Sean Tarpey")
    assert removed >= 8
    # Page 3 still starts where its text does.
    assert text[starts[2]:].startswith("Social workers know")


def test_one_line_is_back_matter_only_when_it_is_a_strong_cue_at_the_very_end():
    # What boilerplate learning left of a back page: its copyright line.
    assert back_matter_start([["Body"], ["Text", "© Crown copyright 2017"]]) == (1, 1, 0)
    # A telephone number on the last page is a report's content unless more back matter is around it.
    assert back_matter_start([["Body"], ["Contact the team", "T: 0300 123 4567"]]) is None
    # A copyright line followed by more of the report is not the start of its back page.
    assert back_matter_start([["Body"], ["© Crown copyright 2017", "One", "Two", "Three", "Four"]]) is None


def test_a_copyright_page_in_the_front_matter_goes():
    text, _, _ = clean_pages("Inspection of looked after children services\fKent\f© Crown copyright 2013\n"
                             "Website: www.ofsted.gov.uk\nThis document may be reproduced in whole or in part.\f"
                             "About this inspection\nThe inspection found good practice.")
    assert "copyright" not in text and "reproduced" not in text and "good practice" in text


def test_a_contents_page_goes_but_a_table_of_counts_stays():
    contents = ["Contents", "Essential Information 7", "", "Summary 7", "Impact on Local Authorities 7",
                "The 2004 Regulations 7", "1. Background: Why Legislate for Advocacy Services? 8", "Introduction 8",
                "Annex A: Further reading 31", "The guidance starts here."]
    assert contents_lines(contents) == set(range(9))
    counts = ["Barnsley 12", "Bury 4", "Leeds 30", "York 2", "Wakefield 9"]
    assert contents_lines(counts) == set()
    assert contents_lines(["Foreword ....................... 4", "Text."]) == {0}


def test_paragraph_numbers_footnote_marks_and_table_headers_go():
    vocabulary = Vocabulary.of("Board Board areas areas COVID19 COVID19 covid")
    assert tidy_line("17. Arrangements for them are good.", vocabulary) == "Arrangements for them are good."
    assert tidy_line("The Board1 and local areas3 agreed.", vocabulary) == "The Board and local areas agreed."
    assert tidy_line("COVID19 rates rose in 2019. 3 areas", vocabulary) == "COVID19 rates rose in 2019. 3 areas"
    assert tidy_line("Judgement Grade", vocabulary) == ""


def test_words_broken_in_table_cells_are_joined_only_into_the_documents_own_words():
    assert english_words(), "the model package's vocabulary is the word list"
    vocabulary = Vocabulary.of("planning implemented roll out rollout a broad abroad time frame timeframe")
    assert tidy_line("Yes - in design/plan ning phase; not being implemente d", vocabulary) == \
        "Yes - in design/planning phase; not being implemented"
    # Two words that make a third are left alone: both are words.
    assert tidy_line("a broad roll out in a time frame", vocabulary) == "a broad roll out in a time frame"
    # A break whose join the document never uses is left alone.
    assert tidy_line("the commission ing panel", vocabulary) == "the commission ing panel"
