"""Check what the Ofsted template reads from each inspection report against Ofsted's overview spreadsheet.

For every report that is the inspection its council's spreadsheet row describes (same publication
date), compares the inspection dates, lead inspector and each judgement; values the spreadsheet
lacks (empty, ``nan``, ``inspection_pre_dates_judgement``) are skipped. Text is read as the
ingest reads it (the PDF converter), first pages only.

    .venv/bin/python benchmarks/check_inspections.py [--corpus ../shared/corpora/ofsted-ilacs] [--verbose]

Prints one line per mismatch (with --verbose) and the share of reports whose every checked value
agrees. Needs openpyxl (a dev dependency) for the spreadsheet.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index import offline  # noqa: E402,F401
from ingest.templates import recognise  # noqa: E402
from scripts.import_ofsted_overview import read_overview  # noqa: E402

SKIP = {"", "nan", "none", "inspection_pre_dates_judgement"}
GRADES = {"impact_of_leaders_grade": "impact_of_leaders", "help_and_protection_grade": "help_and_protection",
          "in_care_grade": "in_care", "care_leavers_grade": "care_leavers",
          "overall_effectiveness_grade": "overall_effectiveness"}


def iso_date(value: str, year_digits: int) -> str | None:
    try:
        return datetime.strptime(value.strip(), "%d/%m/%y" if year_digits == 2 else "%d/%m/%Y").date().isoformat()
    except ValueError:
        return None


def compared(row: dict[str, str], inspection: Any, published: str | None
             ) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """What the spreadsheet row says and what was read from the report, value by value."""
    expected = {"start": iso_date(row["inspection_start_date"], 4), "end": iso_date(row["inspection_end_date"], 4),
                "published": published, "lead_inspector": None if row["inspector_name"].strip().lower() in SKIP
                else row["inspector_name"].strip().lower()}
    got = {"start": inspection.start, "end": inspection.end, "published": inspection.published,
           "lead_inspector": (inspection.lead_inspector or "").lower() or None}
    for column, area in GRADES.items():
        if row[column].strip().lower() not in SKIP:
            expected[area] = row[column].strip().lower()
            got[area] = inspection.grade(area)
    return expected, got


def first_pages(path: Path, pages: int = 3) -> str:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    try:
        return "\f".join(document[i].get_textpage().get_text_range() for i in range(min(pages, len(document))))
    finally:
        document.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpora" / "ofsted-ilacs")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    reports = {p.stem: p for p in (args.corpus / "reports").glob("*.pdf")}
    checked = agreed = 0
    values: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    recognised = sum(1 for p in reports.values() if recognise(first_pages(p), str(p)) is not None)
    for row in read_overview(args.corpus / "ofsted_csc_ilacs_overview.xlsx"):
        published = iso_date(row["publication_date"], 2)
        stem = f"{row['local_authority'].replace(' ', '-')}_{published}"
        if published is None or stem not in reports:
            continue
        found = recognise(first_pages(reports[stem]), str(reports[stem]))
        checked += 1
        if found is None or found.inspection is None:
            wrong["not recognised"] += 1
            continue
        inspection = found.inspection
        expected, got = compared(row, inspection, published)
        mismatches = [k for k, v in expected.items() if v is not None and got.get(k) != v]
        values.update(k for k, v in expected.items() if v is not None)
        wrong.update(mismatches)
        agreed += not mismatches
        if args.verbose:
            for key in mismatches:
                print(f"{stem}: {key}: spreadsheet {expected[key]!r}, read {got.get(key)!r}")
    print(f"recognised as inspections: {recognised} of {len(reports)} reports")
    print(f"reports checked against their spreadsheet row: {checked}; every value agrees: {agreed} "
          f"({agreed / max(checked, 1):.1%})")
    for key, total in sorted(values.items()):
        print(f"  {key}: {total - wrong[key]} of {total} agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
