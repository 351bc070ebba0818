"""Check every author a citation would show against the source's own text (issue 25, item 1).

Reads every file under the given paths as ``kb ingest`` does (the read pipeline, the publisher
boilerplate, the cleaner and the metadata resolver; nothing is embedded or written), then checks
for each source:

* every **person** shown as an author is named in the source's text (its raw converted text), or
  comes from a sidecar a person wrote, or a publisher template vouches for it;
* the **corporate author** (the publisher, cited when no person is) is named in the text or set by
  a template or sidecar;
* an inspection's **lead inspector** is named in the text after "Lead inspector:" (2013: "Reporting inspector");
* no author is a software, scanner or account name, and no title is a file name's shape or the
  file's name used as a default.

    .venv/bin/python benchmarks/check_authors.py [PATH ...] [--verbose]   # default: ../shared/corpora corpus

Prints a Markdown table (figures for docs/citations.md) and, with --verbose, each failure and each
name the resolver refused; exits 1 when any check fails.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _named(name: str, text: str) -> bool:
    words = [re.escape(w) for w in name.split()]
    return re.search(r"(?<!\w)" + r"[\s.]+".join(words) + r"(?!\w)", text, re.IGNORECASE) is not None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("paths", nargs="*", default=[str(ROOT.parent / "shared" / "corpora"), str(ROOT / "corpus")])
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    from index import offline  # noqa: F401
    from ingest.authors import kind_of
    from ingest.boilerplate import BoilerplateStripper, learn
    from ingest.build import read_files
    from ingest.clean import BoilerplateCleaner
    from ingest.discover import discover
    from ingest.metadata import MetadataResolver, title_problem

    logging.disable(logging.WARNING)
    counts: Counter[str] = Counter()
    failures: list[str] = []
    refused: list[str] = []
    shown: list[str] = []
    for root in args.paths:
        documents, _ = read_files(discover([root]), False, None)
        raw = {d.meta["source"]: d.content or "" for d in documents}
        stripped = BoilerplateStripper(learn(documents).to_json()).run(documents)["documents"]
        resolved = MetadataResolver().run(BoilerplateCleaner().run(stripped)["documents"])["documents"]
        for doc in resolved:
            meta, text = doc.meta, raw.get(doc.meta["source"], "")
            where = meta["provenance"]
            name = Path(meta["source"]).name
            counts["sources"] += 1
            for author in meta["authors"]:
                counts["person authors shown"] += 1
                shown.append(f"{name}: {author} ({where.get('authors')})")
                if kind_of(author)[0] is None:
                    failures.append(f"{name}: author {author!r} is not a name ({kind_of(author)[1]})")
                elif where.get("authors") == "template":
                    counts["person authors vouched by a template"] += 1
                elif _named(author, text):
                    counts["person authors named in the text"] += 1
                elif where.get("authors") == "sidecar":
                    counts["person authors from a sidecar only"] += 1
                else:
                    failures.append(f"{name}: author {author!r} ({where.get('authors')}) is not named in the text")
            if not meta["authors"] and meta.get("publisher"):
                counts["corporate author cited (no person)"] += 1
                if where.get("publisher") in ("template", "sidecar"):
                    counts["corporate author set by a template or sidecar"] += 1
                elif where.get("publisher") == "embedded":
                    # a publisher field (an HTML page's site name), not an author field
                    counts["corporate author from the file's publisher field"] += 1
                elif _named(meta["publisher"], text):
                    counts["corporate author named in the text"] += 1
                else:
                    failures.append(f"{name}: corporate author {meta['publisher']!r} ({where.get('publisher')}) "
                                    "is not named in the text")
            if not meta["authors"] and not meta.get("publisher"):
                counts["no author or publisher (title first)"] += 1
            lead = (meta.get("inspection") or {}).get("lead_inspector")
            if meta.get("inspection"):
                counts["inspections"] += 1
            if lead:
                counts["lead inspectors shown"] += 1
                stated = r"(?:Lead|Reporting) inspectors?:?[^\n]{0,120}?"
                names = lead.split(" and ")
                if all(re.search(stated + re.escape(n).replace(r"\ ", r"\s+"), text) for n in names):
                    counts["lead inspectors stated in the text"] += 1
                else:
                    failures.append(f"{name}: lead inspector {lead!r} is not stated in the text")
            if where.get("title") == "default":
                failures.append(f"{name}: the title is the file's name ({meta['title']!r})")
            elif (problem := title_problem(meta["title"])) and where.get("title") != "sidecar":
                failures.append(f"{name}: title {meta['title']!r}: {problem}")
            if where.get("authors_rejected"):
                counts["sources with metadata names refused"] += 1
                counts["metadata names refused"] += where["authors_rejected"].count(" from the file's metadata: ")
                refused.append(f"{name}: {where['authors_rejected']}")
    print("| check | count |\n| --- | ---: |")
    for key, value in counts.items():
        print(f"| {key} | {value} |")
    print(f"| **failures** | **{len(failures)}** |")
    if args.verbose:
        for line in failures:
            print("FAIL", line)
        for line in refused:
            print("REFUSED", line)
        for line in shown:
            print("AUTHOR", line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
