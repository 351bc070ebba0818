"""Is our lexical side a fair BM25? Our tantivy ranking against bm25s (a reference BM25) on the eval collections.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_bm25.py [--collections scifact,npl] [--variants ours,ours-any-word]
        [--no-limits] [--every N] [--json results.json]
    PYTHONPATH=. .venv/bin/python benchmarks/bench_bm25.py --merge results.json --loo DEFAULT,CANDIDATE,...

bm25s needs the optional "bench" extra (``pip install -e .[bench]``: bm25s, PyStemmer).

For each BEIR collection (scifact, arguana, npl, cisi in ../shared/eval/, msmarco-5k and csc-seeds in
eval/), every judged query is scored with nDCG@10 (trec_eval's linear gain, as ir-measures and BEIR
report), nDCG@10 with gain 2^rel − 1 (the qrels' grades mapped to 2^g − 1, then the same measure) and
Recall@100, by ir-measures as :func:`index.evaluation.evaluate` does (a query with no results counts 0):

- ``bm25s-1.2/0.75`` and ``bm25s-0.9/0.4``: bm25s (Lucene's BM25, the idf tantivy uses) over
  ``title + " " + text`` of whole documents, lower-cased, bm25s's English stopwords (Lucene's 33),
  PyStemmer's English (Snowball) stemmer; k1/b as named (the common baselines).
- ``ours``: our lexical ranking exactly as ``kb eval --methods lexical`` runs it (synonyms, strict
  matches then relaxed ones, the proximity boost, best passage + 0.1 × second per source), over
  the passages of an index ``kb eval`` built (``--built DIR/<name>``, read-only) or, when there is
  none, passages cut here by :func:`ingest.split.split_passages` with the default sizes, each
  titled as the BEIR converter titles it.
- ablations of ours, each changing one thing (see ``VARIANTS``): the title's weight, the title
  as part of the text, plain any-word BM25 instead of strict-then-relaxed, whole documents
  instead of passages, the long-query limits lifted.

Queries our parser refuses (over 32 words or 500 characters) score 0 in "all"; "answered" is
every method over only the queries ours can search, so that both sides answer the same questions.
"""

from __future__ import annotations

import argparse
import json
import math
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tantivy

import index.search.query as query_module
import index.storage.local.lexical as lexical_module
from index.errors import QueryError
from index.evaluation import judged_queries, read_qrels, read_queries
from index.search.query import STOPWORDS, MatchPlan, parse_query
from index.search.ranking import PROXIMITY_DEPTH, boost_proximity, group_by_source, lexical_ranking
from index.search.synonyms import Synonyms
from index.settings import Settings
from index.storage.contract import LexicalRow, PassageHit
from index.storage.local.lexical import LexicalIndex

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "eval"
COLLECTIONS = {"scifact": SHARED / "scifact", "arguana": SHARED / "arguana", "npl": SHARED / "npl",
               "cisi": SHARED / "cisi", "msmarco-5k": ROOT / "eval" / "msmarco-5k",
               "csc-seeds": ROOT / "eval" / "csc-seeds"}
DEPTH = 100
BM25S = {"bm25s-1.2/0.75": (1.2, 0.75), "bm25s-0.9/0.4": (0.9, 0.4)}


@dataclass(frozen=True)
class Variant:
    """One way of running our lexical ranking; each field changes one thing from the defaults."""

    title_weight: float | None = None  # the title_weight setting (None: the default)
    title_in_text: bool | None = None  # the title also the first words of every passage's text (None: the module's)
    any_word: bool = False  # rank every passage matching any content word by BM25 (no strict-first)
    whole_documents: bool = False  # one passage per document, as bm25s sees it
    no_limits: bool = False  # the 32-word and 500-character query limits lifted
    stopwords: bool = False  # tantivy's English stopwords (Lucene's 33, as bm25s) left out of index and query
    query_tf: bool = False  # a word the query repeats counts as often in the any-word query (as bm25s counts it)


VARIANTS = {
    "ours": Variant(),
    "ours-title-field-only": Variant(title_in_text=False),
    "ours-title0": Variant(title_in_text=False, title_weight=0.0),
    "ours-title1": Variant(title_in_text=False, title_weight=1.0),
    "ours-title2": Variant(title_in_text=False, title_weight=2.0),
    "ours-title-in-text": Variant(title_in_text=True, title_weight=0.0),
    "ours-title-in-text-title0.5": Variant(title_in_text=True, title_weight=0.5),
    "ours-title-in-text-title1": Variant(title_in_text=True, title_weight=1.0),
    "ours-title-in-text-title2": Variant(title_in_text=True, title_weight=2.0),
    "ours-stopwords": Variant(stopwords=True),
    "ours-any-word": Variant(any_word=True),
    "ours-whole-docs": Variant(whole_documents=True),
    "ours-whole-docs-any-word-title-in-text": Variant(whole_documents=True, any_word=True, title_in_text=True,
                                                      title_weight=0.0),
    "ours-no-limits": Variant(no_limits=True),
    "ours-query-tf": Variant(query_tf=True),
}


