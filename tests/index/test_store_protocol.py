"""The store proves Haystack's DocumentStore protocol with Haystack's own test classes."""

import numpy as np
import pytest
from haystack import Document
from haystack.testing.document_store import (
    CountDocumentsTest,
    DeleteAllTest,
    DeleteDocumentsTest,
    FilterDocumentsTest,
    WriteDocumentsTest,
)

from index.storage.local.store import KBDocumentStore

pytestmark = pytest.mark.unit


class TestKBDocumentStore(CountDocumentsTest, DeleteDocumentsTest, FilterDocumentsTest, WriteDocumentsTest,
                          DeleteAllTest):
    @pytest.fixture
    def document_store(self, tmp_path):
        store = KBDocumentStore(tmp_path / "chunks.sqlite")
        yield store
        store.close()

    @staticmethod
    def assert_documents_are_equal(received: list[Document], expected: list[Document]) -> None:
        # Vectors are stored as float32 (what FAISS searches), so compare them to float32 precision.
        assert [d.id for d in received] == [d.id for d in expected]
        for got, want in zip(received, expected, strict=True):
            assert got.content == want.content
            assert got.meta == want.meta
            if want.embedding is None:
                assert got.embedding is None
            else:
                np.testing.assert_allclose(got.embedding, want.embedding, rtol=1e-6)

    def test_write_documents(self, document_store):
        doc = Document(content="a passage")
        assert document_store.write_documents([doc]) == 1
        with pytest.raises(Exception, match="already stored"):
            document_store.write_documents([doc])
        self.assert_documents_are_equal(document_store.filter_documents(), [doc])


@pytest.mark.unit
def test_to_dict_round_trip(tmp_path):
    store = KBDocumentStore(tmp_path / "c.sqlite")
    data = store.to_dict()
    assert data == {
        "type": "index.storage.local.store.KBDocumentStore",
        "init_parameters": {"path": str(tmp_path / "c.sqlite"), "read_only": False, "vectors_path": None,
                            "faiss_factory": "auto", "nprobe": 1024, "lexical_path": None},
    }
    assert KBDocumentStore.from_dict(data).path == store.path


@pytest.mark.unit
def test_filtered_vector_search_still_returns_top_k(tmp_path):
    rng = np.random.default_rng(0)
    store = KBDocumentStore(tmp_path / "c.sqlite")
    docs = []
    for i in range(200):
        v = rng.normal(size=8).astype(np.float32)
        v /= np.linalg.norm(v)
        docs.append(Document(id=str(i), content=f"passage {i}", meta={"type": "report" if i % 10 == 0 else "blog"},
                             embedding=v.tolist()))
    store.write_documents(docs)
    hits = store.embedding_retrieval(docs[3].embedding, top_k=5,
                                     filters={"field": "meta.type", "operator": "==", "value": "report"})
    assert len(hits) == 5
    assert all(h.meta["type"] == "report" for h in hits)
    unfiltered = store.embedding_retrieval(docs[3].embedding, top_k=1)
    assert unfiltered[0].id == "3"
    assert unfiltered[0].score == pytest.approx(1.0, abs=1e-5)


@pytest.mark.unit
def test_published_store_is_read_only(tmp_path):
    path = tmp_path / "c.sqlite"
    writer = KBDocumentStore(path)
    writer.write_documents([Document(content="x", embedding=[1.0, 0.0])])
    writer.save_vectors(tmp_path / "v.faiss")
    writer.close()
    reader = KBDocumentStore(path, read_only=True, vectors_path=tmp_path / "v.faiss")
    assert reader.count_documents() == 1
    assert reader.embedding_retrieval([1.0, 0.0], top_k=3)[0].content == "x"
    with pytest.raises(PermissionError, match="published generation"):
        reader.write_documents([Document(content="y")])


class _PublishedOnPostgres:
    """What Haystack's test classes write is published as a PostgreSQL generation, and read back through
    :class:`PgDocumentStore`: a published generation is read-only, so writing goes, as in production, through
    a local build copied into the database (each write a new generation, made live)."""

    def __init__(self, url: str, scratch) -> None:
        from index.storage.postgres.generations import PgGenerations

        self.backend = PgGenerations(url, scratch)
        self.local = KBDocumentStore(scratch / "chunks.sqlite")
        self.scratch = scratch
        self.url = url
        self._publish()

    def _publish(self) -> None:
        from index.storage.contract import Manifest, new_generation_id

        dims = {len(d.embedding) for d in self.local.filter_documents() if d.embedding is not None}
        gen_id = new_generation_id()
        manifest = Manifest(generation=gen_id, model_id="test", embedding_dim=max(dims or {1}), chunking={},
                            faiss_factory="Flat", sources=0, passages=self.local.count_documents())
        self.backend._copy_in(gen_id, self.scratch, self.local, manifest, live=True)

    def _live(self):
        from index.storage.postgres.pool import gen_schema
        from index.storage.postgres.store import PgDocumentStore

        return PgDocumentStore(self.url, gen_schema(self.backend.current_id()))

    def write_documents(self, documents, policy=None):
        from haystack.document_stores.types import DuplicatePolicy

        written = self.local.write_documents(documents, policy or DuplicatePolicy.NONE)
        self._publish()
        return written

    def count_documents(self) -> int:
        return self._live().count_documents()

    def filter_documents(self, filters=None):
        return self._live().filter_documents(filters)


@pytest.mark.integration
class TestPgDocumentStore(CountDocumentsTest, FilterDocumentsTest):
    """Haystack's own count and filter tests against a published PostgreSQL generation."""

    @pytest.fixture
    def document_store(self, tmp_path, pg_url):
        from tests.conftest import fresh_database

        return _PublishedOnPostgres(fresh_database(pg_url), tmp_path)

    assert_documents_are_equal = staticmethod(TestKBDocumentStore.assert_documents_are_equal)
