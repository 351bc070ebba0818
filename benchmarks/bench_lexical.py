"""Lexical search at scale: FTS5 bm25 top-k (as the store did it) against the tantivy index, per corpus size.

    .venv/bin/python benchmarks/bench_lexical.py --sizes 100000,1000000 [--work-dir /tmp] [--from-sqlite CHUNKS]

Each corpus is built once and kept under WORK_DIR/bench-lexical-<N>/ (a store's chunks.sqlite with
its FTS5 table, and the tantivy index beside it): N passages of 150-250 words recombined from the
sentences of real passages (the shared Ofsted reports read with pypdfium2, or the passages of an
existing chunks.sqlite), 5-60 passages per source, each source titled like a real one. Timed, per
engine, through :class:`~index.search.retrievers.LexicalRetriever` as a search calls it (synonyms
expanded, ``candidates`` = 100, strict then relaxed fill):

- the realistic mix: the queries of eval/csc-reports and eval/csc-seeds;
- frequent words: 2-3 word queries of the corpus's most frequent content words (``children social care``);
- a facet-filtered search (a tenth of the sources);
and the FTS5 look-ups that remain (exclusions over the candidates' sources, required phrases and
highlights over the candidates). Figures go to docs/benchmarks.md, "Lexical search at scale".
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import random
import re
import shutil
import sqlite3
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.search.query import STOPWORDS, parse_query, word_tokens
from index.search.retrievers import LexicalRetriever
from index.search.synonyms import Synonyms
from index.storage.local.store import KBDocumentStore

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpora"
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9“\"(])")
SEED = 16


# -- corpus ----------------------------------------------------------------------------------

def real_texts(from_sqlite: Path | None) -> tuple[list[str], list[str]]:
    """Texts and titles of real documents: a store's passages, or the shared Ofsted reports' pages."""
    if from_sqlite is not None:
        conn = sqlite3.connect(from_sqlite.resolve().as_uri() + "?mode=ro", uri=True)
        texts = [r[0] for r in conn.execute("SELECT content FROM chunks WHERE content != ''")]
        titles = sorted({r[0] for r in conn.execute("SELECT title FROM chunks WHERE title != ''")})
        return texts, titles
    import pypdfium2

    texts, titles = [], []
    for pdf in sorted((SHARED / "ofsted-ilacs" / "reports").glob("*.pdf")):
        document = pypdfium2.PdfDocument(pdf)
        try:
            texts.extend(" ".join(page.get_textpage().get_text_range().split()) for page in document)
        finally:
            document.close()
        council, _, date = pdf.stem.partition("_")
        titles.append(f"{council.replace('-', ' ').title()}: inspection of children's social care services {date}")
    return texts, titles


def sentences(texts: list[str]) -> list[str]:
    """Sentences of 5 to 60 words: what passages are recombined from."""
    found = []
    for text in texts:
        for sentence in _SENTENCE.split(" ".join(text.split())):
            if 5 <= len(sentence.split()) <= 60:
                found.append(sentence)
    return sorted(set(found))


def synthetic_rows(n: int, pool: list[str], titles: list[str]) -> Iterator[tuple[int, str, str, str, str]]:
    """(rowid, id, content, title, source_id) of ``n`` recombined passages, deterministic for ``n``."""
    rng = random.Random(SEED)
    rowid, source = 0, 0
    while rowid < n:
        source += 1
        source_id = f"src{source:07d}"
        title = rng.choice(titles)
        for _ in range(min(rng.randint(5, 60), n - rowid)):
            rowid += 1
            target, words, parts = rng.randint(150, 250), 0, []
            while words < target:
                sentence = pool[rng.randrange(len(pool))]
                parts.append(sentence)
                words += len(sentence.split())
            yield rowid, f"{source_id}-{rowid}", " ".join(parts), title, source_id


def corpus(n: int, work_dir: Path, from_sqlite: Path | None, rebuild_lexical: bool = False
           ) -> tuple[Path, dict[str, float]]:
    """The cached corpus of ``n`` passages (built on first use) and what building it cost."""
    where = work_dir / f"bench-lexical-{n}"
    built = where / "built.json"
    if built.is_file():
        cost = json.loads(built.read_text())
        if rebuild_lexical:
            shutil.rmtree(where / "lexical", ignore_errors=True)
            started = time.perf_counter()
            KBDocumentStore(where / "chunks.sqlite", read_only=True).save_lexical(where / "lexical")
            cost["tantivy_build_s"] = time.perf_counter() - started
            cost["tantivy_mb"] = sum(f.stat().st_size for f in (where / "lexical").iterdir()) / 1e6
            built.write_text(json.dumps(cost))
        return where, cost
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    texts, titles = real_texts(from_sqlite)
    pool = sentences(texts)
    print(f"  {n:,}: {len(pool):,} real sentences, {len(titles):,} titles", file=sys.stderr)
    store = KBDocumentStore(where / "chunks.sqlite")
    conn = store._conn()  # bulk rows straight into the store's own schema: Document objects would only cost time
    started = time.perf_counter()
    batch: list[tuple[int, str, str, str, str]] = []
    for row in synthetic_rows(n, pool, titles):
        batch.append(row)
        if len(batch) == 20_000:
            conn.executemany("INSERT INTO chunks(rowid, id, content, title, source_id) VALUES (?, ?, ?, ?, ?)", batch)
            batch = []
    conn.executemany("INSERT INTO chunks(rowid, id, content, title, source_id) VALUES (?, ?, ?, ?, ?)", batch)
    conn.commit()
    rows_s = time.perf_counter() - started
    started = time.perf_counter()
    conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES('rebuild')")
    conn.commit()
    fts_s = time.perf_counter() - started
    store.finalise()
    started = time.perf_counter()
    store.save_lexical(where / "lexical")
    tantivy_s = time.perf_counter() - started
    cost = {"rows_s": rows_s, "fts5_build_s": fts_s, "tantivy_build_s": tantivy_s,
            "sqlite_mb": (where / "chunks.sqlite").stat().st_size / 1e6,
            "tantivy_mb": sum(f.stat().st_size for f in (where / "lexical").iterdir()) / 1e6}
    built.write_text(json.dumps(cost))
    return where, cost


# -- queries ---------------------------------------------------------------------------------

def realistic_queries() -> list[str]:
    queries = []
    for name in ("csc-reports", "csc-seeds"):
        with open(ROOT / "eval" / name / "queries.jsonl", encoding="utf-8") as handle:
            queries.extend(json.loads(line)["text"] for line in handle if line.strip())
    return queries


def frequent_queries(conn: sqlite3.Connection, count: int = 24) -> list[str]:
    """2-3 word queries of the most frequent content words (by passages containing them, in a sample)."""
    frequency: Counter[str] = Counter()
    for (content,) in conn.execute("SELECT content FROM chunks WHERE rowid % 50 = 0"):
        frequency.update({w for w in word_tokens(content) if w not in STOPWORDS and not w.isdigit() and len(w) > 2})
    top = [w for w, _ in frequency.most_common(12)]
    pairs = [" ".join(p) for p in itertools.combinations(top[:8], 2)]
    triples = [" ".join(t) for t in itertools.combinations(top[:6], 3)]
    rng = random.Random(SEED)
    chosen = ["children social care", *rng.sample(pairs, min(len(pairs), count // 2)),
              *rng.sample(triples, min(len(triples), count // 2 - 1))]
    return chosen[:count]


def timed(fn: Callable[[str], object], queries: list[str], repeat: int = 1) -> dict[str, float]:
    """p50/p95/max in ms of ``fn`` over the queries (after one untimed call that warms the caches)."""
    fn(queries[0])
    times = []
    for _ in range(repeat):
        for q in queries:
            started = time.perf_counter()
            fn(q)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
            "max_ms": round(times[-1], 2)}


def measure(where: Path, args: argparse.Namespace) -> dict[str, object]:
    fts_store = KBDocumentStore(where / "chunks.sqlite", read_only=True)
    tv_store = KBDocumentStore(where / "chunks.sqlite", read_only=True, lexical_path=where / "lexical")
    conn = fts_store._conn()
    realistic = realistic_queries()
    frequent = frequent_queries(conn)
    synonyms = Synonyms.default()
    sources = [r[0] for r in conn.execute("SELECT DISTINCT source_id FROM chunks")]
    chosen = random.Random(SEED).sample(sources, len(sources) // 10)
    facet = {"field": "meta.source_id", "operator": "in", "value": chosen}
    result: dict[str, object] = {"passages": fts_store.count_documents(), "sources": len(sources),
                                 "frequent_queries": frequent[:6]}
    for engine, store in (("fts5", fts_store), ("tantivy", tv_store)):
        retriever = LexicalRetriever(store, top_k=100, with_content=False, title_weight=0.5)

        def search(raw: str, filters: dict | None = None, retriever: LexicalRetriever = retriever) -> object:
            return retriever.run(query=synonyms.expand(parse_query(raw)), filters=filters)

        if engine == "fts5" and args.skip_fts5:
            continue
        # FTS5 takes seconds a query at 1M: --fts5-queries times it on an even sample of each mix.
        step = max(1, len(realistic) // args.fts5_queries) if engine == "fts5" and args.fts5_queries else 1
        result[f"{engine}_realistic"] = timed(search, realistic[::step])
        result[f"{engine}_frequent"] = timed(search, frequent[:: max(1, step // 3)])
        result[f"{engine}_filtered"] = timed(lambda raw, search=search: search(raw, facet),
                                             frequent[:8][:: max(1, step // 4)])
        print(f"  {engine}: {json.dumps({k: v for k, v in result.items() if k.startswith(engine)})}", file=sys.stderr)

    # The checks a search makes on its candidates (index/ranking.py), on those of a frequent-word
    # search: FTS5's, unbounded or over the rows, and the lexical index's, bounded by the candidates.
    hits = LexicalRetriever(tv_store, top_k=200, with_content=False).run(query=parse_query(frequent[0]))["hits"]
    rowids = [h.rowid for h in hits]
    candidate_sources = {h.source_id for h in hits if h.source_id}
    word = frequent[0].split()[0]
    excluded = parse_query(f"{frequent[1]} -{word}")
    result["exclusion_fts5_whole_corpus"] = timed(lambda _: fts_store.sources_matching(excluded.exclusion_match()),
                                                  ["x"] * 3)
    result["exclusion_tantivy_among_candidates"] = timed(
        lambda _: tv_store.sources_matching(excluded.exclusion_match(), among=candidate_sources,
                                            plan=excluded.exclusion_plan()), ["x"] * 10)
    phrase = parse_query(f'"{" ".join(frequent[0].split()[:2])}"')
    result["required_phrase_200_fts5"] = timed(
        lambda _: fts_store.matching_rowids(phrase.required_match(), rowids), ["x"] * 5)
    result["required_phrase_200_tantivy"] = timed(
        lambda _: tv_store.matching_rowids(phrase.required_match(), rowids, plan=phrase.required_plan()), ["x"] * 10)
    near = parse_query(frequent[0]).proximity_match()
    result["proximity_30_fts5"] = timed(lambda _: fts_store.matching_rowids(near, rowids[:30]), ["x"] * 10)
    result["highlight_30_fts5"] = timed(
        lambda _: fts_store.highlight(parse_query(frequent[0]).highlight_match(), rowids[:30], "[", "]"), ["x"] * 10)
    result["matching_rowids_unbounded_fts5"] = timed(lambda _: fts_store.matching_rowids(f'"{word}"', None), ["x"] * 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated passage counts")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp"), help="where corpora are built and kept")
    parser.add_argument("--from-sqlite", type=Path, default=None,
                        help="recombine the passages of this chunks.sqlite (default: the shared Ofsted reports)")
    parser.add_argument("--rebuild-lexical", action="store_true", help="rebuild the kept corpora's tantivy index")
    parser.add_argument("--fts5-queries", type=int, default=0,
                        help="time FTS5 on about this many queries of the realistic mix (default: all)")
    parser.add_argument("--skip-fts5", action="store_true", help="time only the tantivy index")
    parser.add_argument("--json", action="store_true", help="end with one JSON object per size on its own line")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    rows = []
    for n in (int(s) for s in args.sizes.split(",") if s.strip()):
        where, cost = corpus(n, args.work_dir, args.from_sqlite, args.rebuild_lexical)
        measured = measure(where, args)
        row = {**{k: round(v, 1) for k, v in cost.items()}, **measured}
        rows.append(row)
        print(f"{n:,} passages: {json.dumps(row)}", file=sys.stderr)
    if args.json:
        for row in rows:
            print(json.dumps(row))


if __name__ == "__main__":
    main()
