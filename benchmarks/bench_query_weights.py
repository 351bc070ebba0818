"""Experiment (kept so its figures can be reproduced; not in the product): query-dependent fusion
weights. When no passage holds every query word (the strict lexical query finds nothing) the
dense retriever gets weight HIGH, otherwise LOW.

    .venv/bin/python benchmarks/bench_query_weights.py 0.8 0.6

Uses the indexes benchmarks/bench_ranking.py keeps in /tmp/kb-eval. Result in docs/ranking.md:
no pair of weights gains on both collections, so production keeps one fixed weight.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index import offline  # noqa: F401
from index.search import searcher as search
from index.settings import load_settings
from kbcli.evaluate import run_eval

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    high, low = float(sys.argv[1]), float(sys.argv[2])
    logging.disable(logging.WARNING)
    original = search.Searcher._candidates

    def candidates(self, parsed, n, filters, fusion, rerank=True):
        widened = self.synonyms.expand(parsed) if self.synonyms else parsed
        strict = self.store.bm25_retrieval(widened.strict_match(), top_k=1, filters=filters, with_content=False)
        self.settings = self.settings.replace(dense_weight=low if strict else high)
        return original(self, parsed, n, filters, fusion, rerank)

    search.Searcher._candidates = candidates
    for name in ("csc-seeds", "msmarco-5k"):
        report = run_eval(ROOT / "eval" / name, load_settings(env={}), Path("/tmp/kb-eval") / name,
                          methods=("production",))
        print(f"{name}: dense {high} without a strict match, {low} with one: {report.methods['production'].to_dict()}")


if __name__ == "__main__":
    main()
