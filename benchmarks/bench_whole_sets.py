"""What the whole match costs at scale (issue 23): every source holding a word, and every source close in meaning.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_whole_sets.py --data-dir /tmp/shall-data --passages 1000000

The two parts of :func:`index.search.matching.match_sources` that grow with the index, measured at
``--passages`` passages built here from a real generation's own passages and vectors:

- **Words**: a tantivy index of the real passages copied until it holds ``--passages`` (each copy a new set of
  sources of the same sizes, so a word's sources grow with the index), then
  :meth:`LexicalIndex.source_counts` for the corpus's most frequent word, a middling one and a rare one.
- **Meaning**: an ``IVF<lists>,SQ8`` index (what :func:`choose_factory` builds at that size) of the real vectors
  with Gaussian noise (σ 0.05 a dimension, renormalised, so that copies are not duplicates), range-searched at
  the ``meaning_floor`` with the ``ann_nprobe`` setting, for the embeddings of real queries
  (``eval/csc-reports`` and ``eval/csc-practice``), each asked once.

Prints p50 and p95 of each, and of their sum (what the whole match adds to a search, the two run one after the
other). Figures: docs/benchmarks.md, "Whole result sets at a million passages".
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, ".")

from index import offline  # noqa: F401
from index.search.query import Term
from index.settings import load_settings
from index.storage.contract import LexicalRow
from index.storage.local.lexical import LexicalIndex
from index.storage.local.vectors import choose_factory

ROOT = Path(__file__).resolve().parent.parent
QUERY_FILES = (ROOT / "eval" / "csc-reports" / "queries.jsonl", ROOT / "eval" / "csc-practice" / "queries.jsonl")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def real_passages(data_dir: Path) -> tuple[list[tuple[str, str, str]], np.ndarray]:
    generation = data_dir / "generations" / (data_dir / "CURRENT").read_text().strip()
    conn = sqlite3.connect(generation / "chunks.sqlite")
    rows = conn.execute("SELECT c.source_id, coalesce(c.title, ''), c.content, c.embedding FROM chunks c "
                        "WHERE c.embedding IS NOT NULL ORDER BY c.rowid").fetchall()
    vectors = np.vstack([np.frombuffer(r[3], dtype=np.float32) for r in rows])
    return [(r[0], r[1], r[2]) for r in rows], vectors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args(argv)
    settings = load_settings(env={})
    passages, vectors = real_passages(args.data_dir)
    copies = -(-args.passages // len(passages))
    print(f"{len(passages)} real passages x {copies} copies", flush=True)
    out: dict[str, object] = {"passages": args.passages}
    with tempfile.TemporaryDirectory(prefix="kb-whole-") as tmp:
        started = time.perf_counter()

        def rows():
            rowid = 0
            for copy in range(copies):
                for source_id, title, content in passages:
                    if rowid >= args.passages:
                        return
                    yield LexicalRow(rowid, f"{source_id}-{copy}", title, content)
                    rowid += 1

        LexicalIndex.build(Path(tmp) / "lexical", rows())
        print(f"tantivy index built in {time.perf_counter() - started:.0f} s", flush=True)
        index = LexicalIndex.open(Path(tmp) / "lexical")
        # Words by how many of the real passages hold them: the most frequent, a middling and a rare one.
        words = {"most frequent": "children", "middling": "neglect", "rare": "mockingbird"}
        word_times: dict[str, list[float]] = {}
        for label, word in words.items():
            times = []
            for _ in range(20):
                t = time.perf_counter()
                found = index.source_counts([Term((word,))])[0]
                times.append((time.perf_counter() - t) * 1000)
            word_times[label] = times
            print(f"words, {label} ({word!r}, {len(found)} sources): p50 {statistics.median(times):.1f} ms, "
                  f"p95 {percentile(times, 0.95):.1f} ms", flush=True)
        out["words"] = {k: {"p50": statistics.median(v), "p95": percentile(v, 0.95)} for k, v in word_times.items()}

    rng = np.random.default_rng(7)
    factory = choose_factory("auto", args.passages)
    matrix = np.empty((args.passages, vectors.shape[1]), dtype=np.float32)
    for start in range(0, args.passages, len(vectors)):
        part = vectors[: min(len(vectors), args.passages - start)]
        noisy = part + rng.normal(0, 0.05, part.shape).astype(np.float32) if start else part
        matrix[start : start + len(part)] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    started = time.perf_counter()
    vector_index = faiss.index_factory(matrix.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    vector_index.train(matrix[rng.choice(len(matrix), min(len(matrix), 100_000), replace=False)])
    vector_index.add(matrix)
    print(f"{factory} built in {time.perf_counter() - started:.0f} s", flush=True)
    from index.embedding.encoders import query_embedder

    embedder = query_embedder(settings)
    queries = [json.loads(line)["text"] for f in QUERY_FILES for line in f.open()]
    faiss.omp_set_num_threads(1)
    params = faiss.SearchParametersIVF() if "IVF" in factory else faiss.SearchParameters()
    if "IVF" in factory:
        params.nprobe = settings.ann_nprobe
    meaning, found_counts = [], []
    for text in queries:
        query = np.asarray(embedder.embed(text), dtype=np.float32).reshape(1, -1)
        t = time.perf_counter()
        limits, _, _ = vector_index.range_search(query, settings.meaning_floor, params=params)
        meaning.append((time.perf_counter() - t) * 1000)
        found_counts.append(int(limits[1] - limits[0]))
    print(f"meaning ({len(queries)} real queries, nprobe {settings.ann_nprobe}, floor {settings.meaning_floor}): "
          f"p50 {statistics.median(meaning):.1f} ms, p95 {percentile(meaning, 0.95):.1f} ms; passages above the "
          f"floor: median {statistics.median(found_counts):.0f}", flush=True)
    worst_word = out["words"]["most frequent"]  # type: ignore[index]
    print(f"whole match, the most frequent word: p95 about {worst_word['p95'] + percentile(meaning, 0.95):.1f} ms "
          "(words p95 + meaning p95)")
    out["meaning"] = {"p50": statistics.median(meaning), "p95": percentile(meaning, 0.95)}
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
