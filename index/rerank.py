"""Optional re-ranking of the best fused passages by a local sentence-transformers cross-encoder.

Off by default (setting ``rerank_model`` empty): no cross-encoder ships on PyPI here. When a
directory is named, Haystack's ``SentenceTransformersSimilarityRanker`` scores the query against
the top ``rerank_depth`` passages and they are put first in its order; the rest keep theirs.

Usage::

    reranker = Reranker.from_settings(settings)  # None when re-ranking is off
    hits = reranker.rerank(query, hits, store)
"""

from __future__ import annotations

from pathlib import Path

from haystack import Document
from haystack.utils import ComponentDevice

from index.errors import SettingsError
from index.settings import Settings
from index.store import ChunkHit, KBDocumentStore

# Re-ranked passages score RERANKED_FLOOR + the cross-encoder's probability (0..1), so they stay
# ahead of every fused score (at most 1 + the proximity boost) when sources are grouped.
RERANKED_FLOOR = 2.0


def check_cross_encoder_dir(path: str | Path) -> Path:
    """The directory, if it looks like a saved sentence-transformers cross-encoder.

    :raises SettingsError: naming the directory and what is wrong with it.
    """
    directory = Path(path).expanduser()
    fix = "set rerank_model to the folder a CrossEncoder was saved to, or to '' to turn re-ranking off"
    if not directory.is_dir():
        raise SettingsError(f"rerank_model {str(directory)!r} is not a directory; {fix}.")
    if not (directory / "config.json").is_file():
        raise SettingsError(f"rerank_model {str(directory)!r} has no config.json, so it is not a saved "
                            f"cross-encoder; {fix}.")
    if not any((directory / name).is_file() for name in ("model.safetensors", "pytorch_model.bin")):
        raise SettingsError(f"rerank_model {str(directory)!r} has no model weights (model.safetensors); {fix}.")
    return directory


class Reranker:
    """Re-rank the top passages with a cross-encoder.

    :param model_dir: a saved sentence-transformers cross-encoder.
    :param depth: how many of the best fused passages are re-scored.
    :raises SettingsError: when the directory is not a cross-encoder or its model cannot be loaded.
    """

    def __init__(self, model_dir: str | Path, depth: int) -> None:
        from haystack_integrations.components.rankers.sentence_transformers import (
            SentenceTransformersSimilarityRanker,
        )

        directory = check_cross_encoder_dir(model_dir)
        self.depth = depth
        self._ranker = SentenceTransformersSimilarityRanker(
            model=str(directory), token=None, top_k=depth, device=ComponentDevice.from_str("cpu"))
        try:
            self._ranker.warm_up()
        except (OSError, ValueError) as exc:
            raise SettingsError(f"rerank_model {str(directory)!r} could not be loaded as a cross-encoder ({exc}); "
                                "check the folder, or set rerank_model to '' to turn re-ranking off.") from None

    @classmethod
    def from_settings(cls, settings: Settings) -> Reranker | None:
        return cls(settings.rerank_model, settings.rerank_depth) if settings.rerank_model else None

    def rerank(self, query: str, hits: list[ChunkHit], store: KBDocumentStore) -> list[ChunkHit]:
        """``hits`` with the first ``depth`` re-ordered by the cross-encoder, best first."""
        head, tail = hits[: self.depth], hits[self.depth :]
        if not head:
            return hits
        full = store.get_chunks(h.rowid for h in head)
        documents = [Document(id=str(h.rowid), content=full[h.rowid].content or "") for h in head if h.rowid in full]
        ranked = self._ranker.run(query=query, documents=documents, top_k=len(documents))["documents"]
        by_row = {h.rowid: h for h in head}
        rescored = [ChunkHit(int(d.id), by_row[int(d.id)].id, by_row[int(d.id)].source_id, None,
                             by_row[int(d.id)].meta, RERANKED_FLOOR + float(d.score or 0.0)) for d in ranked]
        return rescored + tail
