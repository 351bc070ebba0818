"""Benchmark: a re-index after changing 1% of 5,000 documents, against a full build, same run.

    .venv/bin/python benchmarks/bench_reindex.py [--eval-dir ../shared/eval/msmarco-5k] [--work bench-data]

Writes each msmarco-5k passage as its own text file, builds the index from scratch with a cold
embedding cache (the full build), changes 1% of the files (50), and times `run_reindex` on them.
Prints a Markdown table for docs/benchmarks.md. The quality gate is off here (no canaries).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index import offline  # noqa: E402,F401
from index.settings import load_settings  # noqa: E402
from ingest.reindex import run_reindex  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval" / "msmarco-5k")
    parser.add_argument("--work", type=Path, default=ROOT / "bench-data")
    parser.add_argument("--change", type=float, default=0.01, help="Fraction of files to change.")
    args = parser.parse_args()
    source_dir, data_dir = args.work / "reindex-src", args.work / "reindex-data"
    for path in (source_dir, data_dir):
        shutil.rmtree(path, ignore_errors=True)
    source_dir.mkdir(parents=True)
    files = []
    for line in (args.eval_dir / "corpus.jsonl").read_text(encoding="utf-8").split("\n"):
        if line.strip():
            row = json.loads(line)
            path = source_dir / f"{row['_id']}.txt"
            path.write_text(row["text"], encoding="utf-8")
            files.append(path)
    settings = load_settings(env={}, overrides={"data_dir": data_dir, "sources": str(source_dir), "canaries": ""})

    started = time.perf_counter()
    full = run_reindex(None, settings)
    full_s = time.perf_counter() - started

    step = max(1, round(1 / args.change))
    changed = files[::step][: max(1, round(len(files) * args.change))]
    for path in changed:
        path.write_text(path.read_text(encoding="utf-8") + " Updated with a new closing sentence.", encoding="utf-8")
    started = time.perf_counter()
    incremental = run_reindex(None, settings)
    incremental_s = time.perf_counter() - started

    print("| run | files changed | passages embedded | passages reused | seconds | ratio to full |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| full build, cold cache | {full.added} added | {full.passages_embedded} | {full.passages_reused} "
          f"| {full_s:.1f} | 1.00 |")
    print(f"| re-index after changing {len(changed)} of {len(files)} files | {incremental.changed} changed "
          f"| {incremental.passages_embedded} | {incremental.passages_reused} | {incremental_s:.1f} "
          f"| {incremental_s / full_s:.3f} |")


if __name__ == "__main__":
    main()
