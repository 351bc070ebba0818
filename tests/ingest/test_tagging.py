import json

import pytest

from index.records import SourceRecord, SourceTags, ThemeTag
from ingest.councils import authorities
from ingest.tagging import (
    MIN_PROSE_SHARE,
    local_authorities_in,
    paragraphs_of,
    prose_share,
    source_tags,
    theme_keywords_in,
    themes,
    topic_paragraphs,
)

pytestmark = pytest.mark.unit


def test_all_153_current_authorities_are_listed():
    current = [a for a in authorities() if not a.former]
    assert len(current) == 153
    assert len({a.name for a in current}) == 153
    by_type = {t: sum(1 for a in current if a.type == t) for t in {a.type for a in current}}
    assert by_type == {"London borough": 33, "metropolitan borough": 36, "county council": 21,
                       "unitary authority": 63}


@pytest.mark.parametrize("text, expected", [
    ("Hackney's Reclaiming Social Work model", ["Hackney"]),
    ("as in the case of Richmond and Kingston", ["Kingston upon Thames", "Richmond upon Thames"]),
    ("the Tri-Borough evaluation", ["Hammersmith and Fulham", "Kensington and Chelsea", "Westminster"]),
    ("Hammersmith & Fulham and Kent County Council", ["Hammersmith and Fulham", "Kent"]),
    ("children in Bury and in Reading", ["Bury", "Reading"]),
    ("Register Now to Continue Reading", []),
    ("Bury the past. Sutton Hoo. Clark Kent. New York. Newcastle-under-Lyme.", []),
    ("Westminster politicians debated the bill", []),
    ("North Yorkshire and Lincolnshire County Council", ["Lincolnshire", "North Yorkshire"]),
    ("Kingston upon Hull and the City of York Council", ["Kingston upon Hull", "York"]),
])
def test_councils_from_text(text, expected):
    assert local_authorities_in(text)["councils"] == expected


def test_group_is_recorded_with_its_evidence():
    found = local_authorities_in("the Tri-Borough partnership")
    assert found["council_groups"] == ["Tri-borough"]
    assert found["evidence"]["Westminster"] == "Tri-Borough (group)"


def test_theme_keywords_are_explained():
    found = theme_keywords_in("Support for adolescents on the edge of care, with £2m of funding.")
    assert found["adolescents-edge-of-care"] == ["adolescents", "edge of care"]
    assert "funding-commissioning" in found
    assert len(themes()) == 18


# Paragraphs from the Ofsted inspections in ../shared/corpora/ofsted-ilacs (Walsall 2021, Barking and Dagenham
# 2023, Kingston upon Hull 2019, Doncaster 2025, Gateshead 2025), as a report's text: paragraphs apart by a blank line.
ABOUT_DISABLED = ("Disabled children receive highly effective support and help to meet their needs. Children’s "
                  "assessments are comprehensive and they appropriately consider the views of children.")
DISABLED_IN_PASSING = ("Most children’s assessments, including those for disabled children, are comprehensive, include "
                       "multi-agency views and are informed by history.")
CAMHS = ("Health assessments for children in care are not always timely. Children and young people are given "
         "priority for child and adolescent mental health services, but this does not always happen.")
ABOUT_PRIVATE_FOSTERING = ("The response to children who are privately fostered is variable. Some assessments are "
                           "timely with relevant essential checks, whereas others experience delays.")
PASSING_LATE = ("Senior leaders are visible and accessible, through active participation in quality assurance, "
                "chairing panels, boards and groups, and they know that the response to children who are privately "
                "fostered needs to improve.")


def test_a_source_is_about_a_theme_when_a_paragraph_opens_with_it():
    text = "\n\n".join([ABOUT_DISABLED, DISABLED_IN_PASSING, CAMHS, PASSING_LATE])
    passages = [{"ordinal": 0, "start": 0, "end": len(ABOUT_DISABLED), "councils": ["Leeds"],
                 "council_evidence": {"Leeds": "Leeds"}},
                {"ordinal": 1, "start": len(ABOUT_DISABLED), "end": len(text), "councils": []}]
    tags = source_tags(passages, text)
    assert [c.name for c in tags.councils] == ["Leeds"]
    # Disabled children open the first paragraph; no paragraph opens with mental health ("Health assessments"
    # is not a keyword), CAMHS is not adolescents on the edge of care, and private fostering comes too late.
    assert [t.id for t in tags.themes] == ["disabled-children"]
    [tag] = tags.themes
    assert tag.reason == "1 paragraph about it"
    assert tag.evidence == "Disabled children receive highly effective support and help to meet their needs."
    assert tag.passage == 0, "the passage that holds the paragraph"


