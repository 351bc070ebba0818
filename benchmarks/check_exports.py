"""Exports of a real search checked against the sources (issue 25): RIS (rispy), BibTeX (bibtexparser), CSL-JSON
(rendered by citeproc-py in Cite Them Right's Harvard) and CSV of one search over a built index, each read back
with its own parser and compared, source by source, with what ``/api/documents/<id>`` says.

    .venv/bin/python benchmarks/check_exports.py --data-dir DATA --query "care" --top-k 50

Prints one line per check that failed and a summary; exits 1 when any failed.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index import offline  # noqa: F401


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--query", default="care")
    parser.add_argument("--top-k", type=int, default=50)
    args = parser.parse_args()

    import bibtexparser
    import rispy
    from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
    from citeproc.source.json import CiteProcJSON

    from index.settings import load_settings
    from webapp import create_app

    settings = load_settings(env={}, overrides={"data_dir": args.data_dir, "canaries": ""})
    client = create_app({"TESTING": True, "KB_SETTINGS": settings}).test_client()
    query = {"q": args.query, "top_k": args.top_k}
    shown = [r["document_id"] for r in client.get("/api/search", query_string=query).get_json()["results"]]

    def export(fmt: str) -> str:
        return client.get("/api/search", query_string={**query, "format": fmt}).get_data(as_text=True)

    records = rispy.loads(export("ris"))
    entries = bibtexparser.loads(export("bibtex")).entries
    items = json.loads(export("csljson"))
    rows = list(csv.DictReader(io.StringIO(export("csv").removeprefix("\ufeff"))))
    failed: list[str] = []

    def check(ok: bool, what: str) -> None:
        if not ok:
            failed.append(what)

    # An export is the whole search (its first 500 sources), which begins with the first page's.
    ids = [r["id"] for r in records]
    check(ids == [i["id"] for i in items] == [r["source_id"] for r in rows], "the exports agree on the sources")
    check(ids[: len(shown)] == shown, "the exports begin with the page's sources, in its order")
    sources = {i: client.get(f"/api/documents/{i}").get_json() for i in ids}
    check(len(entries) == len(ids), "BibTeX holds every source")
    style = CitationStylesStyle("harvard-cite-them-right", locale="en-GB", validate=False)
    bibliography = CitationStylesBibliography(style, CiteProcJSON(items), formatter.plain)
    persons_cited = corporate = 0
    for source_id, record, entry, item, row in zip(ids, records, entries, items, rows, strict=False):
        source = sources[source_id]
        persons, publisher, year = source["authors"], source["publisher"], (source["date"] or "")[:4] or None
        check(record["title"] == item["title"] == row["title"] == source["title"], f"{source_id}: title")
        if persons:
            persons_cited += 1
            read = [a[:-1] if a.endswith(",") else " ".join(reversed(a.split(", ", 1))) for a in record["authors"]]
            check(read == persons, f"{source_id}: RIS authors {record['authors']} against {persons}")
            check([n.get("literal") or f"{n['given']} {n['family']}" for n in item["author"]] == persons,
                  f"{source_id}: CSL-JSON authors")
        elif publisher:
            corporate += 1
            check(record["authors"] == [publisher + ","], f"{source_id}: RIS corporate author")
            check(item["author"] == [{"literal": publisher}], f"{source_id}: CSL-JSON corporate author")
            check(entry["author"].startswith("{") and entry["author"].endswith("}"), f"{source_id}: BibTeX braces")
        check(record.get("publisher") == item.get("publisher") == publisher, f"{source_id}: publisher")
        check(record.get("year") == entry.get("year") == year, f"{source_id}: year")
        check(record.get("urls", [None])[0] == item.get("URL") == entry.get("url") == source["url"],
              f"{source_id}: original address")
        check("Unknown" not in str(entry), f"{source_id}: no invented field")
        bibliography.register(Citation([CitationItem(source_id)]))
    rendered = [str(r) for r in bibliography.bibliography()]
    check(len(rendered) == len(ids), "every source rendered in Harvard")
    for text in rendered:
        check(bool(re.match(r"^.+ \((\d{4}|no date)\) .+", text)), f"Harvard form: {text[:80]}")
        check("/documents/" not in text, f"our own address cited as the original: {text[:80]}")
    for line in failed:
        print("FAILED", line)
    print(f"{len(ids)} sources exported of {args.query!r} ({len(shown)} on its first page): "
          f"{persons_cited} cite persons, {corporate} a corporate author; "
          f"RIS {len(records)}, BibTeX {len(entries)}, CSL-JSON {len(items)} (rendered {len(rendered)}), "
          f"CSV {len(rows)}; {len(failed)} checks failed")
    if rendered:
        print("e.g.", rendered[0])
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
