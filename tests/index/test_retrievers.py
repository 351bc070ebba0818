import pytest
from haystack import Document, Pipeline

from index.search.query import parse_query
from index.search.ranking import lexical_ranking
from index.search.retrievers import DenseRetriever, LexicalRetriever
from index.storage.local.store import KBDocumentStore

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
        "type": "index.search.retrievers.LexicalRetriever",
        "init_parameters": {"document_store": store.to_dict(), "top_k": 7, "with_content": False,
                            "title_weight": None},
    }


def test_strict_and_relaxed_matches_come_apart_with_raw_scores(store):
    found = LexicalRetriever(store).run(query=parse_query("edge care"))
    assert [h.id for h in found["hits"]] == ["a"], "the only passage with both words is the strict match"
    assert {h.id for h in found["relaxed_hits"]} == {"b", "c"}
    raw = {h.id: h.score for h in store.bm25_retrieval('"edge" OR "care"', top_k=10)}
    assert all(h.score == pytest.approx(raw[h.id]) for h in found["relaxed_hits"]), "relaxed scores are bm25's own"
    ranked = lexical_ranking(found["hits"], found["relaxed_hits"])
    assert ranked[0].id == "a" and ranked[0].score > max(h.score for h in ranked[1:])


def test_relaxed_query_only_fills_up_to_top_k(store):
    found = LexicalRetriever(store, top_k=1).run(query=parse_query("edge care"))
    assert [h.id for h in found["hits"]] == ["a"] and found["relaxed_hits"] == []


def test_retrieval_pipeline_survives_yaml(store):
    pipeline = Pipeline()
    pipeline.add_component("lexical", LexicalRetriever(store, top_k=5))
    pipeline.add_component("dense", DenseRetriever(store, top_k=5))
    from index.search.fusion import FusionRanker

    pipeline.add_component("fusion", FusionRanker("weighted", 0.5))
    pipeline.connect("lexical.hits", "fusion.lexical_hits")
    pipeline.connect("lexical.relaxed_hits", "fusion.relaxed_hits")
    pipeline.connect("dense.hits", "fusion.dense_hits")
    modules = ["index.search.retrievers", "index.search.fusion", "index.storage.local.store"]
    loaded = Pipeline.loads(pipeline.dumps(), allowed_modules=modules)
    inputs = {"lexical": {"query": parse_query("adolescents care")}, "dense": {"query_embedding": [1.0, 0.0]}}
    assert loaded.run(inputs)["fusion"]["hits"][0].id == "a"
    lexical_only = loaded.run({**inputs, "fusion": {"method": "lexical"}})["fusion"]["hits"]
    assert [h.id for h in lexical_only] == ["a", "b"], "the relaxed match (care only) reaches the fusion, after"
