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
    .venv/bin/python benchmarks/bench_theme_recall.py --data-dir /tmp/shall-data --split heldout --misses

``--misses`` lists each disagreement with the judgement (a tag judged ``not``, with its evidence; a
document judged ``about`` but not tagged), for reading.
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
SPLITS = ("tuning", "heldout")


@dataclass(frozen=True)
class Judged:
    kind: str
    split: str
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


def read_judged(path: Path) -> dict[str, Judged]:
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            rows[row["stem"]].append(row)
    return {stem: Judged(r[0]["kind"], r[0]["split"], frozenset(x["theme"] for x in r if x["judgement"] == "about"))
            for stem, r in rows.items()}


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
    parser.add_argument("--judged", type=Path, default=JUDGED)
    parser.add_argument("--stored", action="store_true", help="the tags stored in the generation")
    parser.add_argument("--split", choices=SPLITS, action="append", help="only this half (default both)")
    parser.add_argument("--misses", action="store_true", help="list the disagreements with the judgements")
    args = parser.parse_args()
    judged = read_judged(args.judged)
    tagged = tag_documents(args.data_dir, set(judged), args.stored)
    missing = sorted(set(judged) - set(tagged))
    if missing:
        sys.exit(f"{len(missing)} judged documents are not in {args.data_dir} (e.g. {missing[0]}); "
                 "index ../shared/corpora there first")
    theme_ids = [t.id for t in themes()]
    print(f"{'stored tags' if args.stored else 'ingest.tagging.source_tags'} on {args.data_dir}")
    for split in args.split or SPLITS:
        overall, kinds, per_theme = Count(), defaultdict(Count), defaultdict(Count)
        misses = []
        for stem, j in sorted(judged.items()):
            if j.split != split:
                continue
            for theme_id in theme_ids:
                tag, about = theme_id in tagged[stem], theme_id in j.about
                for count in (overall, kinds[j.kind], per_theme[theme_id]):
                    count.add(tag, about)
                if tag != about:
                    misses.append(f"    {'tagged, judged not' if tag else 'judged about, not tagged'}: {stem} "
                                  f"{theme_id}" + (f" — {tagged[stem][theme_id]}" if tag else ""))
        documents = sum(1 for j in judged.values() if j.split == split)
        print(f"\n{split}: {documents} documents x {len(theme_ids)} themes")
        print(overall.line("overall"))
        for kind in sorted(kinds):
            print(kinds[kind].line(f"{kind} documents"))
        for theme_id in theme_ids:
            print(per_theme[theme_id].line(theme_id))
        if args.misses:
            print("\n".join(misses))


if __name__ == "__main__":
    main()
