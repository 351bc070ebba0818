"""Benchmark: what `kb harvest` costs on the test sources (three feeds, a sitemap, a listing page), run three times.

    .venv/bin/python benchmarks/bench_harvest.py [--delay 1.0] [--reindex] [--work bench-data]

Serves the done-when scenario of tests/test_harvest_scenario.py on the loopback (the tests' sample
texts as pages, one PDF), then harvests it: a first run (everything new), a second after the site
changed (a new post, a removed article, a revised report) and a third with nothing changed. Prints
each run's report figures (requests, 304s, bytes, seconds) as a Markdown table for
docs/benchmarks.md. With --reindex, each harvest is followed by `kb reindex` of the mirror (the
nightly pair), timed too. The delay between requests to one host is the harvest_delay setting
(default 1 s, what operators get): on one host, it is most of the time.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index import offline  # noqa: E402,F401
from index.settings import load_settings  # noqa: E402
from ingest.harvest.run import run_harvest  # noqa: E402
from ingest.harvest.sources import load_sources  # noqa: E402
from tests.ingest.fixtures import make_pdf  # noqa: E402
from tests.ingest.harvest_scenario import change, publish, sources_yaml  # noqa: E402
from tests.ingest.harvest_site import Site  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delay", type=float, default=1.0, help="harvest_delay (seconds between requests to a host).")
    parser.add_argument("--reindex", action="store_true", help="Re-index the mirror after each harvest.")
    parser.add_argument("--work", type=Path, default=ROOT / "bench-data")
    args = parser.parse_args()
    work = args.work / "harvest"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    mirror = work / "mirror"
    settings = load_settings(env={}, overrides={
        "data_dir": work / "data", "sources": str(mirror), "canaries": "", "projects": "",
        "harvest_contact": "bench@example.org", "harvest_delay": args.delay})
    pdf = work / "report.pdf"
    make_pdf(pdf)
    rows = []
    with Site() as site:
        publish(site, pdf.read_bytes())
        (work / "sources.yaml").write_text(sources_yaml(site.origin), encoding="utf-8")
        specs = load_sources(work / "sources.yaml")
        for name in ("first (all new)", "second (1 new, 1 removed, 1 revised)", "third (nothing changed)"):
            if name.startswith("second"):
                change(site)
            report = run_harvest(specs, mirror, settings)
            t = report.totals()
            row = (f"| {name} | {t['requests']} | {t['not_modified']} | {t['bytes'] / 1024:.1f} KiB | "
                   f"{t['new']} / {t['changed']} / {t['unchanged']} / {t['gone']} / {t['skipped']} | "
                   f"{report.seconds:.2f} s |")
            if args.reindex:
                from ingest.reindex import run_reindex

                started = time.perf_counter()
                indexed = run_reindex(None, settings)
                row += (f" {indexed.added} added, {indexed.changed} changed, "
                        f"{'published' if indexed.published else 'nothing published'}, "
                        f"{time.perf_counter() - started:.1f} s |")
            rows.append(row)
            print(report.summary(), file=sys.stderr)
    head = "| run | requests | 304s | bytes | new / changed / unchanged / gone / skipped | harvest time |"
    rule = "| --- | ---: | ---: | ---: | --- | ---: |"
    if args.reindex:
        head += " reindex |"
        rule += " --- |"
    print(f"harvest_delay {args.delay:g} s, 5 sources on one host (loopback)\n")
    print("\n".join([head, rule, *rows]))


if __name__ == "__main__":
    main()
