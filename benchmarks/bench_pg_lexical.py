"""Lexical search in PostgreSQL against tantivy: lexical-only nDCG@10, query time and load time per collection.

    .venv/bin/python benchmarks/bench_pg_lexical.py [--data-root /work/eval-data/final2] [--collections ...]
        [--json out.json]

For each collection index under DATA_ROOT/<name> (a data directory built by ``kb eval``), its live
generation's passages (``KBDocumentStore.lexical_rows``, as the tantivy index was built from) are
loaded into a PostgreSQL that this script starts itself (pgserver, in a temporary directory) with
:func:`index.storage.postgres.lexical_write.write_lexical`, and every judged query is searched twice through the
searcher's own lexical-only path (``kb eval --methods lexical``: strict, then relaxed to fill,
:func:`index.search.ranking.lexical_ranking`, sources grouped): once with the generation's tantivy index,
once with :class:`index.storage.postgres.lexical_search.PgLexicalIndex` in its place (proximity checks, required
phrases and exclusions go to it too). Query time is the lexical retriever's (strict + relaxed,
as a search runs it, synonyms expanded), per query; load time is ``write_lexical`` plus the commit.
Figures go to docs/ranking.md and docs/benchmarks.md, "Lexical search in PostgreSQL".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from index import offline  # noqa: F401
from index.errors import QueryError
from index.search.query import parse_query
from index.settings import load_settings
from index.storage.lexical_retrieval import focus

DEFAULT_ROOT = Path("/work/eval-data/final2")
DEPTH = 100


def _quantiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000


def _by_rank(run: dict[str, list[tuple[str, float]]]) -> dict[str, list[tuple[str, float]]]:
    """The run with each score replaced by its rank's: trec_eval reads scores in single precision, so
    ``strictly_decreasing``'s 1e-6 steps between tied sources vanish above a score of about 8, and the
    tie is then broken by document id; this keeps the order the searcher returned."""
    return {q: [(d, float(len(ranked) - i)) for i, (d, _) in enumerate(ranked)] for q, ranked in run.items()}


def measure(name: str, data_dir: Path, url: str) -> dict[str, Any]:
    import psycopg
    from bench_loco import COLLECTIONS
    from psycopg_pool import ConnectionPool

    from index.evaluation import evaluate, judged_queries, read_qrels, read_queries, run_queries
    from index.search.searcher import Searcher
    from index.storage import open_generation
    from index.storage.postgres.lexical_search import PgLexicalIndex
    from index.storage.postgres.lexical_write import write_lexical
    from kbcli.evaluate import by_file_stem, collection_files, source_stems

    dataset, files = COLLECTIONS[name]
    _, queries_file, qrels_file = collection_files(dataset, "test", with_corpus=files is None)
    qrels = read_qrels(qrels_file)
    judged = judged_queries(read_queries(queries_file), qrels)
    settings = load_settings(env={}).replace(data_dir=data_dir, canaries="")
    generation = open_generation(settings)
    store = generation.store
    tantivy_index = store.lexical_index()
    if tantivy_index is None:
        raise SystemExit(f"{data_dir}: the live generation has no tantivy index to compare with.")
    schema = "kbg_bench_" + name.replace("-", "_")
    with psycopg.connect(url) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
        started = time.perf_counter()
        passages = write_lexical(conn, schema, store.lexical_rows())
        conn.commit()
        load_s = time.perf_counter() - started
        size = conn.execute("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
                            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
                            (schema,)).fetchone()
    pool = ConnectionPool(url, min_size=1, max_size=2, open=True)
    searcher = Searcher(settings, generation)
    out: dict[str, Any] = {"collection": name, "queries": len(judged), "passages": passages,
                           "load_s": round(load_s, 2), "passages_per_s": round(passages / load_s),
                           "pg_mb": round(int(size[0] or 0) / 1e6) if size else None}
    try:
        engines = {"tantivy": tantivy_index, "postgresql": PgLexicalIndex(pool, schema)}
        runs = {}
        for engine, index in engines.items():
            store._lexical = index  # the searcher reads its lexical index through the store
            run, _ = run_queries(searcher, judged, DEPTH, fusion="lexical", rerank=False)
            if files is not None:
                ids = {sid for ranked in run.values() for sid, _ in ranked}
                run = by_file_stem(run, source_stems(store, ids))
            runs[engine] = run
            out[f"{engine}_ndcg10"] = evaluate(qrels, run, judged).ndcg10
            out[f"{engine}_ndcg10_by_rank"] = evaluate(qrels, _by_rank(run), judged).ndcg10
            times = []
            for text in judged.values():
                try:
                    parsed = parse_query(text, max_chars=settings.max_query_chars)
                except QueryError:
                    continue
                expanded = searcher.synonyms.expand(parsed) if searcher.synonyms else parsed
                widened = focus(expanded, store.lexical_index())
                started = time.perf_counter()
                searcher.lexical.run(query=widened, top_k=settings.candidates)
                times.append(time.perf_counter() - started)
            out[f"{engine}_p50_ms"], out[f"{engine}_p95_ms"] = (round(v, 1) for v in _quantiles(times))
        out["difference"] = round(out["postgresql_ndcg10"] - out["tantivy_ndcg10"], 4)
        out["difference_by_rank"] = round(out["postgresql_ndcg10_by_rank"] - out["tantivy_ndcg10_by_rank"], 4)
        out["same_top10"] = sum(1 for q in judged if [d for d, _ in runs["tantivy"].get(q, [])[:10]]
                                == [d for d, _ in runs["postgresql"].get(q, [])[:10]])
    finally:
        store._lexical = tantivy_index
        store.close()
        pool.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--collections", default="scifact,arguana,npl,cisi,msmarco-5k,csc-seeds,csc-reports")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pg-lexical-") as tmp:
        runtime = Path(tmp) / "runtime"
        runtime.mkdir(mode=0o700)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
        import pgserver

        server = pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="stop")
        try:
            results = []
            for name in args.collections.split(","):
                print(f"{name} …", file=sys.stderr, flush=True)
                results.append(measure(name, args.data_root / name, server.get_uri()))
                print(json.dumps(results[-1]), file=sys.stderr, flush=True)
        finally:
            from index.storage.postgres.pool import close_pools

            close_pools()
            server.cleanup()
    print("| collection | passages | queries | nDCG@10 tantivy | nDCG@10 PostgreSQL | difference | by rank: tantivy / "
          "PostgreSQL | same top 10 | query p50 / p95 ms tantivy | query p50 / p95 ms PostgreSQL | "
          "load s (passages/s) | PostgreSQL MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r['collection']} | {r['passages']:,} | {r['queries']:,} | {r['tantivy_ndcg10']:.4f} | "
              f"{r['postgresql_ndcg10']:.4f} | {r['difference']:+.4f} | {r['tantivy_ndcg10_by_rank']:.4f} / "
              f"{r['postgresql_ndcg10_by_rank']:.4f} | {r['same_top10']}/{r['queries']} | "
              f"{r['tantivy_p50_ms']} / {r['tantivy_p95_ms']} | "
              f"{r['postgresql_p50_ms']} / {r['postgresql_p95_ms']} | {r['load_s']} ({r['passages_per_s']:,}) | "
              f"{r['pg_mb']} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
