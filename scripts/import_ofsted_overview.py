"""Turn Ofsted's overview spreadsheet into ingest/data/ofsted_councils.csv (run when the spreadsheet changes).

    .venv/bin/python scripts/import_ofsted_overview.py ../shared/corpora/ofsted-ilacs/ofsted_csc_ilacs_overview.xlsx

One row per council: its canonical name (ingest/data/local_authorities.csv), Ofsted's URN, the LA
code, its statistical neighbours (canonical names), and its latest inspection as the spreadsheet
records it (publication date, link to the report, grades). The ingest links an inspection report
to the original on Ofsted's site from here, and council pages compare statistical neighbours. Needs
openpyxl (a dev dependency); the product reads only the CSV.
"""

from __future__ import annotations

import csv
import re
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.templates.base import council_named  # noqa: E402

OUT = ROOT / "ingest" / "data" / "ofsted_councils.csv"
GRADES = ("overall_effectiveness_grade", "impact_of_leaders_grade", "help_and_protection_grade", "in_care_grade",
          "care_leavers_grade")
MISSING = {"", "nan", "none", "inspection_pre_dates_judgement"}


def _council(name: str) -> str | None:
    # Ofsted calls the City of London "london corporation".
    return council_named(name) or council_named("City of " + name.removesuffix(" corporation"))


def read_overview(path: str | Path) -> list[dict[str, str]]:
    """The spreadsheet's rows as ``{column: text}`` (empty cells as "", values stripped)."""
    import openpyxl

    rows = list(openpyxl.load_workbook(path, read_only=True).worksheets[0].iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    return [{k: "" if v is None else str(v).strip() for k, v in zip(header, row, strict=False)} for row in rows[1:]]


def main(path: str) -> int:
    records = read_overview(path)
    by_code = {r["la_code"]: _council(r["local_authority"]) for r in records}
    out = []
    for r in records:
        council = _council(r["local_authority"])
        if council is None:
            print(f"not a known council: {r['local_authority']!r}", file=sys.stderr)
            continue
        try:
            published = datetime.strptime(r["publication_date"], "%d/%m/%y").date().isoformat()
        except ValueError:
            published = ""
        neighbours = [by_code.get(code.strip()) for code in re.split(r"[,\s]+", r["stat_neighbours"]) if code.strip()]
        out.append({"council": council, "urn": r["urn"], "la_code": r["la_code"],
                    "statistical_neighbours": "; ".join(n for n in neighbours if n),
                    "latest_published": published, "latest_link": r["inspection_link"],
                    **{g.removesuffix("_grade"): ("" if r[g].lower() in MISSING else r[g].lower()) for g in GRADES}})
    out.sort(key=lambda row: row["council"])
    with open(OUT, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(out[0]))
        writer.writeheader()
        writer.writerows(out)
    print(f"{len(out)} councils written to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
