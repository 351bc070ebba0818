"""Passages embedded by ONNX Runtime: the same all-MiniLM-L6-v2 weights, exported once from the local model.

On these CPUs the sentence-transformers path spends its time in PyTorch's eager kernels; ONNX Runtime runs
the same graph with BERT's attention, GELU and layer norms fused, and the batches are sorted by token count so
that little time goes on padding. The vectors are the sentence-transformers model's (mean pooling over the
real tokens, L2 normalisation, 256 word pieces at most); docs/benchmarks.md has the measured cosine and speed.

The exported graph is kept under ``<data dir>/cache/onnx/<key>/`` where the key names the weights, the
variant (``fp32`` or ``int8``) and the exporter's versions; a second start loads it instead of exporting.

Usage::

    embedder = OnnxDocumentEmbedder(str(model_dir(settings)), cache_dir=str(data.cache / "onnx"))
    embedder.run(documents=passages)["documents"]   # the same Documents with .embedding set
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from haystack import Document, component, default_from_dict, default_to_dict

from index.errors import SettingsError

logger = logging.getLogger(__name__)

VARIANTS = ("fp32", "int8")
# Batches narrower than this many word pieces run in fp32 even in the int8 variant (see _graph_for).
INT8_MIN_TOKENS = 16
# Bumped whenever the export recipe below changes, so that older exports are not reused.
RECIPE = 1
_MODEL_FILE = "model.onnx"
_META_FILE = "export.json"

# One loaded session per export key and process: the tests and `kb` commands build several pipelines (one per
# data directory), and loading the graph again would only cost time. ONNX Runtime sessions are thread-safe.
_SESSIONS: dict[str, Any] = {}
_SESSIONS_LOCK = threading.Lock()


def available() -> bool:
    """Whether ONNX Runtime and the exporter's ``onnx`` package are installed (otherwise the torch path runs)."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class ModelLayout:
    """What the export and the pooling need from a sentence-transformers model directory."""

    path: Path
    max_length: int
    num_heads: int
    hidden_size: int
    num_layers: int


def read_layout(model_path: str | Path) -> ModelLayout:
    """Check that the model is a plain transformer + mean pooling (+ normalise) model, as all-MiniLM-L6-v2 is.

    :raises SettingsError: for another layout (CLS or max pooling, dense layers ...), which only the torch
        backend runs.
    """
    path = Path(model_path)
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        types = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling_dir = next(path / m["path"] for m in modules if m["type"].endswith("Pooling"))
        pooling = json.loads((pooling_dir / "config.json").read_text(encoding="utf-8"))
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        st_config = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
    except (OSError, KeyError, StopIteration, ValueError) as exc:
        raise SettingsError(f"The model in {path} cannot be run by ONNX Runtime ({exc}); set embedding_backend "
                            "to torch.") from None
    mean_only = pooling.get("pooling_mode_mean_tokens") and not any(
        pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens",
                                 "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
                                 "pooling_mode_lasttoken"))
    if types[:2] != ["Transformer", "Pooling"] or types[2:] not in ([], ["Normalize"]) or not mean_only \
            or config.get("model_type") != "bert":
        raise SettingsError(f"The model in {path} is not a BERT model with mean pooling, the only layout the ONNX "
                            "backend runs; set embedding_backend to torch.")
    return ModelLayout(path=path, max_length=int(st_config.get("max_seq_length") or 512),
                       num_heads=int(config["num_attention_heads"]), hidden_size=int(config["hidden_size"]),
                       num_layers=int(config["num_hidden_layers"]))


def export_key(layout: ModelLayout, variant: str) -> str:
    """Names one export: the weights and config (hashed), the variant and the tools that made it."""
    files = [layout.path / n for n in ("config.json", "model.safetensors", "pytorch_model.bin")]
    stamp = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file())
    return f"{variant}-{_weights_digest(stamp)}"


