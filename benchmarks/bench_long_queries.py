"""Long queries (issue 15, item 6): how long a pasted paragraph takes to search, and which are refused.

Searches every query of a BEIR ``queries.jsonl`` against an index already built (``kb eval
... --data-dir DIR`` builds one), as the site does (``Searcher.search``, first page), and prints
the median and 95th percentile milliseconds of the queries that are long (``ParsedQuery.is_long``)
and of the others, with the refused ones counted. The index is only read.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_long_queries.py ../shared/eval/arguana/queries.jsonl \
        /work/eval-data/longq-arguana [--limit 300]

Results in docs/ranking.md ("Long queries") and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index import offline  # noqa: F401
from index.errors import QueryError
from index.search.query import parse_query
from index.search.searcher import Searcher
from index.settings import load_settings
from index.storage import open_generation


def _figures(times: list[float]) -> str:
    if not times:
        return "none"
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{len(times)} queries: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("queries", type=Path)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--limit", type=int, default=0, help="Only the first LIMIT queries (0: all).")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    settings = load_settings().replace(data_dir=args.data_dir, canaries="")
    searcher = Searcher(settings, open_generation(settings))
    with args.queries.open(encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle if line.strip()]
    texts = texts[: args.limit] if args.limit else texts
    searcher.search("children in care")  # the model and the indexes loaded before timing
    long_ms: list[float] = []
    short_ms: list[float] = []
    refused: dict[str, int] = {}
    for text in texts:
        started = time.perf_counter()
        try:
            searcher.search(text)
        except QueryError as exc:
            reason = str(exc).split(";")[0].split(" has ")[0].split(" is ")[0]
            refused[reason] = refused.get(reason, 0) + 1
            continue
        took = (time.perf_counter() - started) * 1000
        (long_ms if parse_query(text, settings.max_query_chars).is_long else short_ms).append(took)
    print(f"long:    {_figures(long_ms)}")
    print(f"short:   {_figures(short_ms)}")
    print(f"refused: {sum(refused.values())} {refused if refused else ''}")


if __name__ == "__main__":
    main()