@dataclass(frozen=True)
class Collection:
    name: str
    corpus: dict[str, tuple[str, str]]  # id -> (title, text)
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load(name: str, path: Path) -> Collection:
    corpus: dict[str, tuple[str, str]] = {}
    with open(path / "corpus.jsonl", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                corpus.setdefault(str(row["_id"]), (str(row.get("title") or ""), str(row.get("text") or "")))
    qrels = read_qrels(path / "qrels" / "test.tsv")
    return Collection(name, corpus, judged_queries(read_queries(path / "queries.jsonl"), qrels), qrels)


def measure(qrels: dict[str, dict[str, int]], run: dict[str, list[tuple[str, float]]], ids: list[str]
            ) -> dict[str, float]:
    """nDCG@10 (linear gain), nDCG@10 with gain 2^rel − 1, Recall@100: means over ``ids``, a missing query 0."""
    import ir_measures

    if not ids:
        return {"nDCG@10": math.nan, "nDCG@10 exp": math.nan, "Recall@100": math.nan}
    wanted = set(ids)
    run_dict = {q: {d: s for d, s in ranked} for q, ranked in run.items() if q in wanted and ranked}
    linear = {q: dict(docs) for q, docs in qrels.items() if q in wanted}
    exponential = {q: {d: (2 ** g - 1 if g > 0 else 0) for d, g in docs.items()} for q, docs in linear.items()}
    ndcg, recall = ir_measures.parse_measure("nDCG@10"), ir_measures.parse_measure("R@100")
    totals = {"nDCG@10": 0.0, "nDCG@10 exp": 0.0, "Recall@100": 0.0}
    for m in ir_measures.iter_calc([ndcg, recall], linear, run_dict):
        totals["nDCG@10" if m.measure == ndcg else "Recall@100"] += m.value
    for m in ir_measures.iter_calc([ndcg], exponential, run_dict):
        totals["nDCG@10 exp"] += m.value
    return {k: round(v / len(ids), 4) for k, v in totals.items()}


def per_query_ndcg(qrels: dict[str, dict[str, int]], run: dict[str, list[tuple[str, float]]], ids: list[str]
                   ) -> dict[str, float]:
    """nDCG@10 (linear gain) of each query of ``ids``; 0 for one with no results."""
    import ir_measures

    wanted = set(ids)
    run_dict = {q: {d: s for d, s in ranked} for q, ranked in run.items() if q in wanted and ranked}
    values = dict.fromkeys(ids, 0.0)
    for m in ir_measures.iter_calc([ir_measures.parse_measure("nDCG@10")],
                                   {q: dict(d) for q, d in qrels.items() if q in wanted}, run_dict):
        values[m.query_id] = m.value
    return values


def paired_randomisation(a: dict[str, float], b: dict[str, float], rounds: int = 10_000, seed: int = 15
                         ) -> tuple[float, float]:
    """Mean of a − b over the queries, and its two-sided p-value by a paired randomisation test
    (each query's difference flips sign at random)."""
    import numpy as np

    diffs = np.array([a[q] - b[q] for q in a])
    if not len(diffs):
        return math.nan, math.nan
    observed = abs(diffs.mean())
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(rounds, len(diffs)))
    extreme = np.sum(np.abs((signs * diffs).mean(axis=1)) >= observed - 1e-12)
    return round(float(diffs.mean()), 4), round(float((extreme + 1) / (rounds + 1)), 4)


# Paired tests reported for each collection (answered queries), when both runs are there.
PAIRS = [("ours", "ours-title-field-only"), ("ours", "bm25s-1.2/0.75"), ("ours", "bm25s-0.9/0.4")]


