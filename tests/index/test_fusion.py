import pytest
from haystack import Pipeline

from index.search.fusion import FusionRanker
from index.search.ranking import fuse
from index.storage.contract import PassageHit

pytestmark = pytest.mark.unit


def hits(*pairs):
    return [PassageHit(rowid, str(rowid), "s", "", {}, score) for rowid, score in pairs]


def test_weighted_combines_normalised_scores():
    lexical = hits((1, 12.0), (2, 6.0), (3, 0.0))
    dense = hits((3, 0.9), (1, 0.5), (4, 0.1))
    fused = fuse(lexical, dense, "weighted", dense_weight=0.5, rrf_k=60, scale="minmax")
    scores = {h.rowid: round(h.score, 4) for h in fused}
    assert scores == {1: 0.5 + 0.5 * 0.5, 2: 0.25, 3: 0.5, 4: 0.0}
    assert [h.rowid for h in fused][:2] == [1, 3]


def test_max_scale_keeps_each_lists_spread():
    """Over the list's best: dense candidates that barely differ (0.60 against 0.50) move the ranking less than
    lexical ones a quarter apart, where minmax stretches the dense gap to the whole 0..1 range."""
    lexical = hits((1, 12.0), (2, 9.0), (4, 0.0))
    dense = hits((2, 0.60), (1, 0.50), (3, 0.49))
    fused = fuse(lexical, dense, "weighted", dense_weight=0.5, rrf_k=60, scale="max")
    scores = {h.rowid: h.score for h in fused}
    assert scores[1] == pytest.approx(0.5 * 0.50 / 0.60 + 0.5 * 1.0)
    assert scores[2] == pytest.approx(0.5 * 1.0 + 0.5 * 0.75)
    # 3 is in no lexical list: it gets that list's lowest (its score would be at most the last one's).
    assert scores[3] == pytest.approx(0.5 * 0.49 / 0.60 + 0.5 * 0.0)
    assert [h.rowid for h in fused][:2] == [1, 2]
    assert [h.rowid for h in fuse(lexical, dense, "weighted", 0.5, 60, scale="minmax")][:2] == [2, 1]


def test_rrf_and_single_modes():
    lexical, dense = hits((1, 3.0), (2, 2.0)), hits((2, 0.9), (3, 0.8))
    assert next(h.rowid for h in fuse(lexical, dense, "rrf", 0.5, 60)) == 2
    assert [h.rowid for h in fuse(lexical, dense, "dense", 0.5, 60)] == [2, 3]
    assert [h.rowid for h in fuse(lexical, dense, "lexical", 0.5, 60)] == [1, 2]
    with pytest.raises(ValueError, match="Unknown fusion"):
        fuse(lexical, dense, "magic", 0.5, 60)


def test_component_serialises_exactly_and_survives_yaml():
    ranker = FusionRanker(method="rrf", dense_weight=0.7, rrf_k=30)
    assert ranker.to_dict() == {"type": "index.search.fusion.FusionRanker",
                                "init_parameters": {"method": "rrf", "dense_weight": 0.7, "rrf_k": 30,
                                                    "scale": "max"}}
    pipeline = Pipeline()
    pipeline.add_component("fusion", ranker)
    loaded = Pipeline.loads(pipeline.dumps(), allowed_modules=["index.search.fusion"])
    result = loaded.run({"fusion": {"lexical_hits": hits((1, 1.0)), "dense_hits": hits((2, 1.0), (1, 0.5))}})
    assert [h.rowid for h in result["fusion"]["hits"]] == [1, 2]


def test_component_puts_relaxed_matches_after_strict_ones():
    ranker = FusionRanker(method="lexical")
    fused = ranker.run(lexical_hits=hits((1, 2.0)), dense_hits=[], relaxed_hits=hits((2, 9.0), (3, 5.0)))["hits"]
    assert [h.rowid for h in fused] == [1, 2, 3]
    with pytest.raises(ValueError, match="Unknown fusion method 'magic'; use one of weighted, rrf"):
        FusionRanker(method="magic")
