"""What an export or a feed costs at its bound: writing EXPORT_LIMIT (500) sources as RIS, BibTeX, CSV
and Atom, with the libraries the web app uses (the search's ranking and the record lookup are
measured elsewhere: bench_search.py, bench_web.py).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_takeaway.py --sources 500 --rounds 7

Prints the median and the fastest of ROUNDS per format, and the size of each file.
Figures go to docs/benchmarks.md ("Exports and feeds (issue 14)").
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from webapp.takeaway import EXPORT_LIMIT, Entry, atom_feed, bibtex, csv_text, ris

PUBLISHERS = ["Ofsted", "Community Care", "Children & Young People Now", "Department for Education", None]
TYPES = ["report", "inspection", "article", "blog", "news", "evaluation"]


def entries(n: int, seed: int = 14) -> list[Entry]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        year = rng.randint(2012, 2026)
        out.append(Entry(
            source_id=f"{rng.getrandbits(64):016x}",
            title=f"Innovation in children's social care: {rng.choice(['edge of care', 'kinship', 'Signs of Safety'])}"
                  f" report {i} (50% & more_{i})",
            type=rng.choice(TYPES), authors=tuple(f"Author {j} Surname{i}" for j in range(rng.randint(0, 3))),
            publisher=rng.choice(PUBLISHERS), date=f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            url=f"https://www.example.gov.uk/reports/{i}" if rng.random() < 0.7 else None,
            page_url=f"https://kb.example/documents/{i:016x}",
            first_indexed=f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}T02:00:00+00:00"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=EXPORT_LIMIT)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    items = entries(args.sources)
    accessed = date(2026, 11, 24)
    writers = {
        "ris": lambda: ris(items, accessed),
        "bibtex": lambda: bibtex(items, accessed),
        "csv": lambda: csv_text(items, accessed),
        "atom": lambda: atom_feed(items, title="bench", self_url="https://kb.example/search.atom?q=x",
                                  page_url="https://kb.example/search?q=x", fallback="2026-01-01T00:00:00+00:00"),
    }
    print(f"{args.sources} sources, {args.rounds} rounds")
    for name, write in writers.items():
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            body = write()
            times.append((time.perf_counter() - started) * 1000)
        print(f"{name:7s} median {statistics.median(times):7.1f} ms  fastest {min(times):7.1f} ms  "
              f"{len(body.encode('utf-8')) / 1024:7.1f} KiB")


if __name__ == "__main__":
    main()
