"""A search on PostgreSQL, two checkouts of this code side by side: round trips per search and latency (issue 22).

Copies a local data directory's live generation into a PostgreSQL this script starts (or uses ``--store-url``),
then starts one worker process per checkout (``--code``, two or more: e.g. the commit before a change, exported
with ``git archive``, and this working tree), each with a :class:`~index.search.searcher.Searcher` over that
database and its own empty data directory. Every worker is asked the same distinct queries (the serving pool,
``benchmarks/serving.py``: never a query twice to one worker, whose query-vector cache would answer it), in
turns whose order alternates query by query (A B, B A, ...), so both meet the same machine load and a query's
rows warm the database's cache for each in turn.

- The first ``--counted`` queries are searched with libpq's protocol trace on
  (:mod:`index.storage.postgres.wire`): round trips per search, plain queries and the pool as it comes.
- The next ``--timed`` queries are timed without the trace: ``Searcher.search`` in the worker, wall clock.
- Every answer is compared between the workers: the same sources, in the same order, with the same total.

``--vector-statements`` times, instead, the vector side's statements on their own: the dense search and the
sources close in meaning as the code before issue 22's round trips sent them (two scans, each passage's distance
computed twice in the first), against this code's one scan (``PgDocumentStore.nearest_read``).

    .venv/bin/python benchmarks/bench_pg_round_trips.py --data-dir /tmp/pgx/shall-data --code /tmp/base --code . --json
    .venv/bin/python benchmarks/bench_pg_round_trips.py --store-url postgresql://... --code OLD --code NEW
    .venv/bin/python benchmarks/bench_pg_round_trips.py --local /tmp/pgx/shall-data --code OLD --code NEW  # local files
    .venv/bin/python benchmarks/bench_pg_round_trips.py --store-url postgresql://... --code . --vector-statements

Figures: docs/benchmarks.md ("A search's round trips on PostgreSQL").
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_replicas import postgres  # noqa: E402
from serving import query_pool  # noqa: E402

# Runs in a worker, on the checkout its PYTHONPATH names; the counter is this checkout's (loaded by its path, so
# that a checkout without it is counted the same way).
WORKER = r"""
import importlib.util, json, os, sys, time
spec = importlib.util.spec_from_file_location("kb_wire", sys.argv[1])
wire = importlib.util.module_from_spec(spec); sys.modules["kb_wire"] = wire; spec.loader.exec_module(wire)
from index.settings import load_settings
from index.search.searcher import Searcher
from index.storage import open_generation
settings = load_settings(env={}, overrides={"data_dir": sys.argv[2], "store_url": sys.argv[3], "canaries": "",
                                            "projects": ""})
searcher = Searcher(settings, open_generation(settings))
searcher.search("warm up the model and the generation's pages")
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    ask = json.loads(line)
    error, trips = None, None
    started = time.perf_counter()
    try:
        if ask["count"]:
            with wire.counted() as counted:
                response = searcher.search(ask["q"])
            trips = counted.total
        else:
            response = searcher.search(ask["q"])
        ms = (time.perf_counter() - started) * 1000
        answer = {"ms": ms, "trips": trips, "total": response.total, "ids": [r.document_id for r in response.results]}
    except Exception as exc:  # a query the parser refuses: the same for both, compared as such
        answer = {"ms": None, "trips": None, "total": None, "ids": [], "error": type(exc).__name__}
    print(json.dumps(answer), flush=True)
