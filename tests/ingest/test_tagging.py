import pytest

from ingest.tagging import authorities, local_authorities_in, source_tags, theme_keywords_in, themes

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


def test_source_tags_need_a_keyword_or_two_similar_passages():
    passages = [
        {"councils": ["Leeds"], "council_evidence": {"Leeds": "Leeds"}, "theme_reasons": {
            "early-help": "similar to the theme's description (0.50)", "workforce": "keywords: caseload"}},
        {"councils": [], "theme_reasons": {"family-courts": "similar to the theme's description (0.47)"}},
        {"councils": [], "theme_reasons": {"early-help": "similar to the theme's description (0.48)"}},
    ]
    tags = source_tags(passages)
    assert [c.name for c in tags.councils] == ["Leeds"]
    assert [t.id for t in tags.themes] == ["early-help", "workforce"]
    assert tags.themes[0].reason == "2 passages similar to the theme's description (2 of 3 passages)"


def test_a_long_source_is_tagged_only_with_what_it_is_substantially_about():
    passages = [{"theme_reasons": {"care-leavers": "keywords: care leavers"}} for _ in range(4)]
    passages += [{"theme_reasons": {"neglect": "keywords: neglect"}}]  # one passage of twenty
    passages += [{"theme_reasons": {}} for _ in range(15)]
    tags = source_tags(passages)
    assert [t.id for t in tags.themes] == ["care-leavers"]
    assert tags.themes[0].reason == "keywords: care leavers (4 of 20 passages)"


def test_council_details_add_the_inspected_council_and_its_statistical_neighbours():
    from index.records import Inspection, SourceRecord
    from ingest.tagging import council_details

    report = SourceRecord(id="r", source="r.pdf", title="t", type="inspection", content="", content_hash="h",
                          inspection=Inspection(council="Dorset", framework="ILACS", published="2021-11-19"))
    details = council_details([report], ["Hackney"])
    assert details["Dorset"]["statistical_neighbours"][:2] == ["Somerset", "Devon"]
    assert details["Dorset"]["region"] == "South West"
    assert details["Hackney"]["ofsted"]["overall_effectiveness"] in {"outstanding", "good", "requires improvement",
                                                                     "inadequate"}
    # A neighbour no source names gets its latest judgement, but no neighbours of its own.
    assert "ofsted" in details["Somerset"] and "statistical_neighbours" not in details["Somerset"]