def strictly_decreasing(ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
    from index.evaluation import strictly_decreasing as order

    return order(ranked)


# -- bm25s --------------------------------------------------------------------------------------


def bm25s_runs(collection: Collection) -> dict[str, dict[str, list[tuple[str, float]]]]:
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    ids = list(collection.corpus)
    texts = [f"{t} {x}" for t, x in collection.corpus.values()]
    doc_tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
    qids = list(collection.queries)
    query_tokens = bm25s.tokenize([collection.queries[q] for q in qids], stopwords="en", stemmer=stemmer,
                                  return_ids=False, show_progress=False)
    runs = {}
    for name, (k1, b) in BM25S.items():
        retriever = bm25s.BM25(k1=k1, b=b)
        retriever.index(doc_tokens, show_progress=False)
        vocab = retriever.vocab_dict
        run: dict[str, list[tuple[str, float]]] = {}
        k = min(DEPTH, len(ids))
        for qid, tokens in zip(qids, query_tokens, strict=True):
            known = [t for t in tokens if t in vocab]
            if not known:
                run[qid] = []
                continue
            found, scores = retriever.retrieve([known], k=k, show_progress=False, n_threads=1)
            run[qid] = strictly_decreasing([(ids[int(i)], float(s)) for i, s in zip(found[0], scores[0], strict=True)
                                            if s > 0])
        runs[name] = run
    return runs


# -- ours ---------------------------------------------------------------------------------------


def built_passages(generation: Path) -> list[LexicalRow]:
    """The passages of an index ``kb eval`` built, read-only."""
    db = sqlite3.connect(f"file:{generation / 'chunks.sqlite'}?mode=ro", uri=True)
    try:
        return [LexicalRow(rowid=r[0], source_id=r[1], title=r[2], content=r[3] or "")
                for r in db.execute("SELECT rowid, source_id, title, content FROM chunks ORDER BY rowid")]
    finally:
        db.close()


def cut_passages(collection: Collection, path: Path, settings: Settings) -> list[LexicalRow]:
    """Passages cut as the ingest cuts them (default sizes), titled as the BEIR converter titles them."""
    from ingest.split import split_passages

    rows = []
    for doc_id, (title, text) in collection.corpus.items():
        if not text.strip():
            continue
        title = title or f"{path.name} {doc_id}"
        for span in split_passages(text, settings.chunk_min_words, settings.chunk_max_words,
                                   settings.chunk_overlap_words):
            rows.append(LexicalRow(len(rows) + 1, doc_id, title, text[span.start:span.end]))
    return rows


def whole_documents(rows: list[LexicalRow]) -> list[LexicalRow]:
    """One row per source: its passages' text joined (overlaps and all: close to the document)."""
    by_source: dict[str, list[LexicalRow]] = {}
    for row in rows:
        by_source.setdefault(row.source_id, []).append(row)
    return [LexicalRow(n, sid, parts[0].title, "\n".join(p.content for p in parts))
            for n, (sid, parts) in enumerate(by_source.items(), start=1)]


@contextmanager
def lifted_limits(on: bool) -> Iterator[None]:
    saved = query_module.MAX_TERMS
    if on:
        query_module.MAX_TERMS = 10**6
    try:
        yield
    finally:
        query_module.MAX_TERMS = saved


@contextmanager
def stopword_analyzer(on: bool) -> Iterator[None]:
    """The module's analyzer with tantivy's English stopword filter after lower-casing (an experiment)."""
    saved = lexical_module._analyzer
    if on:
        def analyzer() -> tantivy.TextAnalyzer:
            return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
                    .filter(tantivy.Filter.remove_long(100)).filter(tantivy.Filter.lowercase())
                    .filter(tantivy.Filter.ascii_fold()).filter(tantivy.Filter.stopword("english"))
                    .filter(tantivy.Filter.stemmer("english")).build())
        lexical_module._analyzer = analyzer
    try:
        yield
    finally:
        lexical_module._analyzer = saved


def without_unindexed(index: LexicalIndex, plan: MatchPlan | None) -> MatchPlan | None:
    """``plan`` less the words the analyzer drops (stopwords), and less clauses left empty."""
    if plan is None:
        return None
    clauses = tuple(c for c in (tuple(t for t in clause if index.analyze(t)) for clause in plan.clauses) if c)
    return replace(plan, clauses=clauses) if clauses else None


