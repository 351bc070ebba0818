"""Web benchmark: server-side time of /search (the HTML page) against /api/search (JSON) at
5,000 passages, and the weight of a results page with its assets after compression.

    .venv/bin/python benchmarks/bench_web.py [--data-dir /tmp/kb-eval/msmarco-5k] [--rounds 5]

The index is msmarco-5k (ingested by `kb eval eval/msmarco-5k --data-dir DIR` or
benchmarks/bench_ranking.py if DIR is empty). Requests go through the Flask app in-process (no
network), interleaved page/API for each query, so both see the same machine load. Figures go to
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index import offline  # noqa: F401
from index.evaluation import read_queries
from index.settings import load_settings
from index.storage.local.datadir import DataDir
from kbcli.evaluate import run_eval
from webapp import create_app

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="/tmp/kb-eval/msmarco-5k")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    data_dir = Path(args.data_dir)
    if DataDir(data_dir).current_id() is None:
        run_eval(ROOT / "eval" / "msmarco-5k", load_settings(env={}), data_dir, methods=("dense",))
    settings = load_settings(overrides={"data_dir": data_dir, "canaries": ""})
    app = create_app({"KB_SETTINGS": settings})
    client = app.test_client()
    embedder = app.extensions["kb_index"].embedder
    queries = list(read_queries(ROOT / "eval" / "msmarco-5k" / "queries.jsonl").values())
    for q in queries[:5]:  # warm: model, caches, facet table
        client.get("/search", query_string={"q": q})
        client.get("/api/search", query_string={"q": q})
    page_ms: list[float] = []
    api_ms: list[float] = []
    for _ in range(args.rounds):
        for q in queries:
            for url, times in (("/search", page_ms), ("/api/search", api_ms)):
                # Every request embeds its query, as a query new to the server does (issue 28): the
                # query-vector cache would otherwise answer every round after the first.
                embedder.clear_cache()
                started = time.perf_counter()
                response = client.get(url, query_string={"q": q})
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (url, q, response.status_code)
    passages = client.get("/healthz").get_json()["passages"]
    print(f"## Web: /search against /api/search ({passages} passages, {len(page_ms)} requests each)\n")
    print("| endpoint | p50 ms | p95 ms |\n| --- | ---: | ---: |")
    for name, times in (("/api/search (JSON)", api_ms), ("/search (HTML page)", page_ms)):
        print(f"| {name} | {statistics.median(times):.1f} | {percentile(times, 0.95):.1f} |")
    print(f"\np95 ratio page/API: {percentile(page_ms, 0.95) / percentile(api_ms, 0.95):.2f} (target ≤ 3)\n")

    print("## Browse views\n")
    fresh = create_app({"KB_SETTINGS": settings})
    served = fresh.extensions["kb_index"].served()
    started = time.perf_counter()
    served.facet_table  # noqa: B018
    facets_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    browse = served.browse
    browse_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    browse.related_documents(next(iter(browse.sources)))
    centroids_ms = (time.perf_counter() - started) * 1000
    print(f"Built once per generation: facet table {facets_ms:.0f} ms, browse views {browse_ms:.0f} ms, "
          f"sources' mean vectors (first related-documents call) {centroids_ms:.0f} ms, "
          f"{len(browse.sources)} sources.\n")
    print("| endpoint | p50 ms | p95 ms |\n| --- | ---: | ---: |")
    sample = list(browse.sources)[:50]
    for name, urls in (("/api/documents/<id>/related", [f"/api/documents/{i}/related" for i in sample]),
                       ("/documents/<id>", [f"/documents/{i}" for i in sample]),
                       ("/themes", ["/themes"] * 20), ("/projects", ["/projects"] * 20)):
        times = []
        for url in urls:
            started = time.perf_counter()
            assert client.get(url).status_code == 200, url
            times.append((time.perf_counter() - started) * 1000)
        print(f"| {name} | {statistics.median(times):.1f} | {percentile(times, 0.95):.1f} |")
    print()

    print("## Weight of a results page with its assets\n")
    print("| resource | raw bytes | gzip bytes | br bytes |\n| --- | ---: | ---: | ---: |")
    page = client.get("/search", query_string={"q": "adolescents edge of care"})
    html = page.get_data(as_text=True)
    import re

    # app.js imports GOV.UK Frontend's module, so the browser fetches it too.
    assets = [*re.findall(r'(?:href|src)="(/static/[^"]+)"', html), "/static/build/govuk-frontend.min.js"]
    totals = {"raw": 0, "gzip": 0, "br": 0}
    for url in ["/search?q=adolescents+edge+of+care", *dict.fromkeys(assets)]:
        sizes = {}
        for encoding in ("identity", "gzip", "br"):
            response = client.get(url, headers={"Accept-Encoding": encoding})
            sizes[encoding] = len(response.get_data())
        totals["raw"] += sizes["identity"]
        totals["gzip"] += sizes["gzip"]
        totals["br"] += sizes["br"]
        print(f"| {url.split('?')[0]} | {sizes['identity']} | {sizes['gzip']} | {sizes['br']} |")
    print(f"| **total** | {totals['raw']} | {totals['gzip']} | {totals['br']} |")
    print(f"\nResults page with assets after gzip: {totals['gzip'] / 1024:.1f} KiB (target < 200 KB)")


if __name__ == "__main__":
    main()
