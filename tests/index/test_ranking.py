"""The ranking formula of index/search/ranking.py, step by step, on hand-made scores (no model, no store)."""

from __future__ import annotations

import pytest

from index.errors import SettingsError
from index.search.ranking import (
    ADAPTIVE_SHIFT,
    CLOSE_MEANING,
    CLOSE_MEANING_SHIFT,
    FUSED_MAX,
    FUSED_MIN,
    MAX_PROXIMITY_BOOST,
    RERANKED_FLOOR,
    RankedSource,
    boost_proximity,
    closer_as_a_whole,
    dense_weight_for,
    group_by_source,
    lexical_ranking,
    reranked,
)
from index.settings import Settings
from index.storage.contract import PassageHit

pytestmark = pytest.mark.unit


def hit(rowid: int, score: float, source: str | None = None) -> PassageHit:
    return PassageHit(rowid, str(rowid), source or f"s{rowid}", "", {}, score)


def test_relaxed_matches_are_shifted_below_the_weakest_strict_one():
    ranked = lexical_ranking([hit(1, 3.0), hit(2, 1.0)], [hit(3, 8.0), hit(4, 2.0)])
    assert [h.rowid for h in ranked] == [1, 2, 3, 4]
    assert ranked[2].score == pytest.approx(1.0, abs=1e-5) and ranked[2].score < 1.0
    assert ranked[2].score - ranked[3].score == pytest.approx(6.0), "relaxed scores keep their gaps"
    assert [h.score for h in lexical_ranking([], [hit(3, 8.0)])] == [8.0], "no strict match: nothing to shift"


def test_proximity_boost_reorders():
    hits = [hit(1, 0.9), hit(2, 0.85), hit(3, 0.5)]
    boosted = boost_proximity(hits, {2}, 0.1)
    assert [(h.rowid, round(h.score, 4)) for h in boosted] == [(2, 0.95), (1, 0.9), (3, 0.5)]
    assert boost_proximity(hits, set(), 0.1) is hits


def test_source_score_is_best_plus_a_tenth_of_second():
    sources = group_by_source([hit(1, 0.9, "a"), hit(2, 0.88, "b"), hit(3, 0.5, "b"), hit(4, 0.1, "a")])
    assert [(s.source_id, round(s.score, 4)) for s in sources] == [("b", 0.93), ("a", 0.91)]
    assert [h.rowid for h in sources[0].passages] == [2, 3]
    source_id, _, passages = sources[1]  # still unpacks as the (id, score, passages) it replaced
    assert (source_id, len(passages)) == ("a", 2)


def test_the_boost_bound_the_floor_relies_on_is_enforced():
    assert Settings().replace(proximity_boost=MAX_PROXIMITY_BOOST).proximity_boost == MAX_PROXIMITY_BOOST
    with pytest.raises(SettingsError, match="proximity_boost"):
        Settings().replace(proximity_boost=MAX_PROXIMITY_BOOST + 0.01)


def test_a_reranked_source_outranks_the_best_other_source_at_the_bounds():
    # Worst case: the re-ranked passage gets probability 0 and its source's second passage the lowest
    # fused score; another source has two passages at the highest fused score plus the largest boost.
    top = FUSED_MAX + MAX_PROXIMITY_BOOST
    others = [hit(2, top, "rival"), hit(3, top, "rival"), hit(4, FUSED_MIN, "chosen")]
    sources = group_by_source(reranked([(hit(1, 0.0, "chosen"), 0.0)], others))
    assert [s.source_id for s in sources] == ["chosen", "rival"]
    assert sources[0].passages[0].score == RERANKED_FLOOR


def test_unbounded_bm25_raises_the_floor_for_that_query():
    others = [hit(2, 40.0, "rival"), hit(3, 35.0, "rival")]  # fusion = lexical: raw bm25
    ranked = reranked([(hit(1, 12.0, "chosen"), 0.3), (hit(5, 11.0, "next"), 0.9)], others)
    assert [h.rowid for h in ranked] == [1, 5, 2, 3], "the cross-encoder's order, then the others"
    assert [s.source_id for s in group_by_source(ranked)][-1] == "rival"
    assert ranked[0].score > RERANKED_FLOOR + 0.3