def our_run(collection: Collection, rows: list[LexicalRow], variant: Variant, settings: Settings, work: Path
            ) -> tuple[dict[str, list[tuple[str, float]]], set[str]]:
    """Our lexical ranking of every query: ``(run, ids of the queries refused)``."""
    if variant.whole_documents:
        rows = whole_documents(rows)
    path = work / f"lex-{time.monotonic_ns()}"
    saved = lexical_module.TITLE_IN_TEXT
    try:
        if variant.title_in_text is not None:
            lexical_module.TITLE_IN_TEXT = variant.title_in_text
        with stopword_analyzer(variant.stopwords):
            LexicalIndex.build(path, rows)
            index = LexicalIndex.open(path)
    finally:
        lexical_module.TITLE_IN_TEXT = saved
    texts = {r.rowid: (r.content, r.title) for r in rows}
    sources = {r.rowid: r.source_id for r in rows}
    synonyms = Synonyms.default() if settings.synonyms else None
    weight = settings.title_weight if variant.title_weight is None else variant.title_weight
    n = max(settings.candidates, DEPTH)

    def hits(found: list[tuple[int, float]]) -> list[PassageHit]:
        return [PassageHit(rowid, str(rowid), sources[rowid], "", {}, score) for rowid, score in found]

    run: dict[str, list[tuple[str, float]]] = {}
    refused: set[str] = set()
    with lifted_limits(variant.no_limits):
        for qid, text in collection.queries.items():
            try:
                parsed = parse_query(text, max_chars=10**7 if variant.no_limits else settings.max_query_chars)
            except QueryError:
                refused.add(qid)
                continue
            widened = synonyms.expand(parsed) if synonyms else parsed
            strict_plan, relaxed_plan = widened.strict_plan(), widened.relaxed_plan()
            if variant.query_tf and relaxed_plan is not None:
                repeated = tuple(t for c in widened.clauses if not (len(c) == 1 and c[0].quoted) for t in c
                                 if t.is_phrase or t.text not in STOPWORDS)
                relaxed_plan = replace(relaxed_plan, clauses=(repeated or relaxed_plan.clauses[0],
                                                              *relaxed_plan.clauses[1:]))
            if variant.stopwords:
                strict_plan = without_unindexed(index, strict_plan)
                relaxed_plan = without_unindexed(index, relaxed_plan)
            if variant.any_word:
                plan = relaxed_plan or strict_plan
                found = hits(index.search(plan, n, title_weight=weight)) if plan else []
            else:
                strict = hits(index.search(strict_plan, n, title_weight=weight)) if strict_plan else []
                relaxed = (hits(index.search(relaxed_plan, n - len(strict), exclude_rowids={h.rowid for h in strict},
                                             title_weight=weight))
                           if relaxed_plan is not None and len(strict) < n else [])
                found = lexical_ranking(strict, relaxed)
            if parsed.proximity_match() and settings.proximity_boost and found:
                head = {h.rowid: texts[h.rowid] for h in found[:PROXIMITY_DEPTH]}
                close = index.near(parsed.proximity_terms(), head, parsed.proximity_gap())
                found = boost_proximity(found, close, settings.proximity_boost)
            run[qid] = strictly_decreasing([(s.source_id, s.score) for s in group_by_source(found)[:DEPTH]])
    return run, refused


# -- the table ----------------------------------------------------------------------------------


def kb_eval_lexical(log: Path, judged: int) -> dict[str, float] | None:
    """Our lexical figures as ``kb eval`` logged them (all queries; answered = scaled by the share searched)."""
    if not log.is_file() or not log.stat().st_size:
        return None
    report = json.loads(log.read_text(encoding="utf-8"))
    figures = report["methods"].get("lexical")
    if not figures:
        return None
    answered = judged - len(report.get("failed_queries", {}))
    return {"nDCG@10": figures["nDCG@10"], "Recall@100": figures["Recall@100"],
            "answered nDCG@10": round(figures["nDCG@10"] * judged / answered, 4) if answered else math.nan}


