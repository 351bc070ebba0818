"""Fusion of lexical and dense candidates into one ranked list of passages.

Plain RRF of a weak BM25 and a stronger dense retriever can score below dense alone, so the
default is a weighted combination of min-max normalised scores; weighted RRF and single-retriever
modes are there to measure against (``kb eval``, ``benchmarks/``).
"""

from __future__ import annotations

from typing import Any

from haystack import component, default_from_dict, default_to_dict

from index.settings import FUSION_METHODS
from index.store import ChunkHit


def _minmax(hits: list[ChunkHit]) -> dict[int, float]:
    if not hits:
        return {}
    scores = [h.score for h in hits]
    low, high = min(scores), max(scores)
    if high - low < 1e-12:
        return {h.rowid: 1.0 for h in hits}
    return {h.rowid: (h.score - low) / (high - low) for h in hits}


def fuse(
    lexical: list[ChunkHit], dense: list[ChunkHit], method: str, dense_weight: float, rrf_k: int
) -> list[ChunkHit]:
    """Fuse two ranked candidate lists; returns hits with their fused score, best first.

    :raises ValueError: for an unknown method.
    """
    if method not in FUSION_METHODS:
        raise ValueError(f"Unknown fusion method {method!r}; use one of {', '.join(FUSION_METHODS)}.")
    if method == "lexical":
        return list(lexical)
    if method == "dense":
        return list(dense)
    by_row = {h.rowid: h for h in dense}
    by_row.update({h.rowid: h for h in lexical if h.rowid not in by_row})
    scores: dict[int, float] = dict.fromkeys(by_row, 0.0)
    if method == "weighted":
        for weight, normalised in ((dense_weight, _minmax(dense)), (1.0 - dense_weight, _minmax(lexical))):
            for rowid, value in normalised.items():
                scores[rowid] += weight * value
    else:
        for weight, hits in ((dense_weight, dense), (1.0 - dense_weight, lexical)):
            for rank, hit in enumerate(hits):
                scores[hit.rowid] += weight / (rrf_k + rank + 1)
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [_rescored(by_row[rowid], score) for rowid, score in ranked]


def _rescored(hit: ChunkHit, score: float) -> ChunkHit:
    # Direct construction: dataclasses.replace costs a measurable share of a query at 200 candidates.
    return ChunkHit(hit.rowid, hit.id, hit.source_id, hit.content, hit.meta, score)


@component
class FusionRanker:
    """Fuse lexical and dense passages (a Haystack component).

    Usage::

        ranker = FusionRanker(method="weighted", dense_weight=0.7)
        ranker.run(lexical_hits=[...], dense_hits=[...])["hits"]

    :param method: weighted, rrf, dense or lexical.
    :param dense_weight: weight of the dense list; the lexical list gets ``1 - dense_weight``.
    :param rrf_k: the k of reciprocal rank fusion.
    """

    def __init__(self, method: str = "weighted", dense_weight: float = 0.7, rrf_k: int = 60) -> None:
        if method not in FUSION_METHODS:
            raise ValueError(f"Unknown fusion method {method!r}; use one of {', '.join(FUSION_METHODS)}.")
        self.method = method
        self.dense_weight = dense_weight
        self.rrf_k = rrf_k

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, method=self.method, dense_weight=self.dense_weight, rrf_k=self.rrf_k)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FusionRanker:
        return default_from_dict(cls, data)

    @component.output_types(hits=list[ChunkHit])
    def run(
        self, lexical_hits: list[ChunkHit], dense_hits: list[ChunkHit], method: str | None = None
    ) -> dict[str, Any]:
        """:returns: ``{"hits": fused hits, best first}``."""
        return {"hits": fuse(lexical_hits, dense_hits, method or self.method, self.dense_weight, self.rrf_k)}
