"""Recall and precision of the source-level theme tags, on every theme of a judged sample of documents.

``eval/theme-tags/recall-judged.tsv`` judges each of the 18 themes on 120 documents of
``../shared/corpora`` (a seeded tuning half and a held-out half, judged by reading before any tuning;
``eval/theme-tags/README.md``). This bench reads those documents from an index generation
(``--data-dir``: their text and passages) and tags them with ``ingest.tagging.source_tags`` as the
code now stands, or, with ``--stored``, takes the tags the generation was built with. It prints, per
half, recall (judged ``about`` and tagged / judged ``about``) and precision (tagged and judged
``about`` / tagged), overall, per kind (inspections, other documents) and per theme.

    .venv/bin/python benchmarks/bench_theme_recall.py --data-dir /tmp/shall-data
    .venv/bin/python benchmarks/bench_theme_recall.py --data-dir /tmp/shall-data --stored
    .venv/bin/python benchmarks/bench_theme_recall.py --data-dir /tmp/shall-data --split tuning --misses
    .venv/bin/python benchmarks/bench_theme_recall.py --data-dir /tmp/shall-data \
        --judged eval/theme-tags/recall-judged-2.tsv

``--misses`` lists each disagreement with the judgement (a tag judged ``not``, with its evidence; a
document judged ``about`` but not tagged), for reading: on the tuning half only, since reading a held-out
half's misses spends it. ``--judged`` reads another judged file of the same columns (``stem``, ``kind``,
``split``, ``theme``, ``judgement``), or several, given more than once; the halves are the ``split``
values found there, and each document is scored on the themes judged for it.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.browse.taxonomy import themes  # noqa: E402
from index.settings import load_settings  # noqa: E402
from index.storage import open_generation  # noqa: E402
from ingest.tagging import source_tags  # noqa: E402

JUDGED = ROOT / "eval" / "theme-tags" / "recall-judged.tsv"
COLUMNS = ("stem", "kind", "split", "theme", "judgement")


@dataclass(frozen=True)
class Judged:
    stem: str
    kind: str
    split: str
    themes: frozenset[str]  # theme ids judged, "about" or "not"
    about: frozenset[str]  # theme ids judged "about"


@dataclass
class Count:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, tagged: bool, about: bool) -> None:
        self.tp += tagged and about
        self.fp += tagged and not about
        self.fn += about and not tagged

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    def line(self, name: str) -> str:
        return (f"  {name:30} recall {self.recall:.3f}  precision {self.precision:.3f}  "
                f"(tagged and about {self.tp}, tagged not about {self.fp}, about not tagged {self.fn})")


def read_judged(paths: list[Path]) -> list[Judged]:
    """The judged documents of one or more files, in the order read; a document is one (split, stem)."""
    rows: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for path in paths:
        if not path.is_file():
            sys.exit(f"no judged file at {path}: give --judged the path of a .tsv of {', '.join(COLUMNS)}")
        with path.open(encoding="utf-8") as f:
            reader = csv.DictReader(f, delimiter="\t")
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                sys.exit(f"{path} lacks the column(s) {', '.join(missing)}; a judged file has {', '.join(COLUMNS)}")
            for row in reader:
                rows[(row["split"], row["stem"])].append(row)
    return [Judged(stem, r[0]["kind"], split, frozenset(x["theme"] for x in r),
                   frozenset(x["theme"] for x in r if x["judgement"] == "about"))
            for (split, stem), r in rows.items()]


def tag_documents(data_dir: Path, stems: set[str], stored: bool) -> dict[str, dict[str, str]]:
    """File stem → {theme id: evidence} for the judged documents found in the generation."""
    store = open_generation(load_settings(overrides={"data_dir": str(data_dir)})).store
    tagged: dict[str, dict[str, str]] = {}
    for source_id in store.source_ids():
        record = store.get_source(source_id)
        if record is None or record.duplicate_of:
            continue
        stem = Path(record.file or record.source).stem
        if stem not in stems:
            continue
        if stored:
            tags = record.tags.themes
        else:
            metas = [dict(p.meta) for p in store.source_passages(source_id)]
            tags = source_tags(metas, record.content).themes
        tagged[stem] = {t.id: t.evidence or t.reason for t in tags}
    return tagged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/shall-data"))
    parser.add_argument("--judged", type=Path, action="append",
                        help=f"a judged .tsv (default {JUDGED.relative_to(ROOT)}); more than once for several")
    parser.add_argument("--stored", action="store_true", help="the tags stored in the generation")
    parser.add_argument("--split", action="append", help="only this half (default every split in the files)")
    parser.add_argument("--misses", action="store_true", help="list the disagreements with the judgements")
    args = parser.parse_args()
    judged = read_judged(args.judged or [JUDGED])
    splits = list(dict.fromkeys(j.split for j in judged))
    unknown = [s for s in args.split or [] if s not in splits]
    if unknown:
        sys.exit(f"no split {unknown[0]!r} in the judged file(s); they hold {', '.join(splits)}")
    tagged = tag_documents(args.data_dir, {j.stem for j in judged}, args.stored)
    missing = sorted({j.stem for j in judged} - set(tagged))
    if missing:
        sys.exit(f"{len(missing)} judged documents are not in {args.data_dir} (e.g. {missing[0]}); "
                 "index ../shared/corpora there first")
    theme_ids = [t.id for t in themes()]
    print(f"{'stored tags' if args.stored else 'ingest.tagging.source_tags'} on {args.data_dir}")
    for split in args.split or splits:
        overall = Count()
        kinds: defaultdict[str, Count] = defaultdict(Count)
        per_theme: defaultdict[str, Count] = defaultdict(Count)
        misses = []
        documents = sorted((j for j in judged if j.split == split), key=lambda j: j.stem)
        for j in documents:
            for theme_id in theme_ids:
                if theme_id not in j.themes:
                    continue
                tag, about = theme_id in tagged[j.stem], theme_id in j.about
                for count in (overall, kinds[j.kind], per_theme[theme_id]):
                    count.add(tag, about)
                if tag != about:
                    misses.append(f"    {'tagged, judged not' if tag else 'judged about, not tagged'}: {j.stem} "
                                  f"{theme_id}" + (f" — {tagged[j.stem][theme_id]}" if tag else ""))
        judgements = sum(len(j.themes & set(theme_ids)) for j in documents)
        print(f"\n{split}: {len(documents)} documents, {judgements} judgements ({len(theme_ids)} themes)")
        print(overall.line("overall"))
        for kind in sorted(kinds):
            print(kinds[kind].line(f"{kind} documents"))
        for theme_id in theme_ids:
            if any(theme_id in j.themes for j in documents):
                print(per_theme[theme_id].line(theme_id))
        if args.misses:
            print("\n".join(misses))


if __name__ == "__main__":
    main()