"""


@contextlib.contextmanager
def _database(args: argparse.Namespace, workdir: Path) -> Iterator[str]:
    if args.store_url or args.local:
        yield args.store_url or ""
        return
    with postgres(workdir) as server_url:
        import psycopg

        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE kb_round_trips")
        head, _, query = server_url.partition("?")
        url = f"{head.rsplit('/', 1)[0]}/kb_round_trips" + (f"?{query}" if query else "")
        sys.path.insert(0, str(ROOT))
        from index.settings import load_settings
        from index.storage.local.datadir import DataDir
        from index.storage.postgres.generations import PgGenerations

        settings = load_settings(env={}, overrides={"data_dir": args.data_dir, "canaries": "", "projects": ""})
        generation = DataDir(Path(args.data_dir)).open(settings)
        backend = PgGenerations(url, workdir / "writer")
        with backend.lock():
            backend.import_generation(generation, live=True)
        yield url


# The vector side's statements before issue 22's round trips (index/storage/postgres/store.py at f49515a).
DENSE_BEFORE = ("SELECT c.rowid, -(c.embedding <#> %s), c.id, c.source_id FROM {s}.chunks c "
                "WHERE c.embedding IS NOT NULL AND TRUE ORDER BY c.embedding <#> %s LIMIT %s")
NEAR_BEFORE = ("SELECT DISTINCT ON (c.source_id) c.source_id, c.rowid, -(c.embedding <#> %s) AS cosine "
               "FROM {s}.chunks c WHERE c.embedding IS NOT NULL AND c.source_id IS NOT NULL "
               "AND -(c.embedding <#> %s) >= %s ORDER BY c.source_id, c.embedding <#> %s")


def vector_statements(url: str, vectors: int = 20, rounds: int = 2, top_k: int = 100, floor: float = 0.25) -> dict:
    """Median ms of each vector statement, before and after, on random unit vectors (each asked ``rounds`` times,
    the kinds alternating)."""
    import numpy as np
    import psycopg

    sys.path.insert(0, str(ROOT))
    from index.storage.postgres.pool import connect
    from index.storage.postgres.store import PgDocumentStore

    with connect(url) as conn:
        schema = conn.execute("SELECT schema_name FROM kb.generations g JOIN kb.live l ON l.generation = g.id"
                              ).fetchone()[0]
    store = PgDocumentStore(url, schema)
    rng = np.random.default_rng(22)
    queries = [(v / np.linalg.norm(v)).astype(np.float32) for v in rng.normal(size=(vectors, 384))]
    times: dict[str, list[float]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        from pgvector.psycopg import register_vector

        register_vector(conn)
        for _ in range(rounds):
            for q in queries:
                for name, statement in (
                        ("before: dense", (DENSE_BEFORE.format(s=schema), (q, q, top_k))),
                        ("before: near", (NEAR_BEFORE.format(s=schema), (q, q, floor, q))),
                        ("after: dense and near, one scan",
                         store.nearest_read(q, top_k, None, False, floor).statements[0]),
                        ("after: dense alone", store.nearest_read(q, top_k).statements[0]),
                        ("after: near alone", store.sources_near_read(q, floor).statements[0])):
                    started = time.perf_counter()
                    conn.execute(*statement).fetchall()
                    times.setdefault(name, []).append((time.perf_counter() - started) * 1000)
    return {name: round(statistics.median(values), 1) for name, values in times.items()}


def _plain(query: str) -> bool:
    return not any(c in query for c in '"-') and " OR " not in query and len(query.split()) <= 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="a local data directory whose live generation is copied in")
    parser.add_argument("--store-url", help="a database already holding a live generation (instead)")
    parser.add_argument("--local", help="search this local data directory instead (read only: no round trips)")
    parser.add_argument("--code", action="append", required=True, help="a checkout to run (two or more)")
    parser.add_argument("--counted", type=int, default=60)
    parser.add_argument("--timed", type=int, default=300)
    parser.add_argument("--vector-statements", action="store_true", help="time the vector statements only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.data_dir and not args.store_url and not args.local:
        parser.error("give --data-dir, --store-url or --local")
    if args.vector_statements:
        with tempfile.TemporaryDirectory(prefix="kb-round-trips-") as tmp, _database(args, Path(tmp)) as url:
            print(json.dumps(vector_statements(url), indent=1))
        return
    queries = query_pool()[: args.counted + args.timed]
    codes = [str(Path(c).resolve()) for c in args.code]
    wire = str(ROOT / "index" / "storage" / "postgres" / "wire.py")
    with tempfile.TemporaryDirectory(prefix="kb-round-trips-") as tmp, _database(args, Path(tmp)) as url:
        workers = []
        for number, code in enumerate(codes):
            data = Path(args.local) if args.local else Path(tmp) / f"replica-{number}"
            data.mkdir(exist_ok=True)
            env = {**os.environ, "PYTHONPATH": code, "HF_HUB_OFFLINE": "1"}
            workers.append(subprocess.Popen([sys.executable, "-c", WORKER, wire, str(data), url], cwd=code, env=env,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        for worker in workers:
            assert json.loads(worker.stdout.readline())["ready"]  # type: ignore[union-attr]
        answers: list[list[dict]] = [[] for _ in codes]
        started = time.time()
        for at, query in enumerate(queries):
            order = list(range(len(codes)))
            if at % 2:
                order.reverse()
            for number in order:
                worker = workers[number]
                worker.stdin.write(json.dumps({"q": query, "count": at < args.counted}) + "\n")  # type: ignore[union-attr]
                worker.stdin.flush()  # type: ignore[union-attr]
                answers[number].append({**json.loads(worker.stdout.readline()), "q": query})  # type: ignore[union-attr]
        for worker in workers:
            worker.stdin.close()  # type: ignore[union-attr]
            worker.wait(timeout=60)
    report: dict = {"queries": len(queries), "counted": args.counted, "timed": args.timed,
                    "seconds": round(time.time() - started, 1), "codes": codes, "by_code": []}
    for code, found in zip(codes, answers, strict=True):
        counted = [a for a in found[: args.counted] if a["trips"] is not None]
        plain = [a["trips"] for a in counted if _plain(a["q"])] or [0]
        counted = counted or [{"trips": 0}]
        timed = [a["ms"] for a in found[args.counted :] if a["ms"] is not None]
        report["by_code"].append({
            "code": code,
            "round_trips_median": statistics.median(a["trips"] for a in counted),
            "round_trips_max": max(a["trips"] for a in counted),
            "round_trips_plain_median": statistics.median(plain) if plain else None,
            "round_trips_plain_max": max(plain) if plain else None,
            "round_trips_by_count": {str(n): sum(1 for a in counted if a["trips"] == n)
                                     for n in sorted({a["trips"] for a in counted})},
            "p50_ms": round(statistics.median(timed), 1),
            "p95_ms": round(statistics.quantiles(timed, n=20)[18], 1),
            "mean_ms": round(statistics.fmean(timed), 1),
            "errors": sum(1 for a in found if a.get("error")),
        })
    first = answers[0]
    report["differing_answers"] = [a["q"] for other in answers[1:] for a, b in zip(first, other, strict=True)
                                   if (a["ids"], a["total"]) != (b["ids"], b["total"])]
    if len(codes) == 2:
        a, b = (r["p50_ms"] for r in report["by_code"])
        report["p50_ratio_second_over_first"] = round(b / a, 3)
        pairs = [y["ms"] / x["ms"] for x, y in zip(answers[0][args.counted :], answers[1][args.counted :], strict=True)
                 if x["ms"] and y["ms"]]
        report["median_per_query_ratio"] = round(statistics.median(pairs), 3)
    if args.json:
        print(json.dumps(report, indent=1))
        return
    for row in report["by_code"]:
        print(f"{row['code']}: round trips median {row['round_trips_median']} (plain {row['round_trips_plain_median']}"
              f", most {row['round_trips_max']}); p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms")
    print(f"differing answers: {len(report['differing_answers'])}")


if __name__ == "__main__":
    main()
