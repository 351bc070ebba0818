"""Embed passages, reusing vectors already computed for the same text by the same model.

The cache is ``<data dir>/cache/embeddings.sqlite``: (model id, sha256 of text) → float32 vector.
A re-run over unchanged files embeds nothing.
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


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@component
class CachedDocumentEmbedder:
    """Wraps a Haystack document embedder with a persistent cache (a Haystack component).

    Usage::

        embedder = CachedDocumentEmbedder(document_embedder(settings), cache_path, model_id)
        embedder.run(documents=passages)["documents"]
    """

    def __init__(self, embedder: Any, cache_path: str | Path, model_id: str) -> None:
        self.embedder = embedder
        self.cache_path = str(cache_path)
        self.model_id = model_id
        self.hits = 0
        self.misses = 0

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, embedder=component_to_dict(self.embedder, "embedder"),
                               cache_path=self.cache_path, model_id=self.model_id)

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

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        conn = self._connect()
        try:
            keys = [_key(d.content or "") for d in documents]
            cached: dict[str, bytes] = {}
            for start in range(0, len(keys), 500):
                batch = keys[start : start + 500]
                rows = conn.execute(
                    f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN ({','.join('?' for _ in batch)})",
                    [self.model_id, *batch],
                )
                cached.update(rows)
            missing = [d for d, k in zip(documents, keys, strict=True) if k not in cached]
            self.hits, self.misses = len(documents) - len(missing), len(missing)
            if missing:
                self.embedder.warm_up()
                embedded = self.embedder.run(documents=missing)["documents"]
                with conn:
                    for doc in embedded:
                        vector = np.asarray(doc.embedding, dtype=np.float32).tobytes()
                        cached[_key(doc.content or "")] = vector
                        conn.execute("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                                     (self.model_id, _key(doc.content or ""), vector))
            out = [
                Document(id=d.id, content=d.content, meta=d.meta,
                         embedding=np.frombuffer(cached[k], dtype=np.float32).tolist())
                for d, k in zip(documents, keys, strict=True)
            ]
        finally:
            conn.close()
        return {"documents": out}
