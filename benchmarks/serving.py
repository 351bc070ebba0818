"""What the serving benchmarks share (issue 28): a pool of real queries that never repeat in a run, `kb serve`
started and timed from launch to its first answer, the whole server's memory (the gunicorn master included)
and the disk of every kept generation.

Why a pool: each worker keeps the vectors of its last 512 queries (``QueryEmbedder``), so a benchmark that asks
a few dozen queries over and over measures the cache, not a search as a user meets it. :func:`query_pool` is every
typed query of every evaluation collection here (``eval/*/queries.jsonl`` and ``../shared/eval/*/queries.jsonl``,
32 words or fewer: arguana's and cisi's pasted paragraphs are another kind of request, measured in
``bench_long_queries.py``), distinct once case and spacing are ignored, shuffled with a fixed seed.
:class:`QueryPool` hands each out once: a run that needs more than the pool holds fails instead of repeating.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KB = str(Path(sys.executable).with_name("kb"))
MAX_WORDS = 32


def query_files() -> list[Path]:
    shared = ROOT.parent / "shared" / "eval"
    return sorted([*(ROOT / "eval").glob("*/queries.jsonl"), *shared.glob("*/queries.jsonl")])


def query_pool(seed: int = 28, max_words: int = MAX_WORDS) -> list[str]:
    """Every distinct typed query of every collection, shuffled (see the module docstring)."""
    seen: dict[str, str] = {}
    for path in query_files():
        for line in path.read_text(encoding="utf-8").split("\n"):
            if not line.strip():
                continue
            text = " ".join(json.loads(line)["text"].split())
            if text and len(text.split()) <= max_words:
                seen.setdefault(text.casefold(), text)
    queries = sorted(seen.values())
    random.Random(seed).shuffle(queries)
    return queries


class QueryPool:
    """Hands out each query of :func:`query_pool` once (per server: its workers' caches live as long as it does)."""

    def __init__(self, queries: list[str] | None = None) -> None:
        self.queries = queries if queries is not None else query_pool()
        self.used = 0
        self._lock = threading.Lock()

    def take(self, n: int) -> list[str]:
        with self._lock:
            if self.used + n > len(self.queries):
                raise RuntimeError(f"the query pool has {len(self.queries) - self.used} unused queries, {n} asked: "
                                   "a benchmark must not repeat a query to a server")
            out = self.queries[self.used : self.used + n]
            self.used += n
            return out

    def next(self) -> str | None:
        """One unused query, or None when the pool is spent."""
        with self._lock:
            if self.used >= len(self.queries):
                return None
            self.used += 1
            return self.queries[self.used - 1]

    @property
    def left(self) -> int:
        return len(self.queries) - self.used


def percentiles(times: list[float]) -> dict[str, float]:
    if not times:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    ordered = sorted(times)

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)

    return {"p50": round(statistics.median(ordered), 1), "p95": at(0.95), "p99": at(0.99)}


def proc_kb(pid: int, field: str) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) if match else 0


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def maps_torch(pid: int) -> bool:
    """Whether the process has torch's library mapped (sentence-transformers cannot run without it)."""
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def disk_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1)


def generations_disk_mb(data_dir: Path) -> dict[str, float]:
    """The live generation's size, every kept generation's together, and the caches (ONNX graph, embeddings)."""
    live = (data_dir / "CURRENT").read_text().strip()
    kept = [p for p in (data_dir / "generations").iterdir() if p.is_dir()]
    return {"disk_live_mb": disk_mb(data_dir / "generations" / live),
            "disk_generations_mb": round(sum(disk_mb(p) for p in kept), 1), "generations_kept": len(kept),
            "disk_cache_mb": disk_mb(data_dir / "cache") if (data_dir / "cache").exists() else 0.0}


class Server:
    """``kb serve`` (gunicorn, app preloaded) on a data directory, timed from launch."""

    def __init__(self, data_dir: Path, port: int, workers: int = 2, env: dict[str, str] | None = None,
                 cwd: Path = ROOT, kb: str = KB) -> None:
        self.port = port
        environment = dict(os.environ, KB_DATA_DIR=str(data_dir), KB_CANARIES="", **(env or {}))
        self.started = time.perf_counter()
        self.proc = subprocess.Popen([kb, "serve", "--data-dir", str(data_dir), "--port", str(port),
                                      "--workers", str(workers)], env=environment, cwd=cwd,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def url(self, path: str, **params: str) -> str:
        query = urllib.parse.urlencode(params, doseq=True)
        return f"http://127.0.0.1:{self.port}{path}" + (f"?{query}" if query else "")

    def wait(self, first_query: str, timeout: float = 300) -> float:
        """Seconds from launch to the first answered search (``first_query``: one from the pool)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kb serve exited with {self.proc.returncode}")
            _, status = timed_get(self.url("/api/search", q=first_query))
            if status == 200:
                return time.perf_counter() - self.started
            time.sleep(0.1)
        raise RuntimeError("the server did not answer")

    def workers_started(self, workers: int, timeout: float = 300) -> float:
        """Seconds from launch until every worker has warmed (each answers: each was asked until both had)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline and len(children(self.proc.pid)) < workers:
            time.sleep(0.05)
        return time.perf_counter() - self.started

    def memory(self) -> dict[str, object]:
        """RSS and PSS of the master and each worker; ``pss_mb``: the whole server's (what it costs the machine)."""
        pids = [self.proc.pid, *children(self.proc.pid)]
        pss = [proc_kb(p, "Pss") / 1024 for p in pids]
        rss = [proc_kb(p, "Rss") / 1024 for p in pids]
        return {"pss_mb": round(sum(pss), 1), "rss_mb": round(sum(rss), 1),
                "master_rss_mb": round(rss[0], 1), "worker_rss_mb": [round(r, 1) for r in rss[1:]],
                "torch_loaded": any(maps_torch(p) for p in pids)}

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=60)


def timed_get(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = 0
    return (time.perf_counter() - started) * 1000, status


def sequential(server: Server, queries: list[str], **params: str) -> dict[str, float]:
    """Each query once, one at a time: latency as one user meets it."""
    return percentiles([timed_get(server.url("/api/search", q=q, **params))[0] for q in queries])


def closed_loop(server: Server, pool: QueryPool, clients: int, seconds: float) -> dict[str, float]:
    """``clients`` threads asking without pause for ``seconds`` (or until the pool is spent), every request a query
    the server has not seen. Throughput is requests over the time the clients really ran."""
    times: list[float] = []
    errors = 0
    lock = threading.Lock()
    started = time.perf_counter()
    stop = started + seconds

    def client() -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            query = pool.next()
            if query is None:
                return
            took, status = timed_get(server.url("/api/search", q=query))
            with lock:
                times.append(took)
                errors += status != 200

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ran = time.perf_counter() - started
    stats = percentiles(times)
    return {"http_p50_ms": stats["p50"], "http_p95_ms": stats["p95"], "http_p99_ms": stats["p99"],
            "http_rps": round(len(times) / ran, 1), "http_requests": len(times), "http_errors": errors,
            "http_seconds": round(ran, 1), "pool_spent": pool.left == 0}


def worker_cpu_ms_per_search(server: Server, pool: QueryPool, n: int) -> float:
    """Worker CPU (user + system, all workers) per search over ``n`` sequential fresh queries."""
    def cpu() -> float:
        total = 0
        for pid in children(server.proc.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError):
                pass
        return total / os.sysconf("SC_CLK_TCK") * 1000

    queries = pool.take(n)
    before = cpu()
    for q in queries:
        timed_get(server.url("/api/search", q=q))
    return round((cpu() - before) / n, 1)