def leave_one_out(results: dict[str, dict], candidates: list[str], measure_name: str = "nDCG@10"
                  ) -> dict[str, dict[str, object]]:
    """For each collection, the candidate with the best mean ``measure_name`` (answered queries) on the
    others, and its figure there against the default's (``candidates[0]``, which wins ties)."""
    out: dict[str, dict[str, object]] = {}
    names = [n for n in results if all(c in results[n]["methods"] for c in candidates)]
    for held in names:
        others = [n for n in names if n != held]

        def mean(candidate: str, among: list[str]) -> float:
            return sum(results[n]["methods"][candidate]["answered"][measure_name] for n in among) / len(among)

        chosen = max(candidates, key=lambda c: (round(mean(c, others), 6), -candidates.index(c)))
        held_figures = results[held]["methods"]
        out[held] = {"chosen": chosen, "held_out": held_figures[chosen]["answered"][measure_name],
                     "default": held_figures[candidates[0]]["answered"][measure_name]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collections", default=",".join(COLLECTIONS))
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"some of {', '.join(VARIANTS)}")
    parser.add_argument("--built", default="/work/eval-data/base/{name}",
                        help="the data directory kb eval built for each collection (read only; passages only)")
    parser.add_argument("--logs", default="/work/eval-logs/base-{name}.json",
                        help="kb eval's JSON report for each collection: its index is used once this is written")
    parser.add_argument("--json", default=None, help="write every figure here")
    parser.add_argument("--no-limits", action="store_true", help="every variant of ours with the query limits "
                        "lifted (as ours-no-limits), for collections of long queries")
    parser.add_argument("--every", type=int, default=1, help="only every N-th judged query (in the file's order), "
                        "to measure a collection of many long queries in less time")
    parser.add_argument("--loo", default=None, help="comma-separated candidate variants (the default first): "
                        "choose one leave-one-collection-out over the results of --merge")
    parser.add_argument("--merge", default=None, help="comma-separated JSON files of earlier runs: print the "
                        "leave-one-out choice over them instead of running")
    args = parser.parse_args()
    if args.merge:
        merged: dict[str, dict] = {}
        for file in args.merge.split(","):
            merged.update(json.loads(Path(file).read_text(encoding="utf-8")))
        candidates = [c.strip() for c in (args.loo or "").split(",") if c.strip()]
        print(f"{'held out':12}{'chosen on the others':36}{'nDCG@10':>9}{'default':>9}{'diff':>9}")
        for held, row in leave_one_out(merged, candidates).items():
            diff = float(row["held_out"]) - float(row["default"])  # type: ignore[arg-type]
            print(f"{held:12}{row['chosen']!s:36}{row['held_out']:9.4f}{row['default']:9.4f}{diff:+9.4f}")
        return
    settings = Settings()
    results: dict[str, dict[str, object]] = {}
    for name in [c.strip() for c in args.collections.split(",") if c.strip()]:
        started = time.perf_counter()
        collection = load(name, COLLECTIONS[name])
        if args.every > 1:
            collection = replace(collection, queries=dict(list(collection.queries.items())[:: args.every]))
        log = Path(args.logs.format(name=name))
        generations = sorted((Path(args.built.format(name=name)) / "generations").glob("*/chunks.sqlite"))
        if generations and log.is_file() and log.stat().st_size:
            rows, passages = built_passages(generations[-1].parent), f"kb eval's index {generations[-1].parent}"
        else:
            rows, passages = cut_passages(collection, COLLECTIONS[name], settings), "cut here (split_passages)"
        runs = bm25s_runs(collection)
        refused: set[str] = set()
        with tempfile.TemporaryDirectory(prefix="bench-bm25-") as work:
            for variant in [v.strip() for v in args.variants.split(",") if v.strip()]:
                chosen = replace(VARIANTS[variant], no_limits=True) if args.no_limits else VARIANTS[variant]
                runs[variant], refused_now = our_run(collection, rows, chosen, settings, Path(work))
                if variant == "ours":
                    refused = refused_now
        every = list(collection.queries)
        answered = [q for q in every if q not in refused]
        table = {method: {"all": measure(collection.qrels, run, every),
                          "answered": measure(collection.qrels, run, answered)} for method, run in runs.items()}
        paired = {}
        for first, second in PAIRS:
            if first in runs and second in runs:
                mean, p = paired_randomisation(per_query_ndcg(collection.qrels, runs[first], answered),
                                               per_query_ndcg(collection.qrels, runs[second], answered))
                paired[f"{first} - {second}"] = {"nDCG@10": mean, "p": p}
        results[name] = {"paired": paired, "queries": len(every), "answered": len(answered), "passages": len(rows),
                         "passages_from": passages, "documents": len(collection.corpus), "methods": table,
                         "kb_eval_lexical": kb_eval_lexical(log, len(every)),
                         "seconds": round(time.perf_counter() - started, 1)}
        print(f"\n{name}: {len(every)} judged queries, {len(answered)} answered by ours; "
              f"{len(collection.corpus)} documents, {len(rows)} passages ({passages})")
        print(f"{'method':42}{'nDCG@10':>9}{'exp':>8}{'R@100':>8}   | answered:{'nDCG@10':>8}{'exp':>8}{'R@100':>8}")
        for method, figures in table.items():
            a, s = figures["all"], figures["answered"]
            print(f"{method:42}{a['nDCG@10']:9.4f}{a['nDCG@10 exp']:8.4f}{a['Recall@100']:8.4f}   |          "
                  f"{s['nDCG@10']:8.4f}{s['nDCG@10 exp']:8.4f}{s['Recall@100']:8.4f}")
        for pair, row in paired.items():
            print(f"paired over answered queries, {pair}: {row['nDCG@10']:+.4f} nDCG@10, p = {row['p']}")
        if results[name]["kb_eval_lexical"]:
            print(f"kb eval's own lexical figures: {results[name]['kb_eval_lexical']}")
        sys.stdout.flush()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
