"""Precision of the projects catalogue's links over the real reports, against judgements by hand.

Links every report of the two corpora (as ``benchmarks/catalogue_counts.py`` reads them) with the
catalogue, draws a seeded sample of links (up to two per project, so the rare ones are seen too,
then at random from the rest) and prints each with its sentence, the relation the classifier gave
("uses"/"mentions") and the rule that gave it. Each is compared with ``eval/project-links/judged.tsv``,
where a person read the sentence and wrote one of:

    correct-uses     it is this project, and the inspected council uses it
    correct-mention  it is this project, named without the council using it (plans, national context…)
    wrong-project    the words are not this project (an ordinary phrase, another council's scheme)

Prints linking precision (share of links that are really the project) and "uses" precision (share of
links called "uses" that a reader also calls correct-uses).

    .venv/bin/python benchmarks/bench_project_links.py [--corpora ../shared/corpora] [--size 64] [--seed 12]
    .venv/bin/python benchmarks/bench_project_links.py --per-project 0 --size 50 --seed 7   # weighted as the links are
    .venv/bin/python benchmarks/bench_project_links.py --write-unjudged eval/project-links/unjudged.tsv
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from catalogue_counts import DEFAULT_CACHE, DEFAULT_CORPORA, read_reports  # noqa: E402

from ingest.projects import (  # noqa: E402
    ProjectLinker,
    Relation,
    classify,
    load_catalogue,
    project_mentions,
    sentence_at,
)

JUDGED = ROOT / "eval" / "project-links" / "judged.tsv"
JUDGEMENTS = ("correct-uses", "correct-mention", "wrong-project")


@dataclass(frozen=True)
class Link:
    slug: str
    stem: str
    relation: str
    reason: str
    sentence: str


def all_links(corpora: Path, cache: Path, catalogue_path: Path) -> list[Link]:
    linker = ProjectLinker(load_catalogue(catalogue_path))
    links = []
    for report in read_reports(corpora, cache):
        inspection = report.kind == "inspection"
        for mention in project_mentions(linker, report.documents()):
            text = report.passages[mention.ordinal]
            # The mention in its passage that gave the recorded relation (the first such).
            for project, start, end, weak in linker.find_all(text):
                if project.slug != mention.slug:
                    continue
                relation = (Relation("mentions", "named only by a weak alias") if weak
                            else classify(text, start, end, inspection))
                if relation.relation == mention.relation:
                    links.append(Link(mention.slug, report.stem, relation.relation, relation.reason,
                                      sentence_at(text, start, end)))
                    break
    return links


def sample(links: list[Link], size: int, seed: int, per_project: int = 2) -> list[Link]:
    """Up to ``per_project`` links of each project, then links drawn at random up to ``size``;
    ``per_project=0`` gives a plain random sample, weighted as the links are."""
    rng = random.Random(seed)
    by_project: dict[str, list[Link]] = {}
    for link in links:
        by_project.setdefault(link.slug, []).append(link)
    chosen = [link for slug in sorted(by_project)
              for link in rng.sample(by_project[slug], min(per_project, len(by_project[slug])))]
    rest = [link for link in links if link not in chosen]
    chosen += rng.sample(rest, max(0, min(size - len(chosen), len(rest))))
    return sorted(chosen, key=lambda link: (link.slug, link.stem))


def read_judged(path: Path) -> dict[tuple[str, str], str]:
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    bad = [row for row in rows if row["judgement"] not in JUDGEMENTS]
    if bad:
        raise SystemExit(f"{path}: judgement {bad[0]['judgement']!r} for {bad[0]['slug']} in {bad[0]['stem']}; "
                         f"use one of {', '.join(JUDGEMENTS)}.")
    return {(row["slug"], row["stem"]): row["judgement"] for row in rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--catalogue", type=Path, default=ROOT / "corpus" / "projects.yaml")
    parser.add_argument("--judged", type=Path, default=JUDGED)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--per-project", type=int, default=2,
                        help="links of each project drawn first (0: a plain random sample)")
    parser.add_argument("--write-unjudged", type=Path,
                        help="write the sampled links not yet judged as a TSV to fill in")
    args = parser.parse_args(argv)
    links = all_links(args.corpora, args.cache, args.catalogue)
    chosen = sample(links, args.size, args.seed, args.per_project)
    judged = read_judged(args.judged)
    print(f"{len(links)} links over the reports; sample of {len(chosen)} (seed {args.seed})\n")
    linked = uses_called = uses_right = counted = uses_true = 0
    unjudged: list[Link] = []
    for link in chosen:
        verdict = judged.get((link.slug, link.stem))
        print(f"[{verdict or 'UNJUDGED'}] {link.slug} in {link.stem}: {link.relation} ({link.reason})\n"
              f"    {link.sentence}")
        if verdict is None:
            unjudged.append(link)
            continue
        counted += 1
        linked += verdict != "wrong-project"
        uses_true += verdict == "correct-uses"
        if link.relation == "uses":
            uses_called += 1
            uses_right += verdict == "correct-uses"
    if args.write_unjudged and unjudged:
        with args.write_unjudged.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
            writer.writerow(["slug", "stem", "relation", "sentence", "judgement"])
            writer.writerows([link.slug, link.stem, link.relation, link.sentence, ""] for link in unjudged)
    print(f"\njudged {counted} of {len(chosen)} sampled links ({len(unjudged)} without a judgement)")
    if counted:
        print(f"linking precision: {linked}/{counted} = {linked / counted:.2f}")
    if uses_called:
        print(f"'uses' precision:  {uses_right}/{uses_called} = {uses_right / uses_called:.2f}")
    if uses_true:
        print(f"'uses' recall:     {uses_right}/{uses_true} = {uses_right / uses_true:.2f} (links a reader calls "
              "correct-uses that the classifier calls 'uses')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
