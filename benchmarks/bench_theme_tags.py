"""Precision of the source-level theme tags over the real reports, against judgements by hand.

Reads an index generation (``--data-dir``), lists every (source, theme) tag of the sources that are
not duplicates, and draws a seeded sample: every theme that occurs at least twice (once if it only
occurs once), then at random from the rest. Prints each tag with its stored reason and the two
passages that show it best (most keyword hits, then closeness to the theme's description), and
compares it with ``eval/theme-tags/judged.tsv``, where a reader wrote one of:

    about     the source is substantially about the theme (a section, a sustained discussion, a main subject)
    passing   the theme is mentioned in passing only
    wrong     the source is not about the theme at all

Precision = about / judged, per theme and overall.

The re-derivation options weigh a change to the rule before making it: they re-derive every tag
from the stored passages (``--share``: another share; ``--drop THEME:KEYWORD``: a keyword taken
out; ``--keyword-only``: passages only similar to the description no longer count; ``--whole-words``
with ``--stem``: keywords match whole words, plural "s" allowed, only the named stems any ending;
``--min-hits``/``--per-1000``: keyword occurrences in the whole text instead of the passage share)
and score the judged tags that would remain. A passage that loses its keywords loses the theme even
where its embedding might have carried it, so these figures slightly undercount tags; tags a rule
adds that are not tagged now are counted but not judged.

    .venv/bin/python benchmarks/bench_theme_tags.py [--data-dir ../bench-data/corpora-v2] [--size 64] [--seed 12]
    .venv/bin/python benchmarks/bench_theme_tags.py --write-unjudged eval/theme-tags/unjudged.tsv
    .venv/bin/python benchmarks/bench_theme_tags.py --quiet --keyword-only --share 0.2 --drop neglect:neglect
    .venv/bin/python benchmarks/bench_theme_tags.py --quiet --whole-words --stem recruit --min-hits 8 --per-1000 1
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.browse.taxonomy import themes  # noqa: E402
from index.settings import load_settings  # noqa: E402
from index.storage import open_generation  # noqa: E402

JUDGED = ROOT / "eval" / "theme-tags" / "judged.tsv"
DEFAULT_DATA = Path("/work/bench-data/corpora-v2")
JUDGEMENTS = ("about", "passing", "wrong")
_SIMILAR = re.compile(r"similar to the theme's description \(([0-9.]+)\)")


@dataclass(frozen=True)
class Passage:
    ordinal: int
    page: int | None
    content: str
    reasons: dict[str, str]  # theme id → the passage's reason


@dataclass(frozen=True)
class Source:
    id: str
    stem: str
    title: str
    passages: tuple[Passage, ...]
    tags: dict[str, str]  # theme id → stored source-level reason
    content: str


@dataclass(frozen=True)
class Tag:
    stem: str
    theme: str
    reason: str


def keyword_pattern(keywords: list[str], stems: frozenset[str] | None = None) -> re.Pattern[str] | None:
    """The same rule as ``ingest.tagging._keyword_patterns``, for a changed keyword list.

    With ``stems``, only those keywords match any ending; the others match as whole words with an
    optional plural "s" (so "trust" no longer matches "trusting", nor "SEND" "sending").
    """
    def part(k: str) -> str:
        if not k[-1].isalpha():
            return re.escape(k)
        if stems is None or k.lower() in stems:
            return rf"\b{re.escape(k)}\w*"
        return rf"\b{re.escape(k)}s?\b"

    parts = [part(k) for k in keywords]
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def read_sources(data_dir: Path) -> list[Source]:
    store = open_generation(load_settings(overrides={"data_dir": str(data_dir)})).store
    sources: list[Source] = []
    paths: list[Path] = []
    for source_id in store.source_ids():
        record = store.get_source(source_id)
        if record is None or record.duplicate_of:
            continue
        passages = tuple(Passage(int(p.meta.get("ordinal", i)), p.meta.get("page"), p.content,
                                 dict(p.meta.get("theme_reasons", {})))
                         for i, p in enumerate(store.source_passages(source_id)))
        path = Path(record.file or record.source)
        tags = {t.id: t.reason for t in record.tags.themes}
        sources.append(Source(source_id, path.stem, record.title, passages, tags, record.content))
        paths.append(path)
    # Two corpora may each hold a README: name those by their folder too, so a stem stays a key.
    counts = Counter(s.stem for s in sources)
    return [replace(s, stem=f"{p.parent.name}/{s.stem}") if counts[s.stem] > 1 else s
            for s, p in zip(sources, paths, strict=True)]


def best_passages(source: Source, theme_id: str, pattern: re.Pattern[str] | None, n: int = 2) -> list[Passage]:
    def strength(p: Passage) -> tuple[int, float]:
        hits = len(pattern.findall(p.content)) if pattern else 0
        match = _SIMILAR.search(p.reasons.get(theme_id, ""))
        return hits, float(match.group(1)) if match else 0.0

    carrying = [p for p in source.passages if theme_id in p.reasons]
    return sorted(carrying, key=strength, reverse=True)[:n]


def excerpt(text: str, pattern: re.Pattern[str] | None, chars: int) -> str:
    """``chars`` characters of a passage around its first keyword, the keywords in **bold**."""
    flat = " ".join(text.split())
    hit = pattern.search(flat) if pattern else None
    start = max(0, hit.start() - chars // 3) if hit else 0
    window = flat[start:start + chars]
    return ("…" if start else "") + (pattern.sub(lambda m: f"**{m.group(0)}**", window) if pattern else window)


def rederive(sources: list[Source], share: float, drops: dict[str, set[str]], keyword_only: bool,
             stems: frozenset[str] | None = None, min_hits: int = 0, per_1000: float = 0.0
             ) -> set[tuple[str, str]]:
    """(stem, theme) tags under a changed rule, from the passages' stored reasons.

    With ``min_hits``, the passage share is not used: a theme tags a source when its keywords occur
    at least ``min_hits`` times in the whole text and at least ``per_1000`` times per 1,000 words
    (counted in the text, not the passages, which overlap).
    """
    patterns = {t.id: keyword_pattern([k for k in t.keywords if k.lower() not in drops.get(t.id, set())], stems)
                for t in themes()}
    tags = set()
    for source in sources:
        if min_hits:
            words = max(1, len(source.content.split()))
            for theme_id, pattern in patterns.items():
                hits = len(pattern.findall(source.content)) if pattern else 0
                if hits >= min_hits and 1000 * hits / words >= per_1000:
                    tags.add((source.stem, theme_id))
            continue
        needed = max(1, math.ceil(share * len(source.passages)))
        keyword_count: Counter[str] = Counter()
        similar_count: Counter[str] = Counter()
        for passage in source.passages:
            for theme_id, reason in passage.reasons.items():
                if reason.startswith("keywords"):
                    if theme_id in drops or stems is not None:
                        pattern = patterns[theme_id]
                        if pattern is None or not pattern.search(passage.content):
                            continue
                    keyword_count[theme_id] += 1
                elif not keyword_only:
                    similar_count[theme_id] += 1
        for theme_id in set(keyword_count) | set(similar_count):
            count = keyword_count[theme_id] + similar_count[theme_id]
            if count >= needed and (keyword_count[theme_id] or similar_count[theme_id] >= 2):
                tags.add((source.stem, theme_id))
    return tags


def draw(tags: list[Tag], size: int, seed: int, per_theme: int = 2) -> list[Tag]:
    rng = random.Random(seed)
    by_theme: dict[str, list[Tag]] = defaultdict(list)
    for tag in tags:
        by_theme[tag.theme].append(tag)
    chosen: list[Tag] = []
    for theme_id in sorted(by_theme):
        chosen.extend(rng.sample(by_theme[theme_id], min(per_theme, len(by_theme[theme_id]))))
    rest = [t for t in tags if t not in chosen]
    chosen.extend(rng.sample(rest, max(0, min(size - len(chosen), len(rest)))))
    return sorted(chosen, key=lambda t: (t.theme, t.stem))


def read_judged(path: Path) -> dict[tuple[str, str], str]:
    if not path.exists():
        return {}
    judged = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            judgement = (row.get("judgement") or "").strip()
            if judgement:
                if judgement not in JUDGEMENTS:
                    raise SystemExit(f"{path}: judgement {judgement!r} for {row['stem']} / {row['theme']} "
                                     f"is not one of {', '.join(JUDGEMENTS)}")
                judged[(row["stem"], row["theme"])] = judgement
    return judged


def precision_table(rows: list[tuple[Tag, str]]) -> None:
    per_theme: dict[str, Counter[str]] = defaultdict(Counter)
    for tag, judgement in rows:
        per_theme[tag.theme][judgement] += 1
    total: Counter[str] = Counter(j for _, j in rows)
    print(f"{'theme':32} {'judged':>6} {'about':>5} {'passing':>7} {'wrong':>5} {'precision':>9}")
    for theme_id in sorted(per_theme):
        c = per_theme[theme_id]
        n = sum(c.values())
        print(f"{theme_id:32} {n:6} {c['about']:5} {c['passing']:7} {c['wrong']:5} {c['about'] / n:9.2f}")
    n = sum(total.values())
    if n:
        print(f"{'overall':32} {n:6} {total['about']:5} {total['passing']:7} {total['wrong']:5} "
              f"{total['about'] / n:9.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="index data directory")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--judged", type=Path, default=JUDGED)
    parser.add_argument("--write-unjudged", type=Path, help="write the sample without judgements, then stop")
    parser.add_argument("--quiet", action="store_true", help="don't print the passages")
    parser.add_argument("--chars", type=int, default=500, help="characters of each passage to print")
    parser.add_argument("--share", type=float, help="re-derive tags with this share of passages (the old rule: 0.15)")
    parser.add_argument("--drop", action="append", default=[], metavar="THEME:KEYWORD",
                        help="re-derive tags without this keyword (repeatable)")
    parser.add_argument("--keyword-only", action="store_true",
                        help="re-derive tags counting only passages with a keyword (similar passages don't count)")
    parser.add_argument("--whole-words", action="store_true",
                        help="re-derive tags with keywords matched as whole words (plural s allowed)")
    parser.add_argument("--min-hits", type=int, default=0,
                        help="re-derive tags by keyword occurrences in the whole text instead of the passage share")
    parser.add_argument("--per-1000", type=float, default=0.0, help="with --min-hits, also this many per 1,000 words")
    parser.add_argument("--stem", action="append", default=[], metavar="KEYWORD",
                        help="with --whole-words, a keyword that still matches any ending (repeatable)")
    args = parser.parse_args()

    if not (args.data_dir / "CURRENT").exists():
        print(f"No finished index in {args.data_dir}: build one with `kb ingest` or pass --data-dir.", file=sys.stderr)
        return 2
    sources = read_sources(args.data_dir)
    by_stem = {s.stem: s for s in sources}
    tags = [Tag(s.stem, theme_id, reason) for s in sources for theme_id, reason in sorted(s.tags.items())]
    print(f"{len(sources)} sources (duplicates left out), {len(tags)} theme tags, "
          f"{len({t.theme for t in tags})} themes in use")
    sample = draw(tags, args.size, args.seed)

    if args.write_unjudged:
        args.write_unjudged.parent.mkdir(parents=True, exist_ok=True)
        with args.write_unjudged.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
            writer.writerow(["stem", "theme", "judgement", "note", "reason"])
            for tag in sample:
                writer.writerow([tag.stem, tag.theme, "", "", tag.reason])
        print(f"wrote {len(sample)} rows to {args.write_unjudged}")
        return 0

    judged = read_judged(args.judged)
    theme_by_id = {t.id: t for t in themes()}
    if not args.quiet:
        for tag in sample:
            source = by_stem[tag.stem]
            print(f"\n=== {tag.theme} | {tag.stem} | judged: {judged.get((tag.stem, tag.theme), '-')}")
            print(f"    {source.title}  ({len(source.passages)} passages)")
            print(f"    reason: {tag.reason}")
            pattern = keyword_pattern(list(theme_by_id[tag.theme].keywords))
            assert pattern is not None
            words = Counter(m.group(0).lower() for p in source.passages for m in pattern.finditer(p.content))
            print(f"    keyword hits in the whole text: {', '.join(f'{w} x{n}' for w, n in words.most_common(8))}")
            for p in best_passages(source, tag.theme, pattern):
                print(f"  [passage {p.ordinal}, page {p.page}] {p.reasons.get(tag.theme)}\n"
                      f"    {excerpt(p.content, pattern, args.chars)}")

    rows = [(t, judged[(t.stem, t.theme)]) for t in sample if (t.stem, t.theme) in judged]
    print(f"\nSample: {len(sample)} tags (seed {args.seed}), {len(rows)} judged in {args.judged.name}")
    precision_table(rows)
    wrong = [t for t, j in rows if j == "wrong"]
    if wrong:
        print("\nWrong:")
        for tag in wrong:
            print(f"  {tag.theme:30} {tag.stem}  ({tag.reason})")

    if args.share is not None or args.drop or args.keyword_only or args.whole_words or args.min_hits:
        drops: dict[str, set[str]] = defaultdict(set)
        for item in args.drop:
            theme_id, _, keyword = item.partition(":")
            if theme_id not in theme_by_id or not keyword:
                print(f"--drop {item!r}: give THEME:KEYWORD with a theme id from themes.json", file=sys.stderr)
                return 2
            drops[theme_id].add(keyword.lower())
        share = 0.15 if args.share is None else args.share
        stems = frozenset(k.lower() for k in args.stem) if args.whole_words else None
        kept = rederive(sources, share, drops, args.keyword_only, stems, args.min_hits, args.per_1000)
        remaining = [(t, j) for t, j in rows if (t.stem, t.theme) in kept]
        lost_about = sum(1 for t, j in rows if j == "about" and (t.stem, t.theme) not in kept)
        about = sum(1 for t, j in rows if j == "about")
        added = len(kept - {(t.stem, t.theme) for t in tags})
        print(f"\nRe-derived with share {share}, drops {dict(drops) or 'none'}, keyword-only {args.keyword_only}, "
              f"whole words {args.whole_words} (stems {sorted(stems or ())}), "
              f"min hits {args.min_hits} at {args.per_1000} per 1,000 words: "
              f"{len(kept)} tags in the corpus (now {len(tags)}; {added} of them not tagged now, so not judged); "
              f"judged sample keeps {len(remaining)} of {len(rows)}, "
              f"loses {lost_about} of {about} 'about'")
        precision_table(remaining)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
