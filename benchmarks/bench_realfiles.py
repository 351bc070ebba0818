"""Real files from the wild through the ingest's reading stages: indexed or refused, text recovered.

Reads ``../shared/realfiles/`` (Storify exports and saved pages, PDFs, Word, news HTML with
Readability's expected text, feeds) through the same stages as ``kb ingest`` up to the passages —
discover, route, convert, clean, metadata — without embedding (the model does not change
whether a file is read). Prints per file: indexed / refused (with the message), characters of
text, title and its provenance; for HTML the word precision and recall against the expected text;
then a summary per kind.

Usage::

    PYTHONPATH=. python benchmarks/bench_realfiles.py [--root ../shared/realfiles] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / ".." / "shared" / "realfiles"
# Real feeds in legacy encodings with no declared charset (feedparser's test suite; tests/fixtures/legacy-feeds).
LEGACY_FEEDS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "legacy-feeds"


@dataclass
class FileResult:
    kind: str
    file: str
    status: str  # "indexed" or "refused"
    chars: int = 0
    sources: int = 0
    title: str = ""
    title_from: str = ""
    extractor: str = ""
    message: str = ""
    notes: list[str] = field(default_factory=list)
    precision: float | None = None
    recall: float | None = None
    mojibake: float | None = None  # feeds: charset-normalizer's mess of the decoded text (0 clean; > 0.2 mojibake)


_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> Counter[str]:
    return Counter(w.lower() for w in _WORD.findall(text))


def precision_recall(got: str, expected: str) -> tuple[float, float]:
    """Word-bag precision and recall (multiset overlap) of extracted text against expected text."""
    a, b = words(got), words(expected)
    overlap = sum((a & b).values())
    return overlap / max(1, sum(a.values())), overlap / max(1, sum(b.values()))


def read_all(root: Path, extra: tuple[Path, ...] = ()) -> list[FileResult]:
    from ingest.clean import BoilerplateCleaner
    from ingest.converters.feed import mojibake
    from ingest.discover import discover
    from ingest.extract import TextMetadataExtractor
    from ingest.formats import FORMATS
    from ingest.metadata import MetadataResolver
    from ingest.router import FormatRouter

    kinds = [p for p in sorted(root.iterdir()) if p.is_dir() and p.name != "html-expected"] + list(extra)
    results: list[FileResult] = []
    for kind_dir in kinds:
        files = discover([kind_dir])
        routed = FormatRouter().run(sources=files)
        documents, failures = [], list(routed["failures"])
        for name, fmt in FORMATS.items():
            if routed.get(name):
                out = fmt.converter().run(sources=routed[name])
                documents += out["documents"]
                failures += out["failures"]
        cleaned = BoilerplateCleaner().run(documents=documents)
        failures += cleaned["failures"]
        extracted = TextMetadataExtractor().run(documents=cleaned["documents"])["documents"]
        resolved = MetadataResolver().run(documents=extracted)
        failures += resolved["failures"]
        by_file: dict[str, list] = defaultdict(list)
        for doc in resolved["documents"]:
            by_file[Path(doc.meta.get("file") or doc.meta["source"]).name].append(doc)
        for failure in failures:
            results.append(FileResult(kind_dir.name, Path(failure.path).name, "refused",
                                      message=f"{failure.reason} — {failure.action}"))
        for name, docs in sorted(by_file.items()):
            text = "\n".join(d.content or "" for d in docs)
            meta = docs[0].meta
            result = FileResult(kind_dir.name, name, "indexed", chars=len(text), sources=len(docs),
                                title=str(meta.get("title") or "")[:70],
                                title_from=str((meta.get("provenance") or {}).get("title", "")),
                extractor=str(meta.get("extractor") or ""),
                                notes=[str(n) for n in (meta.get("notes") or [])] if isinstance(
                                    meta.get("notes"), list) else ([str(meta["notes"])] if meta.get("notes") else []))
            expected = root / "html-expected" / (Path(name).stem + ".expected.txt")
            if "feed" in kind_dir.name:
                decoded = "\n".join(f"{d.meta.get('title') or ''}\n{d.content}" for d in docs)
                result.mojibake = round(mojibake(decoded), 3)
            if kind_dir.name == "html" and expected.exists():
                result.precision, result.recall = precision_recall(text, expected.read_text(encoding="utf-8"))
            results.append(result)
        for docs in by_file.values():
            for part in (docs[0].meta.get("parts") or [])[1:]:
                results.append(FileResult(kind_dir.name, Path(part).name, "merged",
                                          message=f"one source with {Path(docs[0].meta['parts'][0]).name}"))
        indexed = {r.file for r in results if r.kind == kind_dir.name}
        for path in files:
            if path.name not in indexed:
                results.append(FileResult(kind_dir.name, path.name, "refused", message="(no output and no failure)"))
    return results


def report(results: list[FileResult]) -> str:
    lines = []
    for kind in sorted({r.kind for r in results}):
        rows = sorted((r for r in results if r.kind == kind), key=lambda r: r.file)
        lines.append(f"\n## {kind}")
        for r in rows:
            if r.status == "indexed":
                extra = f"  P={r.precision:.3f} R={r.recall:.3f}" if r.precision is not None else ""
                note = f"  notes: {'; '.join(r.notes)}" if r.notes else ""
                note += f"  mojibake {r.mojibake:.3f}" if r.mojibake is not None else ""
                many = f" in {r.sources} sources" if r.sources > 1 else ""
                many += f" (by {r.extractor})" if r.extractor else ""
                lines.append(f"  indexed  {r.file}: {r.chars} chars{many}; title ({r.title_from}) "
                             f"{r.title!r}{extra}{note}")
            elif r.status == "merged":
                lines.append(f"  merged   {r.file}: {r.message}")
            else:
                lines.append(f"  refused  {r.file}: {r.message}")
    lines.append("\n## summary")
    for kind in sorted({r.kind for r in results}):
        rows = [r for r in results if r.kind == kind]
        n_ok = sum(r.status == "indexed" for r in rows)
        merged = sum(r.status == "merged" for r in rows)
        chars = sum(r.chars for r in rows)
        line = (f"  {kind}: {len(rows)} files, {n_ok} indexed" + (f" (+{merged} pages merged into them)" if merged
                                                                  else "")
                + f", {len(rows) - n_ok - merged} refused, {chars} chars")
        measured = [r.mojibake for r in rows if r.mojibake is not None]
        if measured:
            line += (f"; decoded text's mojibake (charset-normalizer mess): max {max(measured):.3f}, "
                     f"{sum(m > 0.2 for m in measured)} of {len(measured)} above 0.2")
        scored = [r for r in rows if r.precision is not None]
        if scored:
            p = sum(r.precision for r in scored) / len(scored)  # type: ignore[misc]
            rc = sum(r.recall for r in scored) / len(scored)  # type: ignore[misc]
            line += f"; HTML word precision {p:.3f}, recall {rc:.3f} (mean over {len(scored)} pages)"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--json", type=Path, help="also write the per-file results as JSON")
    parser.add_argument("--extra", type=Path, nargs="*", default=[LEGACY_FEEDS],
                        help="more folders read as kinds of their own (default: the legacy-encoding feeds)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    started = time.perf_counter()
    results = read_all(args.root.resolve(), tuple(p.resolve() for p in args.extra))
    print(report(results))
    print(f"\n({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
