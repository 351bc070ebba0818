"""Scale benchmark: generations of 100k, 300k and 1M passages, searched, browsed and re-indexed.

Embedding a million passages on a CPU takes hours, so the generations are synthetic but made of
real parts: sources copy the records (type, councils, themes, inspections, projects) of a real
seed generation; passages recombine the sentences of two real passages; their vectors mix the
two real vectors (0.85/0.15 with a little noise), so topics cluster as real ones do. They are
written through the store's own API and published by the same steps as ``kb ingest``
(:func:`ingest.build.finish_generation`), so every structure a real generation has is built and
timed. Queries are real (the evidence-base query set, embedded by the real model); so is the
1%-change re-index: 1% of the sources are rewritten as files and re-indexed by the real build
(conversion, embedding, derive from the live generation, gate, publish).

Per size it measures build time, disk (the live generation, and every kept generation together), a
serving worker's RSS and the whole server's PSS (the gunicorn master, which preloads the app, and the
workers), worker start-up, ``/api/search`` p50/p95/p99 (real queries, the corpus's most frequent words,
facet filters), browse pages, worker CPU per search, HTTP p99 with 20 concurrent clients for a bounded
time, dense recall@10 against exact search, and the re-index. Every search asks a query the server has
not been asked before (``benchmarks/serving.py``'s pool; issue 28: the workers' query-vector cache had
answered almost every request of the earlier runs). The dense recall here is on the synthetic vectors,
near-copies of the seed's: ``bench_ann_real.py`` measures recall on real vectors and on synthetic ones
that are not.

Usage (from the repository root, after the README's install)::

    .venv/bin/python benchmarks/bench_scale.py --sizes 100000,300000,1000000 --json

The seed generation is the default corpus ingested into ``<work-dir>/seed`` on first use (about
two minutes), or any data directory given with ``--seed-data-dir``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
importlib.import_module("index.offline")  # no telemetry, no hub: before Haystack is imported

from haystack import Document  # noqa: E402
from serving import (  # noqa: E402
    QueryPool,
    Server,
    closed_loop,
    generations_disk_mb,
    percentiles,
    timed_get,
    worker_cpu_ms_per_search,
)

from index.records import SourceRecord  # noqa: E402
from index.search.query import STOPWORDS, word_tokens  # noqa: E402
from index.settings import Settings, load_settings  # noqa: E402
from index.storage import open_generation  # noqa: E402
from index.storage.contract import Manifest  # noqa: E402
from index.storage.layout import COUNCILS_FILE, PROJECTS_FILE  # noqa: E402
from index.storage.local.datadir import DataDir  # noqa: E402

KB = str(Path(sys.executable).with_name("kb"))
SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclasses.dataclass
class Seed:
    records: list[SourceRecord]
    passages: dict[str, list[Document]]  # source id -> its passages, with vectors
    pool: list[Document]
    generation: Path


def load_seed(data_dir: Path) -> Seed:
    settings = dataclasses.replace(load_settings(env={}), data_dir=str(data_dir))
    generation = open_generation(settings)
    store = generation.store
    records, passages, pool = [], {}, []
    for source_id in store.source_ids():
        record = store.get_source(source_id)
        docs = store.source_documents(source_id)
        if record is None or record.duplicate_of or not docs:
            continue
        records.append(record)
        passages[source_id] = docs
        pool.extend(docs)
    return Seed(records, passages, pool, generation.path)


def ensure_seed(work: Path, given: str | None) -> Path:
    if given:
        return Path(given)
    seed = work / "seed"
    if not (seed / "CURRENT").exists():
        print("building the seed generation from corpus/ ...", file=sys.stderr)
        subprocess.run([KB, "ingest", "corpus", "--data-dir", str(seed)], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
    return seed


def _mixed_text(rng: random.Random, main: Document, other: Document) -> str:
    ours = SENTENCE.split(main.content or "")
    theirs = SENTENCE.split(other.content or "")
    out = [s if rng.random() > 0.3 or not theirs else rng.choice(theirs) for s in ours]
    return " ".join(out)


def synthetic_sources(seed: Seed, passages: int, files: Path, rng_seed: int = 0
                      ) -> Iterator[tuple[SourceRecord, list[Document]]]:
    """Sources of 10–50 passages (30 on average) until ``passages`` are made."""
    rng = random.Random(rng_seed)
    nrng = np.random.default_rng(rng_seed)
    made = 0
    number = 0
    while made < passages:
        base = seed.records[number % len(seed.records)]
        count = min(passages - made, rng.randint(10, 50))
        source_id = f"syn{number:07d}"
        own = seed.passages[base.id]
        docs = []
        for ordinal in range(count):
            main = own[ordinal % len(own)] if rng.random() < 0.5 else rng.choice(seed.pool)
            other = rng.choice(seed.pool)
            vector = 0.85 * np.asarray(main.embedding) + 0.15 * np.asarray(other.embedding)
            vector += nrng.normal(scale=0.02, size=vector.shape)
            vector /= np.linalg.norm(vector)
            meta = dict(main.meta, source_id=source_id, ordinal=ordinal, title=f"{base.title} ({number})")
            docs.append(Document(id=f"{source_id}-{ordinal}", content=_mixed_text(rng, main, other), meta=meta,
                                 embedding=vector.astype(np.float32).tolist()))
        year = int(base.date[:4]) if base.date else None
        date = f"{year - rng.randint(0, 12)}{base.date[4:]}" if year else None
        record = dataclasses.replace(
            base, id=source_id, source=str(files / f"{source_id}.txt"), title=f"{base.title} ({number})",
            content="\n\n".join(d.content or "" for d in docs), content_hash=f"{number:016x}", date=date,
            file=f"{source_id}.txt", external_id=None, duplicate_of=None, alternates=())
        made += count
        number += 1
        yield record, docs


def build_generation(seed: Seed, size: int, data_dir: Path, settings: Settings) -> dict[str, float]:
    from index.embedding.encoders import export_query_graph
    from ingest.build import chunking, finish_generation
    from ingest.dedupe import signature

    files = data_dir / "files"
    files.mkdir(parents=True, exist_ok=True)
    backend = DataDir(data_dir)
    started = time.perf_counter()
    with backend.lock():
        build = backend.begin(settings.faiss_factory)
        signatures = {}
        for record, docs in synthetic_sources(seed, size, files):
            build.store.write_source(record)
            build.store.write_documents(docs)
            signatures[record.id] = signature(record)
        build.store.write_signatures(signatures)  # as the build stores them for near-duplicate checks
        written = time.perf_counter()
        for name in (PROJECTS_FILE, COUNCILS_FILE):
            shutil.copyfile(seed.generation / name, build.path / name)
        finish_generation(build)
        store = build.store
        manifest = Manifest(
            generation=build.id, model_id=settings.model_id, embedding_dim=settings.embedding_dim,
            chunking=chunking(settings), faiss_factory=store.vector_factory(), sources=store.count_sources(),
            passages=store.count_documents(), source_hashes=store.source_hashes(),
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            projects_hash=Manifest.read(seed.generation / "manifest.json").projects_hash,
            query_graph=export_query_graph(settings))
        backend.publish(build, manifest, keep=2)
    done = time.perf_counter()
    return {"build_s": round(done - started, 1), "write_s": round(written - started, 1),
            "index_s": round(done - written, 1)}


def complete_in_place(data_dir: Path, settings: Settings) -> dict[str, float]:
    """Add what a kept generation lacks (one built before the lexical index or the stored pages existed),
    timed, so that it is measured as a build of today would be. For the benchmark only: published
    generations are otherwise never written."""
    from index.browse.pages import prepare
    from index.storage.contract import Build
    from index.storage.layout import LEXICAL_DIR, PAGES_FILE
    from index.storage.local.store import KBDocumentStore

    generation = open_generation(settings)
    path = generation.path
    generation.store.close()
    out: dict[str, float] = {}
    store = KBDocumentStore(path / "chunks.sqlite", vectors_path=path / "vectors.faiss")
    if not (path / LEXICAL_DIR).exists():
        started = time.perf_counter()
        store.save_lexical(path / LEXICAL_DIR)
        out["lexical_build_s"] = round(time.perf_counter() - started, 1)
    if not store.signatures():
        from ingest.dedupe import signature

        started = time.perf_counter()
        store.write_signatures({r.id: signature(r) for r in store.all_sources()})
        out["signatures_build_s"] = round(time.perf_counter() - started, 1)
    if not (path / PAGES_FILE).exists():
        started = time.perf_counter()
        prepare(Build(generation.id, path, store))
        out["pages_build_s"] = round(time.perf_counter() - started, 1)
    store.finalise()
    return out


def frequent_queries(seed: Seed, count: int = 30) -> list[str]:
    """Two- and three-word queries of the corpus's most frequent content words (the lexical worst case)."""
    df: Counter[str] = Counter()
    for doc in seed.pool:
        df.update({t for t in word_tokens(doc.content or "") if t not in STOPWORDS and not t.isdigit()})
    top = [w for w, _ in df.most_common(12)]
    rng = random.Random(1)
    queries = {" ".join(rng.sample(top, rng.choice((2, 3)))) for _ in range(count * 3)}
    return sorted(queries)[:count]


