"""Lexical (bm25: tantivy, or FTS5 without it) and dense (FAISS) retrievers over a store, as Haystack components.

They return raw scores; how those become a ranking is :mod:`index.search.ranking`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from haystack import component, default_from_dict, default_to_dict
from haystack.core.serialization import import_class_by_name

from index.search.query import ParsedQuery
from index.search.ranking import MatchAnswers, MatchQuestions
from index.storage.contract import PassageHit, PassageStore
from index.storage.lexical_retrieval import lexical_candidates


class _StoreRetriever:
    """What both retrievers share: a store, a default ``top_k``, and whether hits carry their text.

    :param document_store: the store to search.
    :param top_k: most passages returned.
    :param with_content: return passage text and meta; False returns ids and scores only, which is
        all fusion and grouping need (the search fetches text for the passages it shows).
    """

    def __init__(self, document_store: PassageStore, top_k: int = 100,
                 with_content: bool = True) -> None:
        self.document_store = document_store
        self.top_k = top_k
        self.with_content = with_content

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, document_store=self.document_store.to_dict(), top_k=self.top_k,
                               with_content=self.with_content)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        params = data["init_parameters"]
        store = params["document_store"]
        # Whichever backend's store it was: the type names its class, as Haystack serialises components.
        kind: Any = import_class_by_name(store["type"])
        params["document_store"] = kind.from_dict(store)
        return default_from_dict(cls, data)


@component
class LexicalRetriever(_StoreRetriever):
    """Passages ranked by bm25: those matching every clause, and, to fill ``top_k``, those matching any word.

    The store answers from its tantivy index when the generation has one, else from FTS5
    (:func:`~index.storage.lexical_retrieval.lexical_retrieval`).

    Usage::

        found = LexicalRetriever(document_store=store, top_k=100).run(query=parse_query("edge of care"))
        found["hits"], found["relaxed_hits"]

    Parameters: see :class:`_StoreRetriever`.
    """

    def __init__(self, document_store: PassageStore, top_k: int = 100, with_content: bool = True,
                 title_weight: float | None = None) -> None:
        # Not super(): Haystack's @component rebuilds the class, which breaks zero-argument super().
        _StoreRetriever.__init__(self, document_store, top_k, with_content)
        self.title_weight = title_weight

    def to_dict(self) -> dict[str, Any]:
        data = _StoreRetriever.to_dict(self)
        data["init_parameters"]["title_weight"] = self.title_weight
        return data

    @component.output_types(hits=list[PassageHit], relaxed_hits=list[PassageHit])
    def run(self, query: ParsedQuery, filters: dict[str, Any] | None = None, top_k: int | None = None
            ) -> dict[str, Any]:
        """:returns: ``{"hits": strict matches, "relaxed_hits": the others}``, each best first, with
        their raw bm25 scores (:func:`index.search.ranking.lexical_ranking` puts the two in one order).
        """
        hits, more = lexical_candidates(self.document_store, query, top_k or self.top_k, filters, self.with_content,
                                        self.title_weight)
        return {"hits": hits, "relaxed_hits": more}


@component
class DenseRetriever(_StoreRetriever):
    """Passages nearest to a query embedding (inner product of normalised vectors).

    Usage::

        retriever = DenseRetriever(document_store=store, top_k=100)
        retriever.run(query_embedding=[...])["hits"]

    Parameters: see :class:`_StoreRetriever`.
    """

    @component.output_types(hits=list[PassageHit])
    def run(self, query_embedding: list[float], filters: dict[str, Any] | None = None, top_k: int | None = None
            ) -> dict[str, Any]:
        """:returns: ``{"hits": passages, nearest first}``."""
        return {"hits": self.document_store.embedding_retrieval(query_embedding, top_k or self.top_k, filters,
                                                                with_content=self.with_content)}


def match_answers(store: PassageStore, parsed: ParsedQuery, questions: MatchQuestions,
                  texts: Mapping[int, tuple[str, str]] | None = None) -> MatchAnswers:
    """The store's word-for-word answers about fused candidates, for steps 4 and 5 of :mod:`index.search.ranking`:
    which of ``questions.near`` hold every content word close together (on ``texts``, the candidates' text and
    title, where the retrievers read them), which of ``questions.phrases`` hold every quoted phrase, which of
    ``questions.exclusions`` hold an excluded word."""
    close = store.near_rowids(parsed, list(questions.near), texts) if questions.near else set()
    phrases = None
    required, plan = parsed.required_match(), parsed.required_plan()
    if required and questions.phrases:
        phrases = frozenset(store.matching_rowids(required, list(questions.phrases), plan=plan))
    excluded: set[str] = set()
    exclusion = parsed.exclusion_match()
    if exclusion and questions.exclusions:
        excluded = store.sources_matching(exclusion, among=set(questions.exclusions), plan=parsed.exclusion_plan())
    return MatchAnswers(frozenset(close), phrases, frozenset(excluded))
