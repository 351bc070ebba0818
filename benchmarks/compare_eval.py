"""Two ``kb eval --json`` reports of the same queries compared query by query, with a paired test.

    .venv/bin/python benchmarks/compare_eval.py BEFORE.json AFTER.json [--method production] [--markdown]

For every kind of query the reports give (``"kind"`` in queries.jsonl) and for all of them: nDCG@10 before
and after, the difference, a two-sided paired randomisation test's p (sign flips, 20,000 draws) and a 95%
paired bootstrap interval of the difference (:func:`index.evaluation.paired_test`, the test
``bench_loco.py`` reports for each held-out collection). ``--against METHOD`` compares two methods of one
report instead (AFTER.json is then not read).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.evaluation import CollectionError, PairedTest, paired_test


def per_query(report: dict[str, Any], method: str, path: str) -> dict[str, float]:
    figures = report.get("per_query", {}).get(method)
    if figures is None:
        raise CollectionError(f"{path} has no per-query figures for {method!r}: run kb eval --json with this version "
                              f"and --methods including {method}.")
    return {str(q): float(v) for q, v in figures.items()}


def rows(a: dict[str, float], b: dict[str, float], kinds: dict[str, str]) -> list[tuple[str, PairedTest]]:
    out = [("all", paired_test(a, b))]
    for kind in sorted(set(kinds.values())):
        ids = [q for q in a if kinds.get(q) == kind]
        out.append((kind, paired_test({q: a[q] for q in ids}, {q: b[q] for q in ids if q in b})))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after", nargs="?")
    parser.add_argument("--method", default="production", help="the method compared (default production)")
    parser.add_argument("--against", help="compare --method with this method of BEFORE.json instead")
    args = parser.parse_args()
    before = json.loads(Path(args.before).read_text(encoding="utf-8"))
    if args.against:
        a, b = per_query(before, args.against, args.before), per_query(before, args.method, args.before)
        kinds = before.get("kinds", {})
    else:
        if not args.after:
            parser.error("give AFTER.json, or --against METHOD")
        after = json.loads(Path(args.after).read_text(encoding="utf-8"))
        a, b = per_query(before, args.method, args.before), per_query(after, args.method, args.after)
        kinds = before.get("kinds", {}) or after.get("kinds", {})
    print("| queries | n | before | after | difference | p (randomisation) | 95% CI |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, test in rows(a, b, kinds):
        print(f"| {name} | {test.queries} | {test.mean_a:.4f} | {test.mean_b:.4f} | {test.difference:+.4f} | "
              f"{test.p:.3f} | [{test.low:+.4f}, {test.high:+.4f}] |")


if __name__ == "__main__":
    main()