def test_a_theme_named_in_a_list_or_an_excluded_phrase_is_not_the_subject():
    paragraphs = topic_paragraphs("\n\n".join([DISABLED_IN_PASSING, CAMHS]))
    assert "disabled-children" not in paragraphs, "'including those for disabled children' is a list member"
    assert "adolescents-edge-of-care" not in paragraphs, "'child and adolescent mental health' is excluded"
    found = topic_paragraphs(ABOUT_PRIVATE_FOSTERING + "\n\n" + ABOUT_DISABLED)
    assert [p.start for p in found["private-fostering"]] == [0]
    assert [p.start for p in found["disabled-children"]] == [len(ABOUT_PRIVATE_FOSTERING) + 2]


# Lines of the Children in need census guide (../shared/corpora/csc-reports), a list-like document: its code
# list names a topic on one line after another, and bullet points name every topic once.
CODE_LIST = "\n\n".join([
    "10A Missing: concerns that services may be required or the child may be at risk of harm due to going/being "
    "missing.",
    "11A Child sexual exploitation: concerns that services may be required or the child may be at risk of harm "
    "due to child sexual exploitation.",
    "12A Trafficking: concerns that services may be required or the child may be at risk of harm due to trafficking.",
    "13A Gangs: concerns that services may be required or the child may be at risk of harm because of involvement "
    "in/with gangs."])
BULLETS = "\n\n".join(f"• {word}" for word in ("the types of data being held;", "why it is being held;",
                                                  "to whom it may be passed on.")) + "\n\nCode Description"


def test_a_report_in_prose_needs_one_paragraph_however_long():
    filler = "\n\n".join(["The council's leaders know their services well and plan carefully for every child in "
                          "the area."] * 600)  # about 9,600 words of prose, no theme
    assert prose_share(filler) == 1.0
    once = source_tags([], filler + "\n\n" + ABOUT_PRIVATE_FOSTERING)
    assert [(t.id, t.reason) for t in once.themes] == [("private-fostering", "1 paragraph about it")]
    assert once.themes[0].passage is None, "no passages given, none named"


def test_a_list_like_document_needs_three_paragraphs_and_a_list_counts_once():
    lists = "\n\n".join([BULLETS] * 40)
    assert prose_share(CODE_LIST) == 0.0, "codes are list items, however long their lines"
    assert prose_share(lists + "\n\n" + CODE_LIST) < MIN_PROSE_SHARE <= prose_share(ABOUT_DISABLED) == 1.0
    code_list = source_tags([], lists + "\n\n" + CODE_LIST)
    assert code_list.themes == (), "three consecutive codes naming exploitation are one list"
    found = topic_paragraphs(CODE_LIST)["exploitation-missing"]
    assert [(p.index, p.list_item) for p in found] == [(1, True), (2, True), (3, True)], "10A: \"missing\" alone is not"
    one = source_tags([], lists + "\n\n" + ABOUT_PRIVATE_FOSTERING)
    assert one.themes == (), "one paragraph in a list-like document is a glossary entry or a code's line"
    three = source_tags([], lists + ("\n\n" + ABOUT_PRIVATE_FOSTERING + "\n\n" + BULLETS) * 3)
    assert [(t.id, t.reason) for t in three.themes] == [("private-fostering", "3 paragraphs about it")]


def test_a_table_of_short_lines_is_not_a_paragraph():
    judgements = ("Children’s services in Stockport are good\nChildren who need help and protection Good\n"
                  "Children looked after and achieving permanence\nGood\n2.1 Adoption performance Outstanding\n"
                  "2.2 Experiences and progress of care leavers Good")
    assert topic_paragraphs(judgements) == {}, "an inspection's table of judgements names themes, it is not about them"
    assert "residential-foster-care" in topic_paragraphs(judgements.replace("\n", " ")), "the same words as one line"


