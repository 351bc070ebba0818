"""Recall@10 of IVF variants against exact search, on a generation's stored vectors and real queries.

How `faiss_factory = auto` and `ann_nprobe` were chosen (docs/benchmarks.md, "Choosing the probe").

Usage (from the repository root; a generation kept by ``bench_scale.py --keep``)::

    .venv/bin/python benchmarks/bench_ann_recall.py --data-dir /work/scale/gen-1000000 \
        --factories "IVF4096,SQ8;IVF4096,SQfp16" --nprobe 64,128,256
"""

from __future__ import annotations

import argparse
import importlib
import json
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
importlib.import_module("index.offline")

import faiss  # noqa: E402

from index.embedding.encoders import query_embedder  # noqa: E402
from index.settings import load_settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--factories", default="IVF4096,SQ8;IVF4096,SQfp16", help="';'-separated factory strings")
    parser.add_argument("--nprobe", default="64,128,256")
    parser.add_argument("--queries", default=str(ROOT / "eval/csc-reports/queries.jsonl"))
    args = parser.parse_args()
    data = Path(args.data_dir)
    generation = data / "generations" / (data / "CURRENT").read_text().strip()
    conn = sqlite3.connect(generation / "chunks.sqlite")
    rows = conn.execute("SELECT embedding FROM chunks WHERE embedding IS NOT NULL ORDER BY rowid")
    matrix = np.vstack([np.frombuffer(r[0], dtype=np.float32) for r in rows])
    embedder = query_embedder(load_settings(env={}))
    texts = [json.loads(line)["text"] for line in Path(args.queries).read_text(encoding="utf-8").splitlines()]
    queries = np.asarray([embedder.embed(t) for t in texts], dtype=np.float32)
    exact = faiss.IndexFlatIP(matrix.shape[1])
    exact.add(matrix)
    _, truth = exact.search(queries, 10)
    rng = np.random.default_rng(0)
    for factory in args.factories.split(";"):
        index = faiss.index_factory(matrix.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.extract_index_ivf(index)
        started = time.perf_counter()
        index.train(matrix[rng.choice(len(matrix), min(len(matrix), 64 * ivf.nlist), replace=False)])
        index.add(matrix)
        built = time.perf_counter() - started
        for nprobe in (int(n) for n in args.nprobe.split(",")):
            ivf.nprobe = nprobe
            _, found = index.search(queries, 10)
            recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)]))
            faiss.omp_set_num_threads(1)
            started = time.perf_counter()
            for query in queries[:20]:
                index.search(query[None], 100)
            per_query = (time.perf_counter() - started) / 20 * 1000
            faiss.omp_set_num_threads(2)
            print(json.dumps({"factory": factory, "build_s": round(built, 1), "nprobe": nprobe,
                              "recall_at_10": round(recall, 4), "ms_per_query": round(per_query, 2)}))


if __name__ == "__main__":
    main()
