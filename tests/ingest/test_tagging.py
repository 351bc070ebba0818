import json

import pytest

from index.records import SourceRecord, SourceTags, ThemeTag
from ingest.councils import authorities
from ingest.tagging import local_authorities_in, source_tags, theme_keywords_in, themes, topic_paragraphs

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


def test_a_long_document_needs_three_paragraphs_about_a_theme():
    filler = "\n\n".join(["The council's leaders know their services well and plan carefully for every child in "
                          "the area."] * 600)  # about 9,600 words, no theme
    once = source_tags([], filler + "\n\n" + ABOUT_PRIVATE_FOSTERING)
    assert once.themes == (), "one paragraph in a long document is a glossary entry or a code list's line"
    thrice = source_tags([], filler + ("\n\n" + ABOUT_PRIVATE_FOSTERING) * 3)
    assert [(t.id, t.reason) for t in thrice.themes] == [("private-fostering", "3 paragraphs about it")]
    assert thrice.themes[0].passage is None, "no passages given, none named"


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