@functools.lru_cache(maxsize=8)
def _weights_digest(stamp: tuple[tuple[str, int, int], ...]) -> str:
    # Hashing 90 MB of weights takes a tenth of a second: once per process and file version is enough.
    import onnxruntime
    import torch
    import transformers

    digest = hashlib.sha256()
    for name, _, _ in stamp:
        digest.update(_sha256(Path(name)).encode())
    digest.update(f"{RECIPE}-{torch.__version__}-{transformers.__version__}-{onnxruntime.__version__}".encode())
    return digest.hexdigest()[:20]


def _int8_excluded(node_names: list[str], num_layers: int) -> list[str]:
    """Matrix products kept in fp32 when quantising: the feed-forward output of the first half of the layers.

    Quantising every product costs a cosine to the fp32 vectors of 0.990 at worst on real passages; these
    six (the widest-ranged inputs, after GELU, early in the network) bring it to 0.995 (docs/benchmarks.md).
    """
    pattern = re.compile(r"/encoder/layer\.(\d+)/output/dense/MatMul$")
    return [n for n in node_names if (m := pattern.search(n)) and int(m.group(1)) < num_layers // 2]


def _export(layout: ModelLayout, variant: str, target: Path) -> None:
    """Export the transformer to ONNX, fuse BERT's operators, quantise for ``int8``; write into ``target``."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoModel

    # Eager attention exports the plain softmax pattern that ONNX Runtime's BERT optimiser fuses into one
    # Attention operator; the SDPA path would export a graph it does not recognise.
    model = AutoModel.from_pretrained(str(layout.path), attn_implementation="eager", local_files_only=True)
    model.eval()

    class _Encoder(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.m = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = torch.ones((2, 8), dtype=torch.int64)
    raw = target / "raw.onnx"
    fused = target / "fused.onnx"
    with warnings.catch_warnings(), torch.inference_mode():
        # The TorchScript exporter warns about tracing internals that do not apply to this fixed graph.
        warnings.simplefilter("ignore")
        torch.onnx.export(_Encoder(model), (sample, sample, torch.zeros_like(sample)), str(raw), dynamo=False,
                          input_names=names, output_names=["last_hidden_state"], opset_version=17,
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]})
    optimised = optimize_model(str(raw), model_type="bert", num_heads=layout.num_heads,
                               hidden_size=layout.hidden_size, opt_level=1)
    optimised.save_model_to_file(str(fused))
    raw.unlink()
    if variant == "int8":
        node_names = [n.name for n in onnx.load(str(fused), load_external_data=False).graph.node
                      if n.op_type == "MatMul"]
        # The quantiser logs a line per tensor on the root logger at INFO, and a warning advising a
        # pre-processing pass the fused graph does not need; an ingest's output is not the place.
        root = logging.getLogger()
        level = root.level
        root.setLevel(max(level, logging.ERROR))
        try:
            quantize_dynamic(str(fused), str(target / _MODEL_FILE), weight_type=QuantType.QInt8, per_channel=True,
                             nodes_to_exclude=_int8_excluded(node_names, layout.num_layers),
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        finally:
            root.setLevel(level)
        fused.unlink()
    else:
        fused.rename(target / _MODEL_FILE)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def valid_export(export_dir: Path) -> bool:
    """Whether ``export_dir`` holds an exported graph whose checksum matches the one written beside it."""
    try:
        meta = json.loads((export_dir / _META_FILE).read_text(encoding="utf-8"))
        return _sha256(export_dir / _MODEL_FILE) == meta["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def ensure_export(layout: ModelLayout, variant: str, cache_dir: str | Path) -> Path:
    """The exported model file for this model and variant, exporting it on the first call.

    Two processes may start at once: each exports into its own temporary directory beside the target and
    renames it into place; the rename fails for the second (the directory exists), which then uses the first's.
    A cached export whose checksum does not match (a truncated or damaged file) is moved aside and redone.

    :returns: the path of ``model.onnx``.
    """
    if variant not in VARIANTS:
        raise SettingsError(f"ONNX variant must be one of {', '.join(VARIANTS)}, got {variant!r}.")
    root = Path(cache_dir)
    final = root / export_key(layout, variant)
    if final.is_dir():
        if valid_export(final):
            return final / _MODEL_FILE
        logger.warning("The cached ONNX model in %s is damaged; exporting it again.", final)
        trash = Path(tempfile.mkdtemp(prefix=".damaged-", dir=root))
        with contextlib.suppress(OSError):  # another process moved it first
            final.rename(trash / "export")
        shutil.rmtree(trash, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=root))
    try:
        logger.info("Exporting the embedding model to ONNX (%s), once, into %s", variant, final)
        _export(layout, variant, work)
        meta = {"sha256": _sha256(work / _MODEL_FILE), "variant": variant, "model": str(layout.path),
                "recipe": RECIPE}
        (work / _META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        try:
            work.rename(final)
        except OSError:
            if not valid_export(final):
                raise
            # Another process finished first with the same export: use it and drop ours.
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final / _MODEL_FILE


def available_cores() -> int:
    """CPU cores this process may run on (its affinity, which containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _session(model_file: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Threads that spin between batches would take a core from the parsing processes running beside
    # the embedder during an ingest; the batches are long enough that waking costs nothing measurable.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


def _load(layout: ModelLayout, variant: str, threads: int, cache_dir: str) -> Any:
    """The process's session for this export, exporting or re-exporting the graph when needed."""
    with _SESSIONS_LOCK:
        key = f"{export_key(layout, variant)}-{threads}"
        session = _SESSIONS.get(key)
        if session is None:
            model_file = ensure_export(layout, variant, cache_dir)
            try:
                session = _session(model_file, threads)
            except Exception as exc:  # onnxruntime raises its own types for an unreadable graph
                logger.warning("The cached ONNX model %s cannot be loaded (%s); exporting it again.", model_file, exc)
                (model_file.parent / _META_FILE).unlink(missing_ok=True)
                session = _session(ensure_export(layout, variant, cache_dir), threads)
            _SESSIONS[key] = session
        return session


@component
class OnnxDocumentEmbedder:
    """Embeds passages with ONNX Runtime (a Haystack component with the inputs and outputs of
    ``SentenceTransformersDocumentEmbedder``): the same Documents come back with ``embedding`` set.

    Usage::

        embedder = OnnxDocumentEmbedder(model_path, cache_dir="data/cache/onnx", variant="fp32")
        embedder.run(documents=[Document(content="Adolescents on the edge of care ...")])["documents"]

    :param model: the sentence-transformers model directory (the weights that are exported).
    :param cache_dir: where the exported graph is kept between runs.
    :param variant: ``fp32`` (the model's own precision) or ``int8`` (dynamic quantisation of most products).
    :param batch_size: passages per forward pass (after sorting by token count).
    :param threads: ONNX Runtime's intra-op threads; 0 means every core this process may use.
    :param progress_bar: show a progress bar over the batches.
    """

    def __init__(self, model: str, cache_dir: str, variant: str = "fp32", batch_size: int = 32, threads: int = 0,
                 progress_bar: bool = False) -> None:
        if variant not in VARIANTS:
            raise SettingsError(f"ONNX variant must be one of {', '.join(VARIANTS)}, got {variant!r}.")
        self.model = model
        self.cache_dir = cache_dir
        self.variant = variant
        self.batch_size = batch_size
        self.threads = threads
        self.progress_bar = progress_bar
        self._session: Any = None
        self._tokenizer: Any = None
        self._max_length = 0
        self._dim = 0
        self._inputs: set[str] = set()
        self._layout: ModelLayout | None = None
        self._fp32: Any = None
        self._lock = threading.Lock()

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, model=self.model, cache_dir=self.cache_dir, variant=self.variant,
                               batch_size=self.batch_size, threads=self.threads, progress_bar=self.progress_bar)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OnnxDocumentEmbedder:
        return default_from_dict(cls, data)

    def warm_up(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            from transformers import AutoTokenizer

            layout = read_layout(self.model)
            session = _load(layout, self.variant, self.threads or available_cores(), self.cache_dir)
            # The tokenizer sentence-transformers loads for this model, so that the word pieces are the same.
            self._tokenizer = AutoTokenizer.from_pretrained(str(layout.path), local_files_only=True)
            self._max_length = layout.max_length
            self._dim = layout.hidden_size
            self._inputs = {i.name for i in session.get_inputs()}
            self._layout = layout
            self._session = session

    def _graph_for(self, width: int) -> Any:
        """The session for a batch ``width`` word pieces wide: int8's error grows as the text shrinks (the
        cosine to fp32 fell to 0.978 for an empty text, 0.99 for two words), and short texts cost little, so
        they run in fp32."""
        if self.variant != "int8" or width >= INT8_MIN_TOKENS:
            return self._session
        if self._fp32 is None:
            assert self._layout is not None  # set by warm_up, before any batch
            self._fp32 = _load(self._layout, "fp32", self.threads or available_cores(), self.cache_dir)
        return self._fp32

    def embed(self, texts: list[str]) -> np.ndarray:
        """Normalised vectors of ``texts``, one row each, in the order given."""
        self.warm_up()
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        if not texts:
            return out
        ids = self._tokenizer(texts, truncation=True, max_length=self._max_length,
                              return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        # Longest first, so that each batch pads to nearly its own length and a too-large batch fails early.
        order = np.argsort(-lengths, kind="stable")
        # Short texts never share a batch with long ones, so that in int8 they run in fp32 (see _graph_for).
        short = int(np.searchsorted(-lengths[order], -INT8_MIN_TOKENS, side="right"))
        batches = [order[start : min(start + self.batch_size, end)]
                   for begin, end in ((0, short), (short, len(order)))
                   for start in range(begin, end, self.batch_size)]
        if self.progress_bar:
            from tqdm import tqdm

            batches = tqdm(batches, desc="Embedding passages", unit="batch")
        for rows in batches:
            width = int(lengths[rows[0]])
            input_ids = np.zeros((len(rows), width), dtype=np.int64)  # 0 is BERT's [PAD]
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                input_ids[r, : lengths[i]] = ids[i]
                mask[r, : lengths[i]] = 1
            feeds = {"input_ids": input_ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(input_ids)
            hidden = self._graph_for(width).run(None, feeds)[0]
            out[rows] = _mean_pool(hidden, mask)
        return out

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        if not isinstance(documents, list) or (documents and not isinstance(documents[0], Document)):
            raise TypeError("OnnxDocumentEmbedder expects a list of Documents; embed a string with the query "
                            "embedder instead.")
        vectors = self.embed([d.content or "" for d in documents])
        return {"documents": [replace(d, embedding=v.tolist()) for d, v in zip(documents, vectors, strict=True)]}


class OnnxQueryEncoder:
    """A query's vector from an exported graph, one text at a time, without torch or transformers: the
    tokenizer is the model's own ``tokenizer.json`` run by the ``tokenizers`` library (the word pieces
    sentence-transformers makes), the graph is the generation's exported one (``Manifest.query_graph``),
    pooling and normalisation are :func:`_mean_pool`'s, as for passages.

    Usage::

        encode = OnnxQueryEncoder(model_path, "data/cache/onnx/fp32-.../model.onnx", threads=1)
        encode.warm_up()
        encode("adolescents edge of care")   # a normalised float32 vector
    """

    def __init__(self, model: str, model_file: str, threads: int = 1) -> None:
        self.model = model
        self.model_file = model_file
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: set[str] = set()

    def warm_up(self) -> None:
        if self._session is not None:
            return
        from tokenizers import Tokenizer

        layout = read_layout(self.model)
        tokenizer = Tokenizer.from_file(str(layout.path / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=layout.max_length)
        session = _session(Path(self.model_file), self.threads)
        self._inputs = {i.name for i in session.get_inputs()}
        self._tokenizer = tokenizer
        self._session = session

    def __call__(self, text: str) -> np.ndarray:
        self.warm_up()
        input_ids = np.asarray([self._tokenizer.encode(text).ids], dtype=np.int64)
        mask = np.ones_like(input_ids)
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        return _mean_pool(self._session.run(None, feeds)[0], mask)[0]


def _mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' mean pooling over the real tokens, then L2 normalisation (its Normalize module)."""
    weights = mask[..., None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
