"""A/B of /api/search latency between two checkouts of this code on the same generation.

Run it from each checkout in turn, alternating, on the same data directory (an msmarco-5k index,
for example the one benchmarks/bench_search.py leaves in bench-data/msmarco):

    (cd OLD && PYTHONPATH=. /path/to/.venv/bin/python /path/to/benchmarks/bench_ab_search.py DATA old)
    (cd NEW && PYTHONPATH=. .venv/bin/python benchmarks/bench_ab_search.py DATA new)

It creates the app, warms it with every query, then times `/api/search?q=…&top_k=10` for the
first 50 msmarco-5k queries, three rounds, clearing the query-embedding cache each round, and
prints the median. Figures: docs/benchmarks.md ("After the restructuring"). Other query files (JSON lines with
"text") may follow: ``bench_ab_search.py DATA new eval/csc-reports/queries.jsonl eval/csc-practice/queries.jsonl``
times every query of those on an index of the real reports.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")

from index import offline  # noqa: F401
from index.settings import load_settings
from webapp import create_app

QUERIES = Path(__file__).resolve().parent.parent / "eval" / "msmarco-5k" / "queries.jsonl"


def main(data_dir: str, label: str, *query_files: str) -> None:
    settings = load_settings(env={}, overrides={"data_dir": data_dir, "max_top_k": 100})
    app = create_app({"KB_SETTINGS": settings})
    client = app.test_client()
    files = [Path(f) for f in query_files] or [QUERIES]
    queries = [json.loads(line)["text"] for f in files for line in f.open()][: 50 if not query_files else None]
    for q in queries:
        client.get("/api/search", query_string={"q": q})
    handle = app.extensions["kb_index"]
    times = []
    for _ in range(3):
        handle.embedder.clear_cache()
        for q in queries:
            started = time.perf_counter()
            client.get("/api/search", query_string={"q": q, "top_k": 10})
            times.append((time.perf_counter() - started) * 1000)
    print(f"{label} p50 {statistics.median(times):.1f} ms")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *sys.argv[3:])
