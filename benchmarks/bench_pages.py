"""Worker start-up: what a web worker builds per generation before its browse and search pages answer
(facet table, browse views, sources' mean vectors), on a real generation and on synthetic large ones.

    # a synthetic generation: the real one's sources copied COPIES times (new ids, shifted years),
    # PER passages each, written through the store API as an ingest writes them, then published
    .venv/bin/python benchmarks/bench_pages.py make --template /work/bench-data/corpora-v2 \
        --data-dir /tmp/kb-pages-33k --copies 106 --per-source 30
    # a generation made before the stored pages existed: add them in place (benchmark data only)
    .venv/bin/python benchmarks/bench_pages.py prepare --data-dir /tmp/kb-pages-33k
    # start-up of a fresh worker process, ROUNDS times (each in a new process: cold Python caches)
    .venv/bin/python benchmarks/bench_pages.py startup --data-dir /tmp/kb-pages-33k --rounds 3

Figures go to docs/benchmarks.md ("Worker start-up at scale (issue 16)").
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from haystack import Document
from haystack.document_stores.types import DuplicatePolicy

from index import offline  # noqa: F401
from index.settings import load_settings
from index.storage import open_generation
from index.storage.contract import Manifest
from index.storage.layout import COUNCILS_FILE, PROJECTS_FILE
from index.storage.local.datadir import DataDir


def make(template_dir: Path, data_dir: Path, copies: int, per_source: int) -> None:
    settings = load_settings(env={}, overrides={"data_dir": template_dir, "canaries": ""})
    template = open_generation(settings)
    store = template.store
    ids = store.source_ids()
    records = [r for r in (store.get_source(i) for i in ids) if r is not None and not r.duplicate_of]
    passages = {r.id: store.source_documents(r.id)[:per_source] for r in records}
    data = DataDir(data_dir)
    build = data.begin()
    rng = random.Random(16)
    started = time.perf_counter()
    written = 0
    for k in range(copies):
        for record in records:
            new_id = f"{record.id}-{k}"
            date = record.date
            if date:
                date = str(int(date[:4]) - rng.randrange(12)) + date[4:]
            build.store.write_source(replace(record, id=new_id, source=f"{record.source}#copy{k}", date=date,
                                             alternates=()))
            docs = [Document(id=f"{d.id}-{k}", content=d.content, meta={**d.meta, "source_id": new_id},
                             embedding=d.embedding) for d in passages[record.id]]
            if docs:
                build.store.write_documents(docs, policy=DuplicatePolicy.OVERWRITE)
                written += len(docs)
        print(f"copy {k + 1}/{copies}: {written} passages, {time.perf_counter() - started:.0f} s", flush=True)
    for name in (PROJECTS_FILE, COUNCILS_FILE):
        shutil.copy(template.path / name, build.path / name)
    prepare = _prepare()
    if prepare is not None:
        prepare(build)
    manifest = Manifest(**{**template.manifest.to_dict(), "generation": build.id,
                           "sources": build.store.count_sources(), "passages": build.store.count_documents(),
                           "source_hashes": {}})
    data.publish(build, manifest, keep=3)
    print(f"published {build.id}: {manifest.sources} sources, {manifest.passages} passages, "
          f"{time.perf_counter() - started:.0f} s")


def prepare_live(data_dir: Path) -> None:
    """Add the stored pages to a data directory's live generation made before they existed (in place: for
    benchmark data only; a real generation gets them from its build)."""
    from index.browse.pages import prepare
    from index.storage.contract import Build
    from index.storage.layout import CHUNKS_FILE
    from index.storage.local.store import KBDocumentStore

    data = DataDir(data_dir)
    gen_id = data.current_id()
    path = data.generations / gen_id
    store = KBDocumentStore(path / CHUNKS_FILE)
    started = time.perf_counter()
    prepare(Build(gen_id, path, store))
    store.finalise()
    print(f"prepared {gen_id} in {time.perf_counter() - started:.1f} s")


def _prepare():
    try:
        from index.browse.pages import prepare
    except ImportError:  # before the stored pages existed
        return None
    return prepare


def startup(data_dir: Path) -> dict[str, float]:
    """One worker's start-up in this process: open the generation, then what its pages build."""
    from index.served import ServedGeneration

    logging.disable(logging.WARNING)
    settings = load_settings(env={}, overrides={"data_dir": data_dir, "canaries": ""})
    times: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        times[name] = round((now - mark) * 1000, 1)
        mark = now

    generation = open_generation(settings)
    served = ServedGeneration(settings, generation)
    lap("open_ms")
    served.facet_table  # noqa: B018
    lap("facet_table_ms")
    browse = served.browse
    lap("browse_ms")
    first = next(iter(browse.sources))
    browse.related_documents(first)
    lap("related_first_ms")
    browse.related_documents(list(browse.sources)[len(browse.sources) // 2])
    lap("related_next_ms")
    browse.by_year(browse.sources)
    lap("by_year_all_ms")
    times["total_ms"] = round(sum(times.values()), 1)
    times["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    times["sources"] = len(browse.sources)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("--template", type=Path, required=True)
    m.add_argument("--data-dir", type=Path, required=True)
    m.add_argument("--copies", type=int, default=106)
    m.add_argument("--per-source", type=int, default=30)
    p = sub.add_parser("prepare")
    p.add_argument("--data-dir", type=Path, required=True)
    s = sub.add_parser("startup")
    s.add_argument("--data-dir", type=Path, required=True)
    s.add_argument("--rounds", type=int, default=3)
    s.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.command == "make":
        make(args.template, args.data_dir, args.copies, args.per_source)
    elif args.command == "prepare":
        prepare_live(args.data_dir)
    elif args.once:
        print(json.dumps(startup(args.data_dir)))
    else:
        for _ in range(args.rounds):
            out = subprocess.run([sys.executable, __file__, "startup", "--data-dir", str(args.data_dir), "--once"],
                                 check=True, capture_output=True, text=True).stdout
            print(out.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