def filtered_requests(seed: Seed, queries: list[str]) -> list[dict[str, str]]:
    from index.search.facets import slugify

    councils = Counter(slugify(c) for r in seed.records for c in r.council_names)
    themes = Counter(t for r in seed.records for t in r.theme_ids)
    types = Counter(r.type for r in seed.records)
    rng = random.Random(2)
    out = []
    for i, q in enumerate(queries):
        kind = i % 4
        if kind == 0 and councils:
            out.append({"q": q, "council": rng.choice(list(councils))})
        elif kind == 1 and themes:
            out.append({"q": q, "theme": rng.choice(list(themes))})
        elif kind == 2:
            out.append({"q": q, "type": rng.choice(list(types))})
        else:
            out.append({"q": q, "year": str(rng.randint(2014, 2024))})
    return out


def recall_at_10(data_dir: Path, settings: Settings, queries: list[str]) -> float:
    import faiss

    from index.embedding.encoders import query_embedder

    generation = open_generation(dataclasses.replace(settings, data_dir=str(data_dir)))
    store = generation.store
    embedder = query_embedder(settings, generation.manifest)
    vectors = np.asarray([embedder.embed(q) for q in queries], dtype=np.float32)
    rows = store._conn().execute("SELECT rowid, embedding FROM chunks WHERE embedding IS NOT NULL")
    ids, matrix = [], []
    for rowid, blob in rows:
        ids.append(rowid)
        matrix.append(np.frombuffer(blob, dtype=np.float32))
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(np.vstack(matrix))
    del matrix
    _, truth = exact.search(vectors, 10)
    found = []
    for vector, row in zip(vectors, truth, strict=True):
        want = {ids[i] for i in row}
        got = {h.rowid for h in store.embedding_retrieval(vector, top_k=10, with_content=False)}
        found.append(len(want & got) / 10)
    return round(float(np.mean(found)), 4)


