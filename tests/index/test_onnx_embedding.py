"""The ONNX Runtime passage embedder against the sentence-transformers one, with the real model."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from haystack import Document
from haystack_integrations.components.embedders.sentence_transformers import SentenceTransformersDocumentEmbedder

from index.embedding import onnx_encoder as onnx_embedding
from index.embedding.encoders import document_embedder, embedding_cache_id, model_dir, torch_document_embedder
from index.embedding.onnx_encoder import OnnxDocumentEmbedder, ensure_export, read_layout
from index.errors import SettingsError
from index.settings import load_settings
from tests.conftest import make_settings

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not onnx_embedding.available(), reason="onnxruntime is not installed")]

ROOT = Path(__file__).resolve().parents[2]


def real_passages() -> list[str]:
    """Passages of the csc-seeds collection (real articles) of several lengths, and short or empty texts."""
    lines = (ROOT / "eval" / "csc-seeds" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines if line.strip()][:12]
    return [*texts, " ".join(texts), "Edge of care", "adolescents", "", "  short  "]


@pytest.fixture(scope="module")
def model() -> str:
    return str(model_dir(load_settings(env={})))


@pytest.fixture(scope="module")
def export_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    embedder = torch_document_embedder(load_settings(env={}))
    embedder.warm_up()
    docs = embedder.run(documents=[Document(content=t) for t in real_passages()])["documents"]
    return np.asarray([d.embedding for d in docs], dtype=np.float32)


def vectors(embedder: OnnxDocumentEmbedder) -> np.ndarray:
    docs = embedder.run(documents=[Document(content=t) for t in real_passages()])["documents"]
    return np.asarray([d.embedding for d in docs], dtype=np.float32)


@pytest.mark.parametrize("variant, least", [("fp32", 0.9999), ("int8", 0.99)])
def test_vectors_agree_with_sentence_transformers(model, export_cache, torch_vectors, variant, least):
    cosines = (vectors(OnnxDocumentEmbedder(model, str(export_cache), variant=variant)) * torch_vectors).sum(axis=1)
    assert cosines.min() >= least, cosines


def test_run_keeps_documents_and_order(model, export_cache):
    docs = [Document(id="b", content="Family group conferences", meta={"n": 1}), Document(id="a", content=None)]
    out = OnnxDocumentEmbedder(model, str(export_cache)).run(documents=docs)["documents"]
    assert [(d.id, d.content, d.meta) for d in out] == [("b", "Family group conferences", {"n": 1}), ("a", None, {})]
    assert all(len(d.embedding) == 384 for d in out)
    assert abs(np.linalg.norm(out[0].embedding) - 1) < 1e-5
    assert OnnxDocumentEmbedder(model, str(export_cache)).run(documents=[])["documents"] == []


def test_second_start_loads_the_export(model, export_cache, monkeypatch):
    monkeypatch.setattr(onnx_embedding, "_SESSIONS", {})  # sessions are per process: an earlier ingest made one
    OnnxDocumentEmbedder(model, str(export_cache)).warm_up()
    [exported] = [p for p in export_cache.glob("fp32-*/model.onnx")]
    stamp = exported.stat().st_mtime_ns
    monkeypatch.setattr(onnx_embedding, "_SESSIONS", {})  # a new process

    def no_export(*args):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_embedding, "_export", no_export)
    embedder = OnnxDocumentEmbedder(model, str(export_cache))
    embedder.warm_up()
    assert exported.stat().st_mtime_ns == stamp
    assert len(embedder.embed(["Staying close"])[0]) == 384


def test_a_damaged_export_is_replaced(model, export_cache, torch_vectors, monkeypatch):
    monkeypatch.setattr(onnx_embedding, "_SESSIONS", {})  # sessions are per process: an earlier ingest made one
    OnnxDocumentEmbedder(model, str(export_cache)).warm_up()
    [exported] = [p for p in export_cache.glob("fp32-*/model.onnx")]
    exported.write_bytes(exported.read_bytes()[:1000])  # a copy cut short
    monkeypatch.setattr(onnx_embedding, "_SESSIONS", {})
    cosines = (vectors(OnnxDocumentEmbedder(model, str(export_cache))) * torch_vectors).sum(axis=1)
    assert cosines.min() >= 0.9999
    assert exported.stat().st_size > 1_000_000
    assert not [p for p in export_cache.iterdir() if p.name.startswith(".")], "the damaged copy is gone"


def test_two_starts_at_once_export_into_one_place(model, tmp_path, monkeypatch):
    calls = []

    def fake_export(layout, variant, target):
        calls.append(target)
        (target / "model.onnx").write_bytes(b"graph " * 1000)

    monkeypatch.setattr(onnx_embedding, "_export", fake_export)
    layout = read_layout(model)
    barrier = threading.Barrier(2)
    results: list[Path] = []

    def start():
        barrier.wait()
        results.append(ensure_export(layout, "fp32", tmp_path))

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results[0] == results[1] and results[0].read_bytes() == b"graph " * 1000
    assert [p.name for p in tmp_path.iterdir()] == [results[0].parent.name], "no temporary directory is left"


def test_a_model_of_another_layout_is_refused(tmp_path):
    (tmp_path / "pool").mkdir()
    (tmp_path / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "pool", "type": "sentence_transformers.models.Pooling"}]))
    (tmp_path / "pool" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (tmp_path / "sentence_bert_config.json").write_text("{}")
    with pytest.raises(SettingsError, match="set embedding_backend to torch"):
        read_layout(tmp_path)


def test_serialises_as_declared(model):
    embedder = OnnxDocumentEmbedder(model, "/srv/kb/cache/onnx", variant="int8", batch_size=16)
    data = embedder.to_dict()
    assert data == {"type": "index.embedding.onnx_encoder.OnnxDocumentEmbedder",
                    "init_parameters": {"model": model, "cache_dir": "/srv/kb/cache/onnx", "variant": "int8",
                                        "batch_size": 16, "threads": 0, "progress_bar": False}}
    assert OnnxDocumentEmbedder.from_dict(data).to_dict() == data
    with pytest.raises(SettingsError, match="must be one of fp32, int8"):
        OnnxDocumentEmbedder(model, "/tmp", variant="fp16")


def test_the_setting_picks_the_engine(tmp_path, monkeypatch):
    onnx = document_embedder(make_settings(tmp_path, embedding_backend="onnx"))
    assert isinstance(onnx, OnnxDocumentEmbedder) and onnx.variant == "fp32"
    assert onnx.cache_dir == str(tmp_path / "cache" / "onnx")
    assert document_embedder(make_settings(tmp_path, embedding_backend="onnx-int8")).variant == "int8"
    assert isinstance(document_embedder(make_settings(tmp_path, embedding_backend="torch")),
                      SentenceTransformersDocumentEmbedder)
    monkeypatch.setattr(onnx_embedding, "available", lambda: False)
    assert isinstance(document_embedder(make_settings(tmp_path, embedding_backend="onnx")),
                      SentenceTransformersDocumentEmbedder), "without onnxruntime the torch path runs"
    # int8 vectors are cached apart from the full-precision ones, which torch and onnx share.
    ids = {b: embedding_cache_id(make_settings(tmp_path, embedding_backend=b)) for b in ("torch", "onnx", "onnx-int8")}
    assert ids["torch"] == ids["onnx"] != ids["onnx-int8"]


def test_the_sample_corpus_ingests_with_the_onnx_backend(tmp_path, monkeypatch):
    from index.storage import open_generation
    from ingest.dense_text import dense_text
    from ingest.run import run_ingest
    from tests.conftest import CORPUS

    monkeypatch.setattr(onnx_embedding, "_SESSIONS", {})  # as in a fresh `kb ingest` process
    settings = make_settings(tmp_path / "data", embedding_backend="onnx")
    report = run_ingest([CORPUS], settings)
    assert report.ok and report.passages_embedded > 5
    assert list((tmp_path / "data" / "cache" / "onnx").glob("fp32-*/model.onnx")), "exported into the data dir"
    passages = open_generation(settings).store.filter_documents()
    reference = torch_document_embedder(settings)
    reference.warm_up()
    # The text the model read: "title text" when the passage's source has a real title (ingest/dense_text.py).
    expected = reference.run(documents=[Document(content=dense_text(d.content, d.meta.get("dense_title")))
                                        for d in passages])["documents"]
    cosines = [float(np.dot(d.embedding, e.embedding)) for d, e in zip(passages, expected, strict=True)]
    assert min(cosines) >= 0.9999
