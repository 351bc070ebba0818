"""Print the nDCG@10 tables (overall and per kind) of ``kb eval --json`` reports, for README.md's Baseline.

    python eval/csc-practice/baseline.py eval/csc-practice/baseline/*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def table(path: Path) -> str:
    report = json.loads(path.read_text(encoding="utf-8"))
    methods = list(report["methods"])
    rows = [f"{path.stem} ({report['judged_queries']} queries, split {report['split']})",
            "| | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for measure in ("nDCG@10", "Recall@100", "MRR@10"):
        rows.append(f"| {measure} | " + " | ".join(f"{report['methods'][m][measure]:.4f}" for m in methods) + " |")
    for kind, scores in sorted(report["by_kind"].items()):
        rows.append(f"| nDCG@10 {kind} | " + " | ".join(f"{scores[m]['nDCG@10']:.4f}" for m in methods) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    print("\n\n".join(table(Path(p)) for p in sys.argv[1:]))
