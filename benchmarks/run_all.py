"""The capacity suite in one command (issue 28): what users get, with queries that never repeat in a run.

``--quick`` (minutes) on one data directory, normally a copy of the real evidence base (all of
``../shared/corpora``): ``kb serve`` with 2 workers, timed from launch to its first answered search; the whole
server's memory (master and workers, RSS and PSS, and whether torch is mapped); one user's latency over fresh
queries; worker CPU per search; 20 clients in a closed loop until the pool of fresh queries is spent or
``--load-seconds`` pass; the disk of every kept generation; and, in-process, the query-embedding cache's
effect on its own (the same query asked again straight after: a repeat-query speed-up, never mixed into the
figures above). Every search is a query that server has not been asked before (``benchmarks/serving.py``).

``--full`` adds the heavier benchmarks, each run once with its own JSON: ``bench_search.py`` (``/api/search``
against the vanilla Haystack pipeline at 5,000 passages, the query cache cleared every round so every request
embeds its query), ``bench_ann_real.py`` (recall on real vectors and on 1M synthetic ones that are not
near-copies) and ``bench_scale.py --sizes ...`` (generations of 100k–1M passages, the same pool).

Then it prints one headline table, and with ``--json`` the figures. A baseline is another checkout run the same
way in the same invocation (``--baseline-code DIR``: its ``kb serve`` is started with that code first on the
path), so a ratio is taken on the same machine minutes apart; compare ratios, not milliseconds, across runs.

Usage (from the repository root)::

    cp -a /tmp/shall-data /tmp/kb-suite          # the real evidence base; the suite never writes to it
    .venv/bin/python benchmarks/run_all.py --quick --data-dir /tmp/kb-suite [--baseline-code /tmp/old-checkout]
    .venv/bin/python benchmarks/run_all.py --full --data-dir /tmp/kb-suite --sizes 100000,1000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from serving import (  # noqa: E402
    QueryPool,
    Server,
    closed_loop,
    generations_disk_mb,
    sequential,
    worker_cpu_ms_per_search,
)


def serve_figures(data_dir: Path, port: int, load_seconds: float, code: Path | None = None) -> dict[str, object]:
    """One fresh ``kb serve`` measured from launch to stop; every search a query new to it."""
    pool = QueryPool()
    env = {"PYTHONPATH": str(code)} if code else {"PYTHONPATH": str(ROOT)}
    server = Server(data_dir, port, workers=2, env=env, cwd=code or ROOT)
    out: dict[str, object] = {"code": str(code or ROOT), "pool": len(pool.queries)}
    try:
        out["start_s"] = round(server.wait(pool.take(1)[0]), 2)
        # Until both workers have warmed, the second one's first request would time its warm-up as a search.
        for query in pool.take(4):
            sequential(server, [query])
        out["memory_warm"] = server.memory()
        one = sequential(server, pool.take(60))
        out.update({"p50_ms": one["p50"], "p95_ms": one["p95"], "p99_ms": one["p99"]})
        out["cpu_ms_per_search"] = worker_cpu_ms_per_search(server, pool, 60)
        out.update(closed_loop(server, pool, clients=20, seconds=load_seconds))
        out["memory_after_load"] = server.memory()
    finally:
        server.stop()
    out.update(generations_disk_mb(data_dir))
    return out


def repeat_speedup(data_dir: Path, n: int = 40) -> dict[str, float]:
    """In-process: each of ``n`` fresh queries asked, then asked again at once (its vector now cached)."""
    from index.settings import load_settings
    from webapp import create_app

    pool = QueryPool()
    app = create_app({"KB_SETTINGS": load_settings(env={}, overrides={"data_dir": str(data_dir), "canaries": ""})})
    client = app.test_client()
    for q in pool.take(3):
        client.get("/api/search", query_string={"q": q})
    first, again = [], []
    for q in pool.take(n):
        for times in (first, again):
            started = time.perf_counter()
            assert client.get("/api/search", query_string={"q": q}).status_code == 200
            times.append((time.perf_counter() - started) * 1000)
    p_first, p_again = statistics.median(first), statistics.median(again)
    return {"fresh_p50_ms": round(p_first, 1), "repeat_p50_ms": round(p_again, 1),
            "repeat_speedup": round(p_first / p_again, 2),
            "engine": app.extensions["kb_index"].embedder.engine}


def run_json(command: list[str], log: Path) -> list[dict[str, object]]:
    """A benchmark that ends with JSON lines on stdout; its stderr kept in ``log``."""
    print("running:", " ".join(command), file=sys.stderr)
    with log.open("w") as err:
        done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True, check=False)
    rows = []
    for line in done.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            rows.append(json.loads(line))
    if not rows:  # a benchmark that prints its own markdown tables
        rows.append({"output": done.stdout})
    if done.returncode != 0:
        rows.append({"failed": command[1], "returncode": done.returncode, "log": str(log)})
    return rows


def headline(results: dict[str, object]) -> str:
    rows = ["| measure | " + " | ".join(k for k in results if k.startswith("serve")) + " |",
            "| --- |" + " ---: |" * sum(1 for k in results if k.startswith("serve"))]
    serves = [v for k, v in results.items() if k.startswith("serve")]

    def line(label: str, get: Any) -> None:
        values = []
        for s in serves:
            try:
                values.append(str(get(s)))
            except (KeyError, TypeError):
                values.append("—")
        rows.append(f"| {label} | " + " | ".join(values) + " |")

    line("worker start: launch → first answered search, s", lambda s: s["start_s"])
    line("server PSS, master + 2 workers, warm, MB", lambda s: s["memory_warm"]["pss_mb"])
    line("server RSS, master + 2 workers, warm, MB", lambda s: s["memory_warm"]["rss_mb"])
    line("server PSS after the load, MB", lambda s: s["memory_after_load"]["pss_mb"])
    line("torch mapped in any process", lambda s: s["memory_warm"]["torch_loaded"])
    line("one user, fresh queries: p50 / p95 ms", lambda s: f"{s['p50_ms']} / {s['p95_ms']}")
    line("worker CPU per search, ms", lambda s: s["cpu_ms_per_search"])
    line("20 clients, closed loop: searches/s", lambda s: s["http_rps"])
    line("20 clients: p50 / p99 ms (requests, errors)",
         lambda s: f"{s['http_p50_ms']} / {s['http_p99_ms']} ({s['http_requests']}, {s['http_errors']})")
    line("disk: live generation / all kept (count) / caches, MB",
         lambda s: f"{s['disk_live_mb']} / {s['disk_generations_mb']} ({s['generations_kept']}) / {s['disk_cache_mb']}")
    out = "\n".join(rows)
    if "repeat" in results:
        r = results["repeat"]
        out += (f"\n\nQuery-embedding cache, in-process ({r['engine']} encoder): "
                f"fresh query p50 {r['fresh_p50_ms']} ms, "
                f"the same query again {r['repeat_p50_ms']} ms: repeat-query speed-up {r['repeat_speedup']}x "
                "(not in any figure above).")
    for name in ("search_vs_vanilla", "ann_real", "scale"):
        if name in results:
            out += f"\n\n{name}:\n" + "\n".join(r.get("output") or json.dumps(r)  # type: ignore[union-attr]
                                                for r in results[name])  # type: ignore[union-attr]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    parser.add_argument("--data-dir", required=True, type=Path, help="a data directory to serve (not written)")
    parser.add_argument("--baseline-code", type=Path, help="another checkout, served first on the same data")
    parser.add_argument("--port", type=int, default=5128)
    parser.add_argument("--load-seconds", type=float, default=30.0)
    parser.add_argument("--sizes", default="100000,1000000", help="bench_scale.py sizes (--full)")
    parser.add_argument("--scale-work-dir", default="/tmp/kb-scale")
    parser.add_argument("--corpora-data-dir", help="bench_ann_real.py's real corpora (--full; default --data-dir)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, object] = {
        "taken": datetime.now(UTC).isoformat(timespec="minutes"),
        "machine": f"{platform.node()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"}
    if args.baseline_code:
        results["serve (baseline)"] = serve_figures(args.data_dir, args.port, args.load_seconds, args.baseline_code)
    results["serve"] = serve_figures(args.data_dir, args.port + 1, args.load_seconds)
    results["repeat"] = repeat_speedup(args.data_dir)
    if args.full:
        logs = Path(args.scale_work_dir)
        logs.mkdir(parents=True, exist_ok=True)
        py = sys.executable
        results["search_vs_vanilla"] = run_json([py, "benchmarks/bench_search.py", "--rounds", "3"],
                                                logs / "bench_search.log")
        results["ann_real"] = run_json([py, "benchmarks/bench_ann_real.py", "--corpora-data-dir",
                                        str(args.corpora_data_dir or args.data_dir), "--work-dir",
                                        str(logs / "ann"), "--json"], logs / "bench_ann_real.log")
        results["scale"] = run_json([py, "benchmarks/bench_scale.py", "--sizes", args.sizes, "--work-dir",
                                     str(logs), "--json"], logs / "bench_scale.log")
    results["load_after"] = round(os.getloadavg()[0], 1)
    print(f"Taken {results['taken']} UTC on {results['machine']}; load average at the end {results['load_after']}.\n")
    print(headline(results))
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
