"""Fusion of lexical and dense candidates as a Haystack component, for pipelines.

The formulas (and why weighted min-max fusion is the default) are in :mod:`index.search.ranking`; this
component only carries the settings and calls :func:`index.search.ranking.fuse`.
"""

from __future__ import annotations

from typing import Any

from haystack import component, default_from_dict, default_to_dict

from index.search.ranking import fuse, fusion_method, lexical_ranking
from index.storage.contract import PassageHit


@component
class FusionRanker:
    """Fuse lexical and dense passages (a Haystack component).

    Usage::

        ranker = FusionRanker(method="weighted", dense_weight=0.7)
        ranker.run(lexical_hits=[...], dense_hits=[...], relaxed_hits=[...])["hits"]

    :param method: weighted, rrf, dense or lexical.
    :param dense_weight: weight of the dense list; the lexical list gets ``1 - dense_weight``.
    :param rrf_k: the k of reciprocal rank fusion.
    :param scale: how weighted fusion scales each list's scores: max or minmax (the ``fusion_scores`` setting).
    :raises ValueError: for an unknown method.
    """

    def __init__(self, method: str = "weighted", dense_weight: float = 0.7, rrf_k: int = 60,
                 scale: str = "max") -> None:
        self.method = fusion_method(method)
        self.dense_weight = dense_weight
        self.rrf_k = rrf_k
        self.scale = scale

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, method=self.method, dense_weight=self.dense_weight, rrf_k=self.rrf_k,
                               scale=self.scale)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FusionRanker:
        return default_from_dict(cls, data)

    @component.output_types(hits=list[PassageHit])
    def run(self, lexical_hits: list[PassageHit], dense_hits: list[PassageHit],
            relaxed_hits: list[PassageHit] | None = None, method: str | None = None) -> dict[str, Any]:
        """:param lexical_hits: the lexical retriever's strict matches; ``relaxed_hits`` its relaxed ones.
        :returns: ``{"hits": fused hits, best first}``.
        """
        lexical = lexical_ranking(lexical_hits, relaxed_hits or [])
        return {"hits": fuse(lexical, dense_hits, method or self.method, self.dense_weight, self.rrf_k, self.scale)}
