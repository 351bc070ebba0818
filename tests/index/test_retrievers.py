import pytest
from haystack import Document, Pipeline

from index.query import parse_query
from index.retrievers import DenseRetriever, LexicalRetriever
from index.store import KBDocumentStore

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path):
    store = KBDocumentStore(tmp_path / "c.sqlite")
    store.write_documents([
        Document(id="a", content="adolescents on the edge of care", meta={"source_id": "s1"}, embedding=[1.0, 0.0]),
        Document(id="b", content="foster care placements", meta={"source_id": "s2"}, embedding=[0.0, 1.0]),
        Document(id="c", content="edge of the world", meta={"source_id": "s3"}, embedding=[0.7, 0.7]),
    ])
    return store


def test_exact_serialisation(store):
    assert LexicalRetriever(store, top_k=7, with_content=False).to_dict() == {
        "type": "index.retrievers.LexicalRetriever",
        "init_parameters": {"document_store": store.to_dict(), "top_k": 7, "with_content": False,
                            "title_weight": None},
    }


def test_strict_matches_rank_above_relaxed_ones(store):
    hits = LexicalRetriever(store).run(query=parse_query("edge care"))["hits"]
    assert hits[0].id == "a", "the only passage with both words comes first"
    assert {h.id for h in hits[1:]} == {"b", "c"}
    assert hits[0].score > max(h.score for h in hits[1:])


def test_retrieval_pipeline_survives_yaml(store):
    pipeline = Pipeline()
    pipeline.add_component("lexical", LexicalRetriever(store, top_k=5))
    pipeline.add_component("dense", DenseRetriever(store, top_k=5))
    from index.fusion import FusionRanker

    pipeline.add_component("fusion", FusionRanker("weighted", 0.5))
    pipeline.connect("lexical.hits", "fusion.lexical_hits")
    pipeline.connect("dense.hits", "fusion.dense_hits")
    loaded = Pipeline.loads(pipeline.dumps(), allowed_modules=["index.retrievers", "index.fusion", "index.store"])
    result = loaded.run({"lexical": {"query": parse_query("adolescents")}, "dense": {"query_embedding": [1.0, 0.0]}})
    assert result["fusion"]["hits"][0].id == "a"
