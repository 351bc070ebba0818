"""Passage embedding: passages/s of each embedding backend and how close its vectors are to torch's.

    .venv/bin/python benchmarks/bench_embed.py [--passages 1000] [--runs 3] [--backends torch,onnx,onnx-int8]
    .venv/bin/python benchmarks/bench_embed.py --threads 1   # per-thread rates on a busy machine
    .venv/bin/python benchmarks/bench_embed.py --ranking [--data-root /tmp/kb-embed-eval]

The passages are real ones: the ``chunks.content`` of an index generation (``--chunks``, a chunks.sqlite), or
else the passages of the test collection csc-seeds. Each run embeds all of them once per backend, the
backends taking turns (torch, onnx, ..., torch, onnx, ...) so that a busy neighbour on a shared machine slows
each about equally; the figure is the median run. Agreement is the cosine of each passage's vector to the
torch one (the vectors are normalised). With ``--ranking``, each test collection is ingested once per backend
(into DATA_ROOT/<backend>/<collection>) and scored with the production ranking, as bench_ranking.py does.
Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from haystack import Document

from index import offline  # noqa: F401
from index.embedding.encoders import document_embedder
from index.settings import EMBEDDING_BACKENDS, load_settings

ROOT = Path(__file__).resolve().parents[1]


def real_passages(chunks: Path | None, count: int) -> list[str]:
    """``count`` passages spread evenly over an index's chunks (or the csc-seeds collection's passages)."""
    if chunks is not None:
        with sqlite3.connect(f"file:{chunks}?mode=ro", uri=True) as db:
            texts = [r[0] for r in db.execute("SELECT content FROM chunks WHERE content IS NOT NULL ORDER BY rowid")]
    else:
        lines = (ROOT / "eval" / "csc-seeds" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
        texts = [json.loads(line)["text"] for line in lines if line.strip()]
    step = max(1, len(texts) // count)
    return texts[::step][:count]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


def speed(args: argparse.Namespace) -> None:
    texts = real_passages(Path(args.chunks) if args.chunks else None, args.passages)
    words = statistics.mean(len(t.split()) for t in texts)
    docs = [Document(content=t) for t in texts]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    embedders = {}
    for backend in backends:
        settings = load_settings(env={}, overrides={"data_dir": args.data_dir, "embedding_backend": backend,
                                                    "embed_batch_size": args.batch_size})
        embedders[backend] = document_embedder(settings)
        if args.threads:
            # One thread each: on a machine others are using, passages per CPU-second of a single thread (times
            # the cores) estimates what the idle cores would do, without threads waiting on each other.
            if backend == "torch":
                import torch

                torch.set_num_threads(args.threads)
            else:
                embedders[backend].threads = args.threads
        started = time.perf_counter()
        embedders[backend].warm_up()
        embedders[backend].run(documents=docs[:8])
        print(f"{backend}: ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    rates: dict[str, list[float]] = {b: [] for b in backends}
    cpu_rates: dict[str, list[float]] = {b: [] for b in backends}
    vectors: dict[str, np.ndarray] = {}
    loads = [load()]
    for run in range(args.runs):
        for backend in backends:
            started, cpu = time.perf_counter(), time.process_time()
            out = embedders[backend].run(documents=docs)["documents"]
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            rates[backend].append(len(docs) / wall)
            # Passages per CPU-second times the cores: what the cores would do with nobody else on them.
            cpu_rates[backend].append(len(docs) / cpu * (os.cpu_count() or 1))
            vectors[backend] = np.asarray([d.embedding for d in out], dtype=np.float32)
            print(f"run {run + 1} {backend}: {rates[backend][-1]:.1f} passages/s (load {load()})", file=sys.stderr)
        loads.append(load())
    print(f"\n{len(docs)} passages, {words:.0f} words on average; {args.runs} runs, median; batch "
          f"{args.batch_size}; {args.threads or os.cpu_count()} threads, {os.cpu_count()} cores; load average "
          f"(1/5 min) during the runs: {', '.join(loads)}\n")
    print("| backend | passages/s (median) | runs | per CPU-second x cores | vs torch | min cosine to torch "
          "| mean cosine |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    base = statistics.median(rates["torch"]) if "torch" in rates else None
    for backend in backends:
        median = statistics.median(rates[backend])
        row = f"| {backend} | {median:.1f} | {', '.join(f'{r:.1f}' for r in rates[backend])} | " \
              f"{statistics.median(cpu_rates[backend]):.1f} | "
        row += f"{median / base:.2f}x | " if base else "- | "
        if "torch" in vectors:
            cosines = (vectors[backend] * vectors["torch"]).sum(axis=1)
            row += f"{cosines.min():.4f} | {cosines.mean():.4f} |"
        else:
            row += "- | - |"
        print(row)


def ranking(args: argparse.Namespace) -> None:
    from kbcli.evaluate import run_eval

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    print("| collection | backend | method | nDCG@10 | Recall@100 | MRR@10 | nDCG@10 vs torch |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    for name in args.collections.split(","):
        reference: dict[str, float] = {}
        for backend in backends:
            settings = load_settings(env={}, overrides={"embedding_backend": backend})
            started = time.perf_counter()
            report = run_eval(ROOT / "eval" / name, settings, Path(args.data_root) / backend / name,
                              methods=("dense", "production"))
            for method, scores in report.methods.items():
                if backend == "torch":
                    reference[method] = scores.ndcg10
                delta = f"{scores.ndcg10 - reference[method]:+.4f}" if method in reference else "-"
                print(f"| {name} | {backend} | {method} | {scores.ndcg10:.4f} | {scores.recall100:.4f} | "
                      f"{scores.mrr10:.4f} | {delta} |", flush=True)
            print(f"{name} {backend}: {time.perf_counter() - started:.0f} s", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--backends", default=",".join(("torch", *[b for b in EMBEDDING_BACKENDS if b != "torch"])),
                        help="comma-separated, torch first (the reference)")
    parser.add_argument("--threads", type=int, default=0, help="threads per engine (default: every core)")
    parser.add_argument("--chunks", default="", help="a generation's chunks.sqlite to take passages from")
    parser.add_argument("--data-dir", default="/tmp/kb-embed-bench", help="holds the ONNX export cache")
    parser.add_argument("--ranking", action="store_true", help="score the test collections per backend instead")
    parser.add_argument("--data-root", default="/tmp/kb-embed-eval", help="--ranking: where the indexes are kept")
    parser.add_argument("--collections", default="csc-seeds,msmarco-5k")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    if args.ranking:
        ranking(args)
    else:
        speed(args)


if __name__ == "__main__":
    main()
