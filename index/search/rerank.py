"""Optional re-ranking of the best fused passages by a local sentence-transformers cross-encoder.

Off by default (setting ``rerank_model`` empty): no cross-encoder ships on PyPI here. When a
directory is named, Haystack's ``SentenceTransformersSimilarityRanker`` scores the query against
the top ``rerank_depth`` passages; how those scores enter the ranking (step 6) is
:mod:`index.search.ranking`.

Usage::

    reranker = Reranker(settings.rerank_model, settings.rerank_depth)
    scored = reranker.score(query, hits[: reranker.depth], texts)   # [(hit, probability), ...], best first
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from haystack import Document
from haystack.utils import ComponentDevice

from index.errors import SettingsError
from index.storage.contract import PassageHit


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
    """Score the top passages with a cross-encoder (step 6 of :mod:`index.search.ranking`).

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

    def score(self, query: str, hits: list[PassageHit], texts: Mapping[int, str]) -> list[tuple[PassageHit, float]]:
        """Each of ``hits`` with the cross-encoder's probability (0..1) that it answers ``query``, best first.

        :param texts: the passages' text by rowid (those missing are left out).
        """
        documents = [Document(id=str(h.rowid), content=texts[h.rowid] or "") for h in hits if h.rowid in texts]
        ranked = self._ranker.run(query=query, documents=documents, top_k=len(documents))["documents"]
        by_row = {h.rowid: h for h in hits}
        return [(by_row[int(d.id)], float(d.score or 0.0)) for d in ranked]
