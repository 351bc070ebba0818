"""Draw the recall sample of issue 26: documents of ../shared/corpora split by a seeded draw into a
tuning half and a held-out half, and print a reading aid for judging every theme on each of them.

    .venv/bin/python eval/theme-tags/draw_recall_sample.py --data-dir /tmp/shall-data \
        > eval/theme-tags/recall-sample.tsv
    .venv/bin/python eval/theme-tags/draw_recall_sample.py --data-dir /tmp/shall-data --aid tuning > /tmp/aid.txt

The draw: every source of the index that is an inspection or a report/guidance/web page of
csc-reports (not a duplicate, not a README, at least 300 words), shuffled with ``random.Random(26)``
within each kind; the first 49 inspections and 11 others are the tuning half, the next 50 and 10
(all the rest of the others) the held-out half.

The second held-out sample (``--fresh 50 --seed 2611``, split ``heldout2``): every eligible
inspection not already in ``recall-sample.tsv``, sorted, shuffled with ``random.Random(2611)``, the
first 50. It holds inspections only: of the 22 eligible other documents the first draw took 21, and
the one left out (the Social Finance evaluation of Bristol's Think Family Database) is in neither
sample.

    .venv/bin/python eval/theme-tags/draw_recall_sample.py --data-dir /tmp/shall-data --fresh 50 \
        > eval/theme-tags/recall-sample-2.tsv
    .venv/bin/python eval/theme-tags/draw_recall_sample.py --data-dir /tmp/shall-data --aid heldout2 > /tmp/aid2.txt

The aid is for reading, not judging: per document and theme it prints how many paragraphs name the
theme in broad terms (wider than the tagger's keywords, written for reading) and the opening of the
paragraph that names it most, so the reader can open the text (``--show STEM``) where it is unclear.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
from pathlib import Path

SEED = 26
FRESH_SEED = 2611
FRESH_SIZE = 50
FIRST_SAMPLE = Path(__file__).with_name("recall-sample.tsv")
SIZES = {"inspection": (49, 50), "other": (11, 10)}

BROAD = {
    "adolescents-edge-of-care": (
        r"adolescen|teenage|edge of care|young people at risk|no wrong door|youth justice"
        r"|youth offending|entering care|extra-?familial|risk outside the home"
        r"|contextual safeguarding|older children"
    ),
    "practice-models": (
        r"practice model|model of practice|practice framework|signs of safety|systemic"
        r"|restorative|family safeguarding|strengths-based|relationship-based"
        r"|family group conferenc|reclaiming social work"
    ),
    "workforce": (
        r"workforce|recruit|retention|caseload|supervision|agency (?:staff|social|worker)"
        r"|turnover|newly qualified|ASYE|frontline|step up|academy|training"
    ),
    "early-help": (
        r"early help|early intervention|prevention|family hub|children.s centre"
        r"|troubled families|supporting families|family support"
    ),
    "residential-foster-care": (
        r"residential|children.s homes?|foster|kinship|placement|sufficiency|looked after"
        r"|mockingbird"
    ),
    "family-courts": (
        r"\bcourts?\b|proceedings|cafcass|public law outline|\bPLO\b|guardian"
        r"|legal planning|legal gateway|judiciary|judge"
    ),
    "legislation-regulation": (
        r"legislation|statutory|\bAct\b|\bBill\b|regulation|power to innovate"
        r"|statutory guidance"
    ),
    "funding-commissioning": (
        r"funding|budget|grant|£|commission|value for money|spend|investment|financial"
    ),
    "trusts-alternative-delivery": (
        r"\btrusts?\b|mutual|social enterprise|alternative delivery|achieving for children"
        r"|outsourc|private sector|third sector|voluntary sector"
    ),
    "evaluation-evidence": (
        r"evaluat|research|what works|randomi[sz]ed|evidence base|trial"
    ),
    "exploitation-missing": (
        r"exploit|county lines|traffick|missing|return home interview|\bgangs?\b"
        r"|serious youth violence|\bCSE\b|\bCCE\b"
    ),
    "care-leavers": (
        r"care leaver|leaving care|pathway plan|personal advis|staying put|staying close"
        r"|local offer|care.experienced"
    ),
    "neglect": (
        r"neglect|graded care profile|\bGCP\b|home conditions"
    ),
    "domestic-abuse": (
        r"domestic abuse|domestic violence|marac|coercive|perpetrator|safe and together"
        r"|\bIDVA"
    ),
    "disabled-children": (
        r"disab|\bSEND\b|special educational needs|short breaks|\bEHCP"
        r"|education, health and care plan"
    ),
    "unaccompanied-children": (
        r"unaccompanied|asylum|\bUASC|refugee|national transfer|age assessment|immigration"
    ),
    "private-fostering": (
        r"private(?:ly)? foster"
    ),
    "mental-health": (
        r"mental health|emotional (?:health|well-?being)|camhs|strengths and difficulties"
        r"|\bSDQ|therapeutic|self-harm|trauma"
    ),
}


def sources(data_dir: Path) -> list[tuple[str, str, str]]:
    """(stem, kind, content) of every source that may be drawn."""
    current = (data_dir / "CURRENT").read_text().strip()
    # Read-only: the index is shared and must not be written by a reading aid.
    db = sqlite3.connect(f"file:{data_dir / 'generations' / current / 'chunks.sqlite'}?mode=ro", uri=True)
    rows = []
    for source, kind, content, meta in db.execute("select source, type, content, meta from sources order by source"):
        if json.loads(meta).get("duplicate_of") or Path(source).name == "README.md" or len(content.split()) < 300:
            continue
        rows.append((Path(source).stem, "inspection" if kind == "inspection" else "other", content))
    return rows


def draw(rows: list[tuple[str, str, str]]) -> dict[str, tuple[str, str]]:
    """stem → (kind, "tuning" | "heldout")."""
    out = {}
    for kind, (tune, held) in SIZES.items():
        stems = sorted(s for s, k, _ in rows if k == kind)
        random.Random(SEED).shuffle(stems)
        for i, stem in enumerate(stems[:tune + held]):
            out[stem] = (kind, "tuning" if i < tune else "heldout")
    return out


def draw_fresh(rows: list[tuple[str, str, str]], size: int, seed: int) -> dict[str, tuple[str, str]]:
    """stem → ("inspection", "heldout2"): a second held-out sample of inspections, none of them in the
    first sample (read from recall-sample.tsv, the list that was judged)."""
    first = {line.split("\t")[0] for line in FIRST_SAMPLE.read_text().splitlines()[1:] if line.strip()}
    stems = sorted(s for s, k, _ in rows if k == "inspection" and s not in first)
    random.Random(seed).shuffle(stems)
    return {stem: ("inspection", "heldout2") for stem in stems[:size]}


def paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def aid(stem: str, content: str) -> str:
    paras = paragraphs(content)
    lines = [f"=== {stem} ({len(content.split())} words, {len(paras)} paragraphs)"]
    for theme, rx in BROAD.items():
        pattern = re.compile(rx, re.IGNORECASE)
        hit = [p for p in paras if pattern.search(p)]
        if not hit:
            continue
        # A paragraph that names the theme in its first sentence, or three times, is likely about it.
        topical = [p for p in hit if pattern.search(re.split(r"(?<=[.!?])\s", p)[0]) or len(pattern.findall(p)) >= 3]
        shown = []
        for p in (topical or hit)[:2]:
            m = pattern.search(p)
            start = 0 if p in topical and m and m.start() < 150 else max(0, (m.start() if m else 0) - 60)
            shown.append(p[start:start + 150])
        lines.append(f"  {theme}: {len(hit)}p/{len(topical)}t | " + " || ".join(shown))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--aid", choices=("tuning", "heldout", "heldout2"))
    parser.add_argument("--fresh", type=int, metavar="N",
                        help=f"list the second held-out sample: N inspections not in {FIRST_SAMPLE.name}")
    parser.add_argument("--seed", type=int, default=FRESH_SEED, help="seed of the --fresh draw")
    parser.add_argument("--show", help="print the paragraphs of this stem that name --theme (all without --theme)")
    parser.add_argument("--theme", choices=tuple(BROAD))
    args = parser.parse_args()
    rows = sources(args.data_dir)
    fresh = args.fresh is not None or args.aid == "heldout2"
    drawn = draw_fresh(rows, FRESH_SIZE if args.fresh is None else args.fresh, args.seed) if fresh else draw(rows)
    if args.show:
        content = next((c for s, _, c in rows if s == args.show), None)
        if content is None:
            parser.error(f"--show: no eligible source has the stem {args.show!r}")
        pattern = re.compile(BROAD[args.theme] if args.theme else "", re.IGNORECASE)
        for p in paragraphs(content):
            if pattern.search(p):
                print("-", p[:700] if args.theme else p)
        return
    if args.aid:
        for stem, _kind, content in rows:
            if drawn.get(stem, ("", ""))[1] == args.aid:
                print(aid(stem, content))
        return
    print("stem\tkind\tsplit")
    for stem in sorted(drawn):
        print(f"{stem}\t{drawn[stem][0]}\t{drawn[stem][1]}")


if __name__ == "__main__":
    main()
