"""Ranking sweep: nDCG@10 / Recall@100 of each fusion setting on the test collections in eval/.

    .venv/bin/python benchmarks/bench_ranking.py [--data-root /tmp/kb-eval] [--collections csc-seeds,msmarco-5k]

Each collection is ingested once into DATA_ROOT/<name> (reused on later runs); every variant is
the production ranking under changed settings, so any row can be reproduced with
``KB_<SETTING>=value kb eval eval/<name>``. Figures go to docs/ranking.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index import offline  # noqa: F401
from index.settings import load_settings
from kbcli.evaluate import run_eval

ROOT = Path(__file__).resolve().parents[1]

# name → settings changed from the defaults
VARIANTS: dict[str, dict[str, object]] = {
    "defaults (production)": {},
    "rrf, equal weights (plain RRF)": {"fusion": "rrf", "dense_weight": 0.5},
    "rrf, dense 0.7": {"fusion": "rrf", "dense_weight": 0.7},
    "weighted, dense 0.5": {"dense_weight": 0.5},
    "weighted, dense 0.7": {"dense_weight": 0.7},
    "weighted, dense 0.8": {"dense_weight": 0.8},
    "no proximity boost": {"proximity_boost": 0.0},
    "proximity boost 0.25": {"proximity_boost": 0.25},
    "no synonyms": {"synonyms": False},
    "title weight 0 (text only)": {"title_weight": 0.0},
    "title weight 1": {"title_weight": 1.0},
    "title weight 2": {"title_weight": 2.0},
    "full-precision query encoder": {"query_int8": False},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="/tmp/kb-eval", help="where each collection's index is kept")
    parser.add_argument("--collections", default="csc-seeds,msmarco-5k")
    parser.add_argument("--variants", default="", help="comma-separated names (default: all)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    wanted = [v.strip() for v in args.variants.split(",") if v.strip()] or list(VARIANTS)
    base = load_settings(env={})
    for name in args.collections.split(","):
        dataset = ROOT / "eval" / name
        data_dir = Path(args.data_root) / name
        singles = run_eval(dataset, base, data_dir, methods=("lexical", "dense"))
        best = max(s.ndcg10 for s in singles.methods.values())
        print(f"\n## {name} ({singles.judged_queries} judged queries)\n")
        print("| method | nDCG@10 | Recall@100 | MRR@10 | vs better single |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for method, scores in singles.methods.items():
            row = " | ".join(f"{v:.4f}" for v in (scores.ndcg10, scores.recall100, scores.mrr10))
            print(f"| {method} only | {row} | |")
        for variant in wanted:
            settings = base.replace(**VARIANTS[variant])
            scores = run_eval(dataset, settings, data_dir, methods=("production",)).methods["production"]
            print(f"| {variant} | {scores.ndcg10:.4f} | {scores.recall100:.4f} | {scores.mrr10:.4f} | "
                  f"{scores.ndcg10 - best:+.4f} |", flush=True)


if __name__ == "__main__":
    main()