def test_adaptive_dense_weight_follows_what_the_candidates_say():
    settings = Settings()
    base = settings.dense_weight
    far, close = [hit(9, CLOSE_MEANING - 0.01)], [hit(9, CLOSE_MEANING)]
    assert dense_weight_for([], far, settings) == pytest.approx(base)
    assert dense_weight_for([hit(1, 5.0)], far, settings) == pytest.approx(base - ADAPTIVE_SHIFT), \
        "a passage holds every word: the shift chosen for it (none since issue 24)"
    assert CLOSE_MEANING_SHIFT > 0
    assert dense_weight_for([], close, settings) == pytest.approx(base + CLOSE_MEANING_SHIFT), \
        "a passage very close in meaning: lean on meaning"
    assert dense_weight_for([hit(1, 5.0)], close, settings) == pytest.approx(base - ADAPTIVE_SHIFT
                                                                             + CLOSE_MEANING_SHIFT)
    assert dense_weight_for([], close, settings.replace(dense_weight=0.9)) == 1.0, "kept within [0, 1]"
    fixed = settings.replace(adaptive_weights=False)
    assert dense_weight_for([hit(1, 5.0)], close, fixed) == pytest.approx(base)


def test_steps_4_and_5_are_a_pure_function_of_the_stores_answers():
    """No store: what the text holds reaches the ranking as data (MatchAnswers), asked for exactly the rows
    the steps use (MatchQuestions)."""
    from index.search.query import parse_query
    from index.search.ranking import PROXIMITY_DEPTH, MatchAnswers, match_questions, rank_passages

    settings = Settings(proximity_boost=0.1)
    fused = [hit(i, 1.0 - i / 100, source=f"s{i % 7}") for i in range(40)]
    plain = parse_query("edge care")
    asked = match_questions(plain, fused, settings)
    assert asked.near == tuple(range(PROXIMITY_DEPTH)) and asked.phrases == () and asked.exclusions == ()
    ranked = rank_passages(plain, fused, MatchAnswers(close=frozenset({5, 35})), settings)
    assert ranked[0].rowid == 5, "a close passage among the best 30 is boosted"
    assert [h.rowid for h in ranked if h.rowid == 35] and next(h for h in ranked if h.rowid == 35).score == \
        fused[35].score, "one beyond them is not, whatever the store says"
    quoted = parse_query('"edge of care" -trafford')
    asked = match_questions(quoted, fused, settings)
    assert asked.phrases == tuple(h.rowid for h in fused) and set(asked.exclusions) == {f"s{i}" for i in range(7)}
    ranked = rank_passages(quoted, fused, MatchAnswers(with_phrases=frozenset({1, 2, 3, 8}),
                                                       excluded_sources=frozenset({"s1"})), settings)
    assert [h.rowid for h in ranked] == [2, 3], "phrases keep passages, an exclusion drops a whole source"
    assert rank_passages(plain, fused, MatchAnswers(), settings.replace(fusion="dense"), "dense") == fused


def test_sources_closer_in_meaning_as_a_whole_are_lifted_in_proportion():
    # "mentions" has the best passage; "about" is closer as a whole (its passages are on the topic).
    sources = [RankedSource("mentions", 1.00, []), RankedSource("about", 0.95, []), RankedSource("other", 0.90, [])]
    closeness = {"mentions": 0.30, "about": 0.60}  # "other" has no mean vector: it counts 0
    lifted = closer_as_a_whole(sources, closeness, 0.2)
    assert [s.source_id for s in lifted] == ["about", "mentions", "other"]
    scores = {s.source_id: s.score for s in lifted}
    assert scores["about"] == pytest.approx(0.95 + 0.2) and scores["mentions"] == pytest.approx(1.0 + 0.1)
    assert scores["other"] == 0.90
    assert closer_as_a_whole(sources, closeness, 0.0) is sources, "off: nothing moves"
    assert closer_as_a_whole(sources, {}, 0.2) is sources, "no source vectors: nothing moves"
