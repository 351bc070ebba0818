import pytest

from ingest.councils import authorities
from ingest.tagging import local_authorities_in, source_tags, theme_keywords_in, themes

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


def test_source_tags_need_a_keyword_twice_and_similar_passages_are_not_enough():
    passages = [
        {"councils": ["Leeds"], "council_evidence": {"Leeds": "Leeds"}, "theme_reasons": {
            "early-help": "similar to the theme's description (0.50)", "workforce": "keywords: caseload"}},
        {"councils": [], "theme_reasons": {"family-courts": "similar to the theme's description (0.47)"}},
        {"councils": [], "theme_reasons": {"early-help": "similar to the theme's description (0.48)"}},
    ]
    text = "In Leeds the caseload fell. Caseloads are lower now. The family court sat once."
    tags = source_tags(passages, text)
    assert [c.name for c in tags.councils] == ["Leeds"]
    assert [t.id for t in tags.themes] == ["workforce"], "two passages similar to early help do not tag the source"
    assert tags.themes[0].reason == "keywords: caseload, caseloads (2 mentions)"


def test_a_long_report_is_tagged_only_with_what_it_keeps_coming_back_to():
    filler = "The council's leaders know their services well and plan carefully for every child. " * 700
    care_leavers = "Care leavers have a personal adviser and a pathway plan. " * 6  # 18 mentions
    neglect = "Neglect is recognised. " * 3  # three mentions in about 9,000 words: in passing
    tags = source_tags([], filler + care_leavers + neglect)
    assert [t.id for t in tags.themes] == ["care-leavers"]


def test_keywords_are_whole_words_and_acronyms_keep_their_case():
    found = theme_keywords_in("We are sending a trusting letter; the SEND team recruited staff.")
    assert "disabled-children" in found and found["disabled-children"] == ["send"]
    assert "trusts-alternative-delivery" not in found, "'trusting' is not a trust"
    assert found["workforce"] == ["recruited"], "a stem marked with * matches its endings"
    assert "disabled-children" not in theme_keywords_in("We are sending a letter.")
