"""Embed passages, reusing vectors already computed for the same text by the same model.

The cache is ``<data dir>/cache/embeddings.sqlite``: (model id, sha256 of text) → float32 vector.
A re-run over unchanged files embeds nothing. With ``dense_title`` the text embedded (and cached) is
``"title passage"`` for a passage whose source has a real title (``ingest/dense_text.py``); the
Documents keep their own text.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
from haystack import Document, component, default_from_dict, default_to_dict
from haystack.core.serialization import component_from_dict, component_to_dict
from haystack.utils.type_serialization import deserialize_type

from ingest.dense_text import dense_text


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@component
class CachedDocumentEmbedder:
    """Wraps a Haystack document embedder with a persistent cache (a Haystack component).

    Usage::

        embedder = CachedDocumentEmbedder(document_embedder(settings), cache_path, model_id, dense_title=True)
        embedder.run(documents=passages)["documents"]

    :param dense_title: embed each passage as ``"title text"`` when its meta has a ``dense_title``
        (set by ``ingest/split.py`` for a real title only).
    """

    def __init__(self, embedder: Any, cache_path: str | Path, model_id: str, dense_title: bool = False) -> None:
        self.embedder = embedder
        self.cache_path = str(cache_path)
        self.model_id = model_id
        self.dense_title = dense_title
        self.hits = 0
        self.misses = 0

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, embedder=component_to_dict(self.embedder, "embedder"),
                               cache_path=self.cache_path, model_id=self.model_id, dense_title=self.dense_title)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CachedDocumentEmbedder:
        inner = data["init_parameters"]["embedder"]
        data["init_parameters"]["embedder"] = component_from_dict(deserialize_type(inner["type"]), inner, "embedder")
        return default_from_dict(cls, data)

    def warm_up(self) -> None:
        # The model loads lazily: a run whose passages are all cached never loads it.
        pass

    def _connect(self) -> sqlite3.Connection:
        Path(self.cache_path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.cache_path)
        conn.execute("CREATE TABLE IF NOT EXISTS embeddings (model TEXT, key TEXT, vector BLOB, "
                     "PRIMARY KEY (model, key))")
        return conn

    def text_of(self, doc: Document) -> str:
        """What the model reads for this passage."""
        content = doc.content or ""
        return dense_text(content, doc.meta.get("dense_title")) if self.dense_title else content

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        conn = self._connect()
        try:
            texts = [self.text_of(d) for d in documents]
            keys = [_key(t) for t in texts]
            cached: dict[str, bytes] = {}
            for start in range(0, len(keys), 500):
                batch = keys[start : start + 500]
                rows = conn.execute(
                    f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN ({','.join('?' for _ in batch)})",
                    [self.model_id, *batch],
                )
                cached.update(rows)
            missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in cached))
            self.hits, self.misses = len(documents) - len(missing), len(missing)
            if missing:
                self.embedder.warm_up()
                embedded = self.embedder.run(documents=[Document(content=t) for t in missing])["documents"]
                with conn:
                    for text, doc in zip(missing, embedded, strict=True):
                        vector = np.asarray(doc.embedding, dtype=np.float32).tobytes()
                        cached[_key(text)] = vector
                        conn.execute("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                                     (self.model_id, _key(text), vector))
            out = [
                Document(id=d.id, content=d.content, meta=d.meta,
                         embedding=np.frombuffer(cached[k], dtype=np.float32).tolist())
                for d, k in zip(documents, keys, strict=True)
            ]
        finally:
            conn.close()
        return {"documents": out}
