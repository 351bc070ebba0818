"""How many of the real reports name each catalogue project (and each candidate not yet in it).

Reads the Ofsted inspections (``ofsted-ilacs/reports/*.pdf``) and the DfE/ADCS reports
(``csc-reports/``) with pypdfium2, cuts each into passages of about 200 words (sentence-aware,
like the ingest), links them with the catalogue's own ``ProjectLinker`` and counts, per project,
the reports that name it and how many of those links the classifier calls ``uses``. ``--candidates``
also counts phrases that are not in the catalogue, the check made before adding an entry.

    .venv/bin/python benchmarks/catalogue_counts.py [--corpora ../shared/corpora] [--candidates]

The texts are cached under ``--cache`` (default /tmp/kb-report-texts) so that reruns take a second.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from haystack import Document  # noqa: E402

from ingest.projects import ProjectLinker, load_catalogue, project_mentions  # noqa: E402

DEFAULT_CORPORA = ROOT.parent / "shared" / "corpora"
DEFAULT_CACHE = Path("/tmp/kb-report-texts")
PASSAGE_WORDS = 200
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z‘'\"(])")

# Phrases checked and left out of the catalogue (too few reports, or a general approach rather than
# a named model); kept so the check can be rerun.
CANDIDATES = {
    "Safe and Together": r"safe and together", "Family Valued": r"family valued",
    "Reclaiming Social Work": r"reclaiming social work", "Strengthening Families (any)": r"strengthening families",
    "Think Family": r"think family", "Team Around the Family": r"team around the family",
    "Bright Spots": r"bright spots", "Family Nurse Partnership": r"family nurse partnership",
    "Triple P": r"triple p\b", "Solihull Approach": r"solihull approach", "Operation Encompass": r"operation encompass",
    "Freedom Programme": r"freedom programme", "Social pedagogy": r"social pedagog",
    "Trauma-informed practice": r"trauma[- ]informed", "Relational practice": r"relational practice",
    "Valuing Care": r"valuing care",
}


@dataclass(frozen=True)
class Report:
    stem: str
    kind: str  # "inspection" (an Ofsted inspection of one council) or "report"
    passages: tuple[str, ...]

    def documents(self) -> list[Document]:
        return [Document(content=text, meta={"ordinal": n, "type": self.kind}) for n, text in enumerate(self.passages)]


def _pdf_text(path: Path) -> str:
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(path))
    try:
        # A page's lines break mid-sentence; one page is one paragraph.
        return "\n".join(" ".join(doc[i].get_textpage().get_text_range().split()) for i in range(len(doc)))
    finally:
        doc.close()


def _passages(text: str) -> tuple[str, ...]:
    sentences = [s for para in text.split("\n") for s in _SENTENCE_END.split(para) if s.strip()]
    passages: list[str] = []
    current: list[str] = []
    words = 0
    for sentence in sentences:
        current.append(sentence)
        words += len(sentence.split())
        if words >= PASSAGE_WORDS:
            passages.append(" ".join(current))
            current, words = [], 0
    if current:
        passages.append(" ".join(current))
    return tuple(passages)


def read_reports(corpora: Path = DEFAULT_CORPORA, cache: Path = DEFAULT_CACHE) -> list[Report]:
    """Every PDF of the two corpora as passages; a PDF pdfium cannot open is skipped with a note."""
    files = [*sorted((corpora / "ofsted-ilacs" / "reports").glob("*.pdf")),
             *sorted((corpora / "csc-reports").glob("*.pdf"))]
    if not files:
        raise SystemExit(f"No PDFs under {corpora}/ofsted-ilacs/reports or {corpora}/csc-reports; pass --corpora.")
    cache.mkdir(parents=True, exist_ok=True)
    reports = []
    for path in files:
        cached = cache / f"{path.parent.name}__{path.stem}.txt"
        if cached.exists():
            text = cached.read_text(encoding="utf-8")
        else:
            try:
                text = _pdf_text(path)
            except Exception as exc:  # pdfium raises its own error type for a damaged file
                print(f"skipped {path.name}: {exc}", file=sys.stderr)
                continue
            cached.write_text(text, encoding="utf-8")
        kind = "inspection" if path.parent.name == "reports" or path.stem.startswith("ofsted_") else "report"
        reports.append(Report(path.stem, kind, _passages(text)))
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--catalogue", type=Path, default=ROOT / "corpus" / "projects.yaml")
    parser.add_argument("--candidates", action="store_true", help="also count phrases not in the catalogue")
    args = parser.parse_args(argv)
    reports = read_reports(args.corpora, args.cache)
    catalogue = load_catalogue(args.catalogue)
    linker = ProjectLinker(catalogue)
    named: Counter[str] = Counter()
    uses: Counter[str] = Counter()
    for report in reports:
        for mention in project_mentions(linker, report.documents()):
            named[mention.slug] += 1
            uses[mention.slug] += mention.relation == "uses"
    print(f"{len(reports)} reports ({sum(r.kind == 'inspection' for r in reports)} inspections)")
    print(f"{'reports':>7} {'uses':>5}  project")
    for project in sorted(catalogue.projects, key=lambda p: -named[p.slug]):
        print(f"{named[project.slug]:>7} {uses[project.slug]:>5}  {project.slug}")
    if args.candidates:
        print("\ncandidates not in the catalogue (reports naming the phrase)")
        for name, phrase in CANDIDATES.items():
            pattern = re.compile(phrase, re.I)
            count = sum(any(pattern.search(p) for p in r.passages) for r in reports)
            print(f"{count:>7}        {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
