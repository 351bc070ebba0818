"""Benchmark: ingest throughput and query latency, beside a vanilla Haystack pipeline.

Ranking quality is measured by `kb eval` and benchmarks/bench_ranking.py (docs/ranking.md).

Run from the repository root (takes a few minutes on 2 cores; the msmarco ingest embeds 5,000
passages unless its embedding cache in --work is warm):

    .venv/bin/python benchmarks/bench_search.py [--eval-dir ../shared/eval/msmarco-5k] [--work bench-data]

It prints a Markdown report; copy the figures into docs/benchmarks.md. Timings are medians over
repeated runs; the vanilla pipeline is measured in the same process and run, on the same passages
and vectors, so the ratio is what to compare across machines.

Vanilla pipeline: SentenceTransformersTextEmbedder → FAISSEmbeddingRetriever (faiss-haystack) and
InMemoryBM25Retriever → DocumentJoiner(reciprocal_rank_fusion), top 10.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from index import offline  # noqa: E402,F401
from index.settings import load_settings  # noqa: E402
from index.storage import open_generation  # noqa: E402
from ingest.run import run_ingest  # noqa: E402
from webapp import create_app  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load_queries(eval_dir: Path) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    queries = {}
    for line in (eval_dir / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        queries[row["_id"]] = row["text"]
    qrels: dict[str, dict[str, int]] = {}
    for line in (eval_dir / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        qid, did, grade = line.split("\t")
        qrels.setdefault(qid, {})[did] = int(grade)
    return {q: t for q, t in queries.items() if q in qrels}, qrels


def ingest(paths: list[Path], data_dir: Path, fresh_cache: bool, **overrides) -> tuple[float, int]:
    if data_dir.exists():
        keep_cache = not fresh_cache and (data_dir / "cache").exists()
        if keep_cache:
            shutil.move(data_dir / "cache", data_dir.parent / "cache.keep")
        shutil.rmtree(data_dir)
        if keep_cache:
            data_dir.mkdir(parents=True)
            shutil.move(data_dir.parent / "cache.keep", data_dir / "cache")
    settings = load_settings(env={}, overrides={"data_dir": data_dir, "max_top_k": 100, **overrides})
    started = time.perf_counter()
    report = run_ingest(paths, settings)
    return time.perf_counter() - started, report.passages


def api_request(settings):
    """A function that sends one /api/search request through the Flask app (after a warm-up request)."""
    app = create_app({"KB_SETTINGS": settings})
    client = app.test_client()
    client.get("/api/search", query_string={"q": "warm up"})

    def request(q: str) -> None:
        response = client.get("/api/search", query_string={"q": q, "top_k": 10})
        assert response.status_code == 200, response.data

    return request, app.extensions["kb_index"]


def interleaved_latency(ours, vanilla, handle, queries: list[str], rounds: int) -> tuple[list[float], list[float]]:
    """Milliseconds per query for both pipelines, alternating query by query so load drift hits both alike.

    Our query-embedding cache is cleared every round, so every request embeds its query.
    """
    import torch

    ours_threads, vanilla_threads = handle.settings.query_threads, torch.get_num_threads()
    ours_ms, vanilla_ms = [], []
    for _ in range(rounds):
        handle.embedder.clear_cache()
        for q in queries:
            # Each pipeline runs with its own best torch thread count (set outside the timed part).
            torch.set_num_threads(vanilla_threads)
            started = time.perf_counter()
            vanilla(q)
            vanilla_ms.append((time.perf_counter() - started) * 1000)
            torch.set_num_threads(ours_threads)
            started = time.perf_counter()
            ours(q)
            ours_ms.append((time.perf_counter() - started) * 1000)
    torch.set_num_threads(vanilla_threads)
    return ours_ms, vanilla_ms


def vanilla_pipeline(generation, settings):
    """The vanilla Haystack hybrid pipeline over the same passages and vectors as our generation."""
    from haystack import Document, Pipeline
    from haystack.components.joiners import DocumentJoiner
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from haystack_integrations.components.retrievers.faiss import FAISSEmbeddingRetriever
    from haystack_integrations.document_stores.faiss import FAISSDocumentStore

    from index.embedding.encoders import stock_query_embedder

    docs = [Document(id=d.id, content=d.content, meta={"source_id": d.meta.get("source_id")}, embedding=d.embedding)
            for d in generation.store.filter_documents()]
    bm25_store = InMemoryDocumentStore()
    bm25_store.write_documents([Document(id=d.id, content=d.content, meta=d.meta) for d in docs])
    faiss_store = FAISSDocumentStore(embedding_dim=settings.embedding_dim)
    faiss_store.write_documents(docs)
    pipeline = Pipeline()
    pipeline.add_component("embedder", stock_query_embedder(settings))
    pipeline.add_component("dense", FAISSEmbeddingRetriever(document_store=faiss_store, top_k=10))
    pipeline.add_component("bm25", InMemoryBM25Retriever(document_store=bm25_store, top_k=10))
    pipeline.add_component("joiner", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=10))
    pipeline.connect("embedder.embedding", "dense.query_embedding")
    pipeline.connect("dense.documents", "joiner.documents")
    pipeline.connect("bm25.documents", "joiner.documents")
    pipeline.warm_up()
    return pipeline


def vanilla_runner(pipeline):
    pipeline.run({"embedder": {"text": "warm up"}, "bm25": {"query": "warm up"}})
    return lambda q: pipeline.run({"embedder": {"text": q}, "bm25": {"query": q}})


def main() -> None:
    import torch

    machine_threads = torch.get_num_threads()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval" / "msmarco-5k")
    parser.add_argument("--work", type=Path, default=ROOT / "bench-data")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--fresh-cache", action="store_true", help="Embed everything again (cold ingest).")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    out = print

    out("## Ingest throughput\n")
    out("| corpus | passages | seconds | passages/s |\n| --- | --- | --- | --- |")
    sample_dir, msmarco_dir = args.work / "sample", args.work / "msmarco"
    seconds, passages = ingest([ROOT / "tests" / "fixtures" / "corpus"], sample_dir, fresh_cache=True)
    out(f"| sample corpus (5 files, cold cache) | {passages} | {seconds:.1f} | {passages / seconds:.1f} |")
    seconds, passages = ingest([ROOT / "tests" / "fixtures" / "corpus"], sample_dir, fresh_cache=False)
    out(f"| sample corpus (warm embedding cache) | {passages} | {seconds:.1f} | {passages / seconds:.1f} |")
    seconds, passages = ingest([args.eval_dir / "corpus.jsonl"], msmarco_dir, fresh_cache=args.fresh_cache)
    cache_state = "cold cache" if args.fresh_cache else "cache as left by the last run"
    out(f"| msmarco-5k ({cache_state}) | {passages} | {seconds:.1f} | {passages / seconds:.1f} |")

    queries, _qrels = load_queries(args.eval_dir)
    query_texts = list(queries.values())
    sample_queries = ["adolescents edge of care", "reclaiming social work Hackney", "power to innovate",
                      "Signs of Safety Lincolnshire", "Trafford section 75", "Nicky Morgan social work",
                      "seed grants innovation budget", "Munro review"]
    out("\n## Query latency (ms; the two pipelines alternate query by query; our query cache cleared every round)\n")
    out("Our rows use the settings' defaults (the ONNX fp32 query encoder the build exported).\n")
    out("| corpus | pipeline | requests | p50 | p95 | p50 ratio to vanilla |\n| --- | --- | --- | --- | --- | --- |")
    for name, data_dir, texts in (("sample", sample_dir, sample_queries), ("msmarco-5k", msmarco_dir, query_texts)):
        settings = load_settings(overrides={"data_dir": data_dir, "max_top_k": 100})
        generation = open_generation(settings)
        torch.set_num_threads(machine_threads)
        request, handle = api_request(settings)
        ours, vanilla = interleaved_latency(request, vanilla_runner(vanilla_pipeline(generation, settings)), handle,
                                            texts, args.rounds)
        v50, o50 = statistics.median(vanilla), statistics.median(ours)
        out(f"| {name} | vanilla Haystack hybrid (RRF) | {len(vanilla)} | {v50:.1f} | {percentile(vanilla, .95):.1f} "
            "| 1.00 |")
        out(f"| {name} | innovation-kb /api/search | {len(ours)} | {o50:.1f} | {percentile(ours, .95):.1f} "
            f"| {o50 / v50:.2f} |")


if __name__ == "__main__":
    main()