def reindex_one_percent(seed: Seed, data_dir: Path, settings: Settings) -> dict[str, float]:
    """Rewrite 1% of the sources as files (new text) and re-index them with the real build."""
    from ingest.build import BuildRequest, build_and_publish

    generation = open_generation(settings)
    ids = generation.store.source_ids()
    rng = random.Random(3)
    chosen = rng.sample(ids, max(1, len(ids) // 100))
    files = []
    for source_id in chosen:
        record = generation.store.get_source(source_id)
        assert record is not None
        passages = generation.store.source_passages(source_id)
        text = "\n\n".join(rng.choice(seed.pool).content or "" if i % 5 == 0 else p.content for i, p in
                           enumerate(passages))
        path = Path(record.source)
        path.write_text(text, encoding="utf-8")
        sidecar = {"title": record.title, "type": record.type, "date": record.date, "publisher": record.publisher}
        path.with_name(path.name + ".meta.json").write_text(json.dumps(sidecar), encoding="utf-8")
        files.append(path)
    generation.store.close()
    changed = {str(p) for p in files}
    request = BuildRequest(files=files, keep=lambda record, processed: record.source not in changed)
    started = time.perf_counter()
    result = build_and_publish(request, settings)
    took = time.perf_counter() - started
    return {"reindex_1pct_s": round(took, 1), "reindex_sources": len(files), "reindex_embedded": result.embedded,
            "reindex_stages": result.stages}


def measure(size: int, args: argparse.Namespace, seed: Seed, work: Path) -> dict[str, object]:
    data_dir = work / f"gen-{size}"
    settings = dataclasses.replace(load_settings(env={}), data_dir=str(data_dir))
    out: dict[str, object] = {"passages": size}
    if args.reuse and (data_dir / "CURRENT").exists():
        out["reused"] = True
        out.update(complete_in_place(data_dir, settings))
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
        out.update(build_generation(seed, size, data_dir, settings))
    print("built", out, file=sys.stderr)
    generation = open_generation(settings)
    out["sources"] = generation.manifest.sources
    out["faiss"] = generation.manifest.faiss_factory
    generation.store.close()
    out.update(generations_disk_mb(data_dir))  # every kept generation, not only the live one

    # Every search asks a query this server has not been asked (its workers cache 512 query vectors each):
    # the real query pool, each query once (benchmarks/serving.py). The frequent-word queries are distinct too.
    pool = QueryPool()
    frequent = frequent_queries(seed)
    server = Server(data_dir, args.port, args.workers)
    try:
        out["start_s"] = round(server.wait(pool.take(1)[0]), 2)
        for q in pool.take(5):
            timed_get(server.url("/api/search", q=q))  # both workers warm, on queries not timed
        mix = percentiles([timed_get(server.url("/api/search", q=q))[0] for q in pool.take(54)])
        out.update({"p50_ms": mix["p50"], "p95_ms": mix["p95"], "p99_ms": mix["p99"]})
        freq = percentiles([timed_get(server.url("/api/search", q=q))[0] for q in frequent])
        out.update({"frequent_p50_ms": freq["p50"], "frequent_p95_ms": freq["p95"]})
        if args.search_only:
            return out
        filtered = [timed_get(server.url("/api/search", **params))[0]
                    for params in filtered_requests(seed, pool.take(54))]
        out["filtered_p95_ms"] = percentiles(filtered)["p95"]
        browse_paths = ["/councils", "/themes", "/projects", "/api/councils", "/search?council=hackney"]
        ids = open_generation(settings).store.source_ids()
        browse_paths += [f"/documents/{i}" for i in random.Random(4).sample(ids, 10)]
        out["browse_p95_ms"] = percentiles([timed_get(server.url(p))[0] for p in browse_paths for _ in range(2)])[
            "p95"]
        out["cpu_ms_per_search"] = worker_cpu_ms_per_search(server, pool, 40)
        print("measured", out, file=sys.stderr)
        out.update(closed_loop(server, pool, clients=20, seconds=args.load_seconds))
        memory = server.memory()  # the master (which preloads the app and opens a searcher) included
        out["rss_mb"] = max(memory["worker_rss_mb"], default=0.0)
        out["pss_mb"] = memory["pss_mb"]
        out["torch_loaded"] = memory["torch_loaded"]
    finally:
        server.stop()
    queries = [json.loads(line)["text"] for line in (ROOT / "eval/csc-reports/queries.jsonl").open()]
    out["recall_at_10"] = recall_at_10(data_dir, settings, queries)
    if not args.no_reindex:
        out.update(reindex_one_percent(seed, data_dir, settings))
    if not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,300000,1000000", help="passages per generation, comma-separated")
    parser.add_argument("--work-dir", default="/tmp/kb-scale", help="where the generations are built")
    parser.add_argument("--seed-data-dir", help="a data directory to take real sources and vectors from")
    parser.add_argument("--port", type=int, default=5077)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--load-seconds", type=float, default=30.0, help="how long 20 clients drive the server")
    parser.add_argument("--no-reindex", action="store_true", help="skip the 1%%-change re-index")
    parser.add_argument("--keep", action="store_true", help="keep the generations afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure a generation kept by --keep instead of "
                        "building it again")
    parser.add_argument("--json", action="store_true", help="end with one JSON object per size, one per line")
    parser.add_argument("--search-only", action="store_true", help="only start-up and search latency (the real "
                        "queries and the most frequent words), none of the rest: a quick re-measure after a change")
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    seed = load_seed(ensure_seed(work, args.seed_data_dir))
    print(f"seed: {len(seed.records)} sources, {len(seed.pool)} passages; machine: {os.cpu_count()} cores",
          file=sys.stderr)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        result = measure(size, args, seed, work)
        print(json.dumps(result), file=sys.stderr)
        results.append(result)
    if args.json:
        for result in results:
            print(json.dumps(result))


if __name__ == "__main__":
    main()
