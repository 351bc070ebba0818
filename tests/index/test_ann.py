"""Approximate dense search (IVF), filtered searches over it, and builds derived from a published store."""

import hashlib

import faiss
import numpy as np
import pytest
from haystack import Document

from index.storage.local import vectors as store_module
from index.storage.local.store import KBDocumentStore
from index.storage.local.vectors import choose_factory

pytestmark = pytest.mark.unit

DIM = 16


def _clustered(n: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around 40 centres, as passage embeddings cluster by topic."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, DIM))
    vectors = centres[rng.integers(0, 40, n)] + 0.35 * rng.normal(size=(n, DIM))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def _store(path, vectors: np.ndarray, factory: str, per_source: int = 10, prefix: str = "s") -> KBDocumentStore:
    store = KBDocumentStore(path, faiss_factory=factory, nprobe=8)
    docs = [Document(id=hashlib.md5(f"{prefix}{i}".encode()).hexdigest(), content=f"passage {prefix}{i}",
                     meta={"source_id": f"{prefix}{i // per_source}"}, embedding=v.tolist())
            for i, v in enumerate(vectors)]
    for start in range(0, len(docs), per_source):  # one source's passages at a time, as the build writes them
        store.write_documents(docs[start : start + per_source])
    return store


def test_auto_chooses_exact_for_small_corpora_and_ivf_for_large():
    assert choose_factory("auto", 10_000) == "Flat"
    assert choose_factory("auto", 100_000) == "Flat"
    assert choose_factory("auto", 1_000_000) == "IVF4096,SQ8"
    assert choose_factory("auto", 300_000) == "IVF2048,SQ8"
    assert choose_factory("HNSW32", 10) == "HNSW32"


def test_ivf_recall_against_exact(tmp_path):
    vectors = _clustered(4000)
    ivf = _store(tmp_path / "ivf.sqlite", vectors, "IVF32,SQ8")
    exact = _store(tmp_path / "flat.sqlite", vectors, "Flat")
    assert ivf.vector_factory() == "IVF32,SQ8"
    assert exact.vector_factory() == "Flat"
    queries = _clustered(50, seed=1)
    found = [len({h.rowid for h in ivf.embedding_retrieval(q, top_k=10)}
                 & {h.rowid for h in exact.embedding_retrieval(q, top_k=10)}) / 10 for q in queries]
    assert np.mean(found) >= 0.9


@pytest.mark.parametrize("sources", [3, 15, 150])  # few passages: exact over them; many: a widened probe
def test_filtered_ivf_search_returns_top_k_from_the_allowed_sources(tmp_path, monkeypatch, sources):
    monkeypatch.setattr(store_module, "EXACT_FILTER_LIMIT", 100)
    vectors = _clustered(4000)
    store = _store(tmp_path / "ivf.sqlite", vectors, "IVF32,SQ8")
    exact = _store(tmp_path / "flat.sqlite", vectors, "Flat")
    allowed = [f"s{i}" for i in range(0, 400, 400 // sources)][:sources]
    narrowing = {"field": "meta.source_id", "operator": "in", "value": allowed}
    for query in _clustered(10, seed=2):
        hits = store.embedding_retrieval(query, top_k=10, filters=narrowing)
        assert len(hits) == 10
        assert {h.source_id for h in hits} <= set(allowed)
        truth = {h.rowid for h in exact.embedding_retrieval(query, top_k=10, filters=narrowing)}
        assert len(truth & {h.rowid for h in hits}) >= 8


def test_a_source_whose_passages_are_not_consecutive_is_still_filtered_right(tmp_path):
    store = _store(tmp_path / "c.sqlite", _clustered(100), "Flat")
    late = Document(id="late", content="late passage", meta={"source_id": "s0"}, embedding=_clustered(1, 3)[0].tolist())
    store.write_documents([late])
    assert store.source_rowid_ranges()["s0"] is None
    hits = store.embedding_retrieval(late.embedding, top_k=20,
                                     filters={"field": "meta.source_id", "operator": "in", "value": ["s0"]})
    assert len(hits) == 11 and hits[0].id == "late"


@pytest.mark.parametrize("factory", ["Flat", "IVF16,SQ8"])
def test_a_derived_build_changes_only_what_changed(tmp_path, factory):
    base = _store(tmp_path / "base.sqlite", _clustered(2000), factory)
    base.save_vectors(tmp_path / "base.faiss")
    base.finalise()
    before = (tmp_path / "base.faiss").read_bytes()
    live = KBDocumentStore(tmp_path / "base.sqlite", read_only=True, vectors_path=tmp_path / "base.faiss")

    build = KBDocumentStore(tmp_path / "new.sqlite", faiss_factory=factory)
    build.derive_from(live, tmp_path / "base.faiss")
    removed = {h.rowid for h in build.source_passages("s7")}
    assert build.delete_sources(["s7"]) == 10
    added = _clustered(10, seed=9)
    new_docs = [Document(id=f"n{i}", content=f"new {i}", meta={"source_id": "new"}, embedding=v.tolist())
                for i, v in enumerate(added)]
    build.write_documents(new_docs)
    assert build.save_vectors(tmp_path / "new.faiss") == 2000
    assert (tmp_path / "base.faiss").read_bytes() == before, "the live generation's vectors are untouched"

    derived = faiss.read_index(str(tmp_path / "new.faiss"))
    assert derived.ntotal == 2000
    assert build.count_documents() == 2000 and build.get_source("s7") is None
    hit = build.embedding_retrieval(added[3], top_k=1)[0]
    assert hit.id == "n3"
    everything = {h.rowid for h in build.embedding_retrieval(added[3], top_k=2000)}
    assert not everything & removed
    assert live.count_documents() == 2000 and live.source_passages("s7")
