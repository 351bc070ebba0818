"""Benchmark at the size of the real evidence base: an index of ../shared/corpora (284 inspections,
26 DfE and sector documents, ~13,400 passages).

    .venv/bin/kb ingest ../shared/corpora --data-dir bench-data/corpora      # once (the ingest figures)
    .venv/bin/python benchmarks/bench_corpora.py --data-dir bench-data/corpora [--rounds 3]

Measures, on that index: a serving worker's start-up (a fresh process creating the app and answering
its first search) and its resident memory after warming; `/api/search` latency (p50/p95) over the
54 queries of eval/csc-reports through the Flask app, interleaved query by query with the vanilla
Haystack hybrid pipeline (InMemoryBM25 + FAISS + RRF, benchmarks/bench_search.py) on the same
passages and vectors, so the ratio is what to compare across machines; and the browse pages
(councils, themes, projects, a council, a project). Prints Markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_search import (  # noqa: E402
    api_request,
    interleaved_latency,
    percentile,
    vanilla_pipeline,
    vanilla_runner,
)

from index import offline  # noqa: E402,F401
from index.settings import load_settings  # noqa: E402
from index.storage import open_generation  # noqa: E402

WORKER = """
import json, resource, sys, time
started = time.perf_counter()
from index import offline
from index.settings import load_settings
from webapp import create_app
app = create_app({"KB_SETTINGS": load_settings(env={}, overrides={"data_dir": sys.argv[1]})})
client = app.test_client()
assert client.get("/api/search", query_string={"q": "edge of care"}).status_code == 200
ready = time.perf_counter() - started
for q in ("care leavers housing", "exploitation county lines", "Signs of Safety"):
    client.get("/api/search", query_string={"q": q})
client.get("/councils"); client.get("/themes"); client.get("/projects")
rss = int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmRSS:")))
print(json.dumps({"start_s": round(ready, 2), "rss_mb": round(rss / 1024)}))
"""


def worker_figures(data_dir: str, runs: int) -> tuple[float, int]:
    starts, rss = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", WORKER, data_dir], cwd=ROOT, capture_output=True, text=True,
                             check=True)
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        starts.append(figures["start_s"])
        rss.append(figures["rss_mb"])
    return statistics.median(starts), int(statistics.median(rss))


def browse_times(settings, rounds: int) -> dict[str, float]:
    from webapp import create_app

    client = create_app({"KB_SETTINGS": settings}).test_client()
    client.get("/councils")  # builds the generation's browse views once
    pages = ["/councils", "/themes", "/projects", "/councils/dorset", "/projects/north-yorkshire-no-wrong-door"]
    out = {}
    for page in pages:
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            assert client.get(page).status_code == 200, page
            times.append((time.perf_counter() - started) * 1000)
        out[page] = statistics.median(times)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(ROOT / "bench-data" / "corpora"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = load_settings(env={}, overrides={"data_dir": args.data_dir})
    generation = open_generation(settings)
    manifest = generation.manifest
    size = sum(p.stat().st_size for p in generation.path.iterdir()) / 1e6
    start_s, rss_mb = worker_figures(args.data_dir, args.rounds)
    queries = [json.loads(line)["text"] for line in (ROOT / "eval" / "csc-reports" / "queries.jsonl").open()]
    ours, handle = api_request(settings)
    vanilla = vanilla_runner(vanilla_pipeline(generation, settings))
    ours_ms, vanilla_ms = interleaved_latency(ours, vanilla, handle, queries, args.rounds)
    browse = browse_times(settings, args.rounds)
    print(f"Index: {manifest.sources} sources, {manifest.passages} passages, generation {size:.0f} MB on disk.\n")
    print("| measure | value |\n| --- | ---: |")
    print(f"| worker start-up to its first answer (median of {args.rounds}) | {start_s:.1f} s |")
    print(f"| worker resident memory after warming | {rss_mb} MB |")
    for name, values in (("ours", ours_ms), ("vanilla Haystack", vanilla_ms)):
        print(f"| /api/search p50 / p95, {name} ({len(values)} requests) | "
              f"{statistics.median(values):.1f} / {percentile(values, 0.95):.1f} ms |")
    print(f"| ratio ours / vanilla, p50 | {statistics.median(ours_ms) / statistics.median(vanilla_ms):.2f} |")
    for page, ms in browse.items():
        print(f"| {page} (median) | {ms:.1f} ms |")


if __name__ == "__main__":
    main()
