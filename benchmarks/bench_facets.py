"""What disjunctive facet counts and sort=date cost a search: each query searched plain, with one type
ticked, with a type and a council ticked, and sorted by date, over a built data directory.

A search with chosen facets runs the retrieval once more per chosen facet (without the reranker) so that
each facet's values are counted without its own choice; this measures that cost.

Usage::

    PYTHONPATH=. python benchmarks/bench_facets.py --data-dir DATA --queries eval/csc-reports/queries.jsonl
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from index import offline  # noqa: F401
from index.evaluation import read_queries
from index.search.facets import FacetSelection
from index.search.searcher import Searcher
from index.settings import load_settings
from index.storage import open_generation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=30, help="Queries to time.")
    args = parser.parse_args()
    settings = load_settings(env={}, overrides={"data_dir": args.data_dir})
    searcher = Searcher(settings, open_generation(settings))
    queries = [text for _, text in list(read_queries(args.queries).items())[: args.limit]]
    for text in queries[:3]:
        searcher.search(text)  # warm: model, pages, caches
    table = searcher.facet_table
    councils = len(table.postings["council"])
    print(f"{len(table.by_source)} sources, {councils} councils, {len(queries)} queries")
    timings: dict[str, list[float]] = {"plain": [], "one type ticked": [], "type and council ticked": [],
                                       "sort=date": []}
    for text in queries:
        started = time.perf_counter()
        plain = searcher.search(text)
        timings["plain"].append(time.perf_counter() - started)
        kind = next(iter(plain.facets["type"]), None)
        council = next(iter(plain.facets["council"]), None)
        if kind is None or council is None:
            continue
        for name, chosen in (("one type ticked", {"type": [kind]}),
                             ("type and council ticked", {"type": [kind], "council": [council]})):
            started = time.perf_counter()
            searcher.search(text, facets=FacetSelection.parse(chosen))
            timings[name].append(time.perf_counter() - started)
        started = time.perf_counter()
        searcher.search(text, sort="date")
        timings["sort=date"].append(time.perf_counter() - started)
    for name, values in timings.items():
        print(f"{name:26s} median {statistics.median(values) * 1000:7.1f} ms  "
              f"max {max(values) * 1000:7.1f} ms  (n={len(values)})")


if __name__ == "__main__":
    main()