def test_a_paragraph_cut_by_a_page_break_joins_the_one_before():
    # Suffolk 2024: the second part begins in lower case; its first words end a sentence about something else.
    cut = ("Children benefit from assessments that are detailed and consider their history and the views of the "
           "family. The",
           "analysis of risk and harm is supported through use of research, although it is not always nuanced to "
           "reflect the most relevant issues for the child.")
    assert "evaluation-evidence" not in topic_paragraphs("\n\n".join(cut))
    assert "evaluation-evidence" in topic_paragraphs(cut[1].capitalize())
    [(start, body)] = paragraphs_of("\n\n".join(cut))
    assert start == 0 and body.endswith("for the child.")


def test_a_subset_named_after_particularly_is_not_the_subject():
    # Doncaster 2025, "what needs to improve".
    item = ("◼ The number of children subject to repeat child protection planning, particularly those children "
            "experiencing neglect (Outcome 3).")
    assert "neglect" not in topic_paragraphs(item)
    assert "neglect" in topic_paragraphs("◼ The response to neglect, homeless 16 to 17-year-olds and return home "
                                         "interviews with children who have been missing.")


@pytest.mark.parametrize("sentence, theme", [
    ("Children’s physical and emotional health needs are mostly well monitored, and they have all the checks "
     "they need.", "mental-health"),  # Leicestershire 2019: health checks, not mental health
    ("Effective strategic relationships with multi-agency partners have resulted in the successful disruption of "
     "known perpetrators who criminally exploit or traffic children.", "domestic-abuse"),  # Thurrock 2019
    ("Workloads are manageable, enabling workers to practise relationally, spending more time with children and "
     "families.", "funding-commissioning"),  # North Lincolnshire 2022
])
def test_words_in_another_sense_do_not_make_a_paragraph_about_a_theme(sentence, theme):
    assert theme not in topic_paragraphs(sentence)


def test_a_long_evidence_sentence_is_cut_at_a_word():
    sentence = "Disabled children " + "receive support from skilled and caring social workers " * 8 + "every day."
    [tag] = source_tags([], sentence + " Another sentence follows here.").themes
    assert tag.evidence.endswith("…") and len(tag.evidence) <= 221 and sentence.startswith(tag.evidence[:-1])


def test_theme_evidence_survives_the_store_and_older_records_have_none():
    record = SourceRecord(id="s", source="s.txt", title="T", type="inspection", content="x", content_hash="h",
                          tags=SourceTags(themes=(ThemeTag("neglect", "1 paragraph about it", "Neglect is…", 4),)))
    back = SourceRecord.from_storage(id="s", source="s.txt", title="T", type="inspection", content="x",
                                     content_hash="h", date=None, publisher=None, url=None,
                                     meta_json=record.meta_json())
    assert back.tags.themes == record.tags.themes
    old = json.loads(record.meta_json())
    del old["theme_evidence"]
    older = SourceRecord.from_storage(id="s", source="s.txt", title="T", type="inspection", content="x",
                                      content_hash="h", date=None, publisher=None, url=None,
                                      meta_json=json.dumps(old))
    assert older.tags.themes == (ThemeTag("neglect", "1 paragraph about it"),)


def test_keywords_are_whole_words_and_acronyms_keep_their_case():
    found = theme_keywords_in("We are sending a trusting letter; the SEND team recruited staff.")
    assert "disabled-children" in found and found["disabled-children"] == ["send"]
    assert "trusts-alternative-delivery" not in found, "'trusting' is not a trust"
    assert "trusts-alternative-delivery" not in theme_keywords_in("allegations against adults in a position of trust")
    assert theme_keywords_in("Slough Children’s Services Trust")["trusts-alternative-delivery"]
    assert found["workforce"] == ["recruited"], "a stem marked with * matches its endings"
    assert "disabled-children" not in theme_keywords_in("We are sending a letter.")
