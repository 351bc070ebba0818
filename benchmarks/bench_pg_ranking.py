"""The whole ranking on PostgreSQL against the local backend, on the same generations (issue 17).

For each collection's local index (built by ``kb eval … --data-dir DATA_ROOT/<name>``, as
``benchmarks/bench_loco.py`` keeps them), the live generation is copied into a PostgreSQL this
script starts (``kb migrate``'s code: the same rows, vectors and files), and ``kb eval``'s scoring
runs twice, on the local files and on the database: lexical alone, dense alone and production,
nDCG@10 and Recall@100, with the difference.

    .venv/bin/python benchmarks/bench_pg_ranking.py --data-root /work/eval-data/final2
    .venv/bin/python benchmarks/bench_pg_ranking.py --data-root DIR --collections scifact,csc-seeds --json
    .venv/bin/python benchmarks/bench_pg_ranking.py --data-root DIR --hnsw    # PostgreSQL through HNSW
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_loco import COLLECTIONS  # noqa: E402
from bench_replicas import postgres  # noqa: E402

from index.settings import load_settings  # noqa: E402
from index.storage.local.datadir import DataDir  # noqa: E402
from index.storage.postgres.generations import PgGenerations  # noqa: E402
from kbcli.evaluate import run_eval  # noqa: E402

METHODS = ("lexical", "dense", "production")


@dataclasses.dataclass
class Row:
    collection: str
    queries: int
    local: dict[str, float]
    postgresql: dict[str, float]
    local_recall: dict[str, float]
    postgresql_recall: dict[str, float]
    copy_seconds: float
    local_seconds: float
    postgresql_seconds: float


def _database(server_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    head, _, query = server_url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def measure(name: str, data_root: Path, server_url: str, workdir: Path, hnsw: bool = False,
            ef_search: int = 400) -> Row:
    dataset, files = COLLECTIONS[name]
    local_dir = data_root / name
    settings = load_settings(env={}, overrides={"data_dir": local_dir, "canaries": "", "projects": "",
                                                "hnsw_ef_search": ef_search})
    url = _database(server_url, "kb_" + name.replace("-", "_"))
    started = time.perf_counter()
    local = DataDir(local_dir)
    generation = local.open(settings)
    backend = PgGenerations(url, workdir / name)
    with backend.lock():
        backend.import_generation(generation, live=True)
    if hnsw:  # what a generation of ANN_MIN_PASSAGES or more gets: pgvector's approximate index
        from index.storage.postgres.pool import gen_schema, pool_for

        with pool_for(url).connection() as conn:
            conn.execute(f"CREATE INDEX chunks_embedding_hnsw ON {gen_schema(generation.id)}.chunks "
                         "USING hnsw (embedding vector_ip_ops)")
    copied = time.perf_counter() - started
    started = time.perf_counter()
    on_local = run_eval(dataset, settings, local_dir, methods=METHODS, files=files)
    local_seconds = time.perf_counter() - started
    shared = settings.replace(store_url=url)
    started = time.perf_counter()
    on_pg = run_eval(dataset, shared, workdir / f"{name}-replica", methods=METHODS, files=files)
    pg_seconds = time.perf_counter() - started

    def scores(report, measure: str) -> dict[str, float]:
        return {method: round(values.to_dict()[measure], 4) for method, values in report.methods.items()}

    return Row(name, on_local.judged_queries, scores(on_local, "nDCG@10"), scores(on_pg, "nDCG@10"),
               scores(on_local, "Recall@100"), scores(on_pg, "Recall@100"), round(copied, 1),
               round(local_seconds, 1), round(pg_seconds, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--collections", default=",".join(COLLECTIONS))
    parser.add_argument("--hnsw", action="store_true", help="search the PostgreSQL copy through an HNSW index "
                        "(approximate; the local side stays exact) to measure what approximation costs")
    parser.add_argument("--ef-search", type=int, default=400, help="the hnsw_ef_search setting")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="kb-pg-ranking-") as tmp:
        workdir = Path(tmp)
        with postgres(workdir) as server_url:
            for name in args.collections.split(","):
                rows.append(measure(name, args.data_root, server_url, workdir, args.hnsw, args.ef_search))
                print(f"{name} done", file=sys.stderr)
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in rows], indent=1))
        return
    print("| collection | queries | lexical local / PG | dense local / PG | production local / PG | difference "
          "| Recall@100 production local / PG | copy s | eval s local / PG |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        pair = {m: f"{r.local[m]:.4f} / {r.postgresql[m]:.4f}" for m in METHODS}
        diff = r.postgresql["production"] - r.local["production"]
        print(f"| {r.collection} | {r.queries} | {pair['lexical']} | {pair['dense']} | {pair['production']} | "
              f"{diff:+.4f} | {r.local_recall['production']:.4f} / {r.postgresql_recall['production']:.4f} | "
              f"{r.copy_seconds} | {r.local_seconds} / {r.postgresql_seconds} |")


if __name__ == "__main__":
    main()
