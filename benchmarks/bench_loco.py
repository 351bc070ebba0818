"""Leave-one-collection-out ranking: every choice made on the other collections, reported on the one held out.

    .venv/bin/python benchmarks/bench_loco.py [--data-root /work/eval-data/base] [--collections ...]
        [--grid fusion] [--json out.json] [--markdown]

For each collection the queries are searched ONCE (lexical strict and relaxed candidates, dense
candidates, which of them hold the query's words close together) and kept in
``DATA_ROOT/<name>/loco-*.pickle``; every ranking variant is then the production code
(:func:`index.search.ranking.fuse_candidates`, :func:`~index.search.ranking.rank_passages` and
:func:`~index.search.ranking.group_by_source`, or a candidate fusion written here) replayed over those
candidates, so a grid of a hundred variants over seven
collections takes minutes, not hours.

Protocol (issue 15): for each held-out collection, the variant with the best mean margin over the
better single retriever (nDCG@10, linear gain) on the OTHER collections is chosen and its figures on the
held-out one are reported; a collection in ``HELD_OUT_ONLY`` (csc-practice, issue 24) never takes part in
choosing: its own fold is chosen on the seven others, every other fold on six. Each with a paired
randomisation test against the better single retriever over that collection's queries. Both gain
conventions are reported: linear (trec_eval, ir-measures, BEIR) and 2^rel − 1 (qrels grades mapped to
2^g − 1, then the same linear nDCG).

Collections (name → BEIR folder, and for csc-reports the folder of files it judges by file stem):
scifact, arguana, npl, cisi (``../shared/eval``), msmarco-5k, csc-seeds (``eval/``), csc-reports and
csc-practice (``eval/csc-reports``, ``eval/csc-practice`` over ``../shared/corpora``, one index in
DATA_ROOT/csc-reports). An index missing from DATA_ROOT/<name> is built by ``kb eval``'s ingest first
(minutes per collection: the passages are embedded).

What the searcher does after ranking the candidates is replayed too (issue 23, :mod:`index.search.matching`):
only the sources the search matches are kept, a source linked to a project the query names is lifted
(``named_boost``), "every word first" reads the account of what each source holds, and the matched sources
the candidates did not reach follow the ranked ones, so that ``production (defaults)`` is ``kb eval``'s
production row.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import pickle
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index import offline  # noqa: F401
from index.errors import QueryError
from index.evaluation import bootstrap_ci, randomisation_p
from index.search.query import ParsedQuery, parse_query
from index.search.ranking import (
    MatchAnswers,
    RankedSource,
    about,
    boost_proximity,
    boosted,
    closer_as_a_whole,
    fuse_candidates,
    group_by_source,
    lexical_ranking,
    rank_passages,
    words_first,
)
from index.settings import Settings, load_settings
from index.storage.contract import PassageHit

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEPTH = 100

# name → (BEIR folder, folder of files judged by stem or None)
COLLECTIONS: dict[str, tuple[Path, Path | None]] = {
    "scifact": (SHARED / "eval" / "scifact", None),
    "arguana": (SHARED / "eval" / "arguana", None),
    "npl": (SHARED / "eval" / "npl", None),
    "cisi": (SHARED / "eval" / "cisi", None),
    "msmarco-5k": (ROOT / "eval" / "msmarco-5k", None),
    "csc-seeds": (ROOT / "eval" / "csc-seeds", None),
    "csc-reports": (ROOT / "eval" / "csc-reports", SHARED / "corpora"),
    "csc-practice": (ROOT / "eval" / "csc-practice", SHARED / "corpora"),
}
# Collections searched over another's index (DATA_ROOT/<that name>).
INDEX_OF = {"csc-practice": "csc-reports"}
# Collections only ever reported held out (issue 24: the practitioners' queries choose nothing).
HELD_OUT_ONLY = ("csc-practice",)
# Settings that change the candidates themselves (the rest only change how they are ranked).
RETRIEVAL_SETTINGS = ("synonyms", "title_weight", "candidates", "query_int8", "max_query_chars")


@dataclass(frozen=True)
class Matched:
    """What the searcher's account of the whole match (:class:`index.search.matching.SourceAccount`) says that the
    ranking reads, kept for the candidates' sources: which the search matches, which hold every word, how many
    passages of each hold the words; and the first of every matched source in the account's order (enough to
    follow any ranked head to ``DEPTH``)."""

    sources: frozenset[str]
    all_words: frozenset[str]
    passages: dict[str, int]
    order: tuple[str, ...]


@dataclass
class Candidates:
    """One query's candidates, as the searcher's retrievers return them (raw scores)."""

    qid: str
    parsed: ParsedQuery | None  # None: the query was refused
    strict: list[PassageHit] = field(default_factory=list)
    relaxed: list[PassageHit] = field(default_factory=list)
    dense: list[PassageHit] = field(default_factory=list)
    near: set[int] = field(default_factory=set)  # candidates holding the content words close together
    required: set[int] | None = None  # candidates holding the phrases the user quoted (None: no such phrase)
    banned: set[str] = field(default_factory=set)  # candidates' sources holding an excluded word
    matched: Matched | None = None  # the fused methods' account (None: a generation without one)
    matched_lexical: Matched | None = None  # the lexical method's (words only)
    linked: frozenset[str] = frozenset()  # candidates' sources linked to a project the query names
    closeness: dict[str, float] = field(default_factory=dict)  # candidates' sources: cosine to their mean vector


@dataclass
class Collection:
    name: str
    qrels: dict[str, dict[str, int]]
    queries: dict[str, str]
    candidates: dict[str, Candidates]
    stems: dict[str, list[str]] | None  # files mode: source id → file stems


def _strip(hits: Iterable[PassageHit]) -> list[PassageHit]:
    return [PassageHit(h.rowid, h.id, h.source_id, "", {}, float(h.score)) for h in hits]


def kept_match(account: Any, among: set[str]) -> Matched | None:
    """The part of a search's account the replayed ranking reads, for the candidates' sources ``among``."""
    if account is None:
        return None
    return Matched(account.sources & among, account.all_words & among,
                   {s: n for s, n in account.passages.items() if s in among},
                   tuple(account.order([])[: DEPTH + len(among)]))


def _plain(matched: Matched | None) -> tuple[Any, ...] | None:
    return None if matched is None else dataclasses.astuple(matched)


def _candidates(qid: str, fields: tuple[Any, ...]) -> Candidates:
    parsed, strict, relaxed, dense, near, required, banned, matched, matched_lexical, linked, closeness = fields
    return Candidates(qid, parsed, strict, relaxed, dense, near, required, banned,
                      None if matched is None else Matched(*matched),
                      None if matched_lexical is None else Matched(*matched_lexical), linked, closeness)


def gather(name: str, data_dir: Path, settings: Settings, progress: bool = True) -> Collection:
    """The collection's queries, judgements and each judged query's candidates (cached on disk)."""
    from index.evaluation import judged_queries, read_qrels, read_queries
    from index.search.searcher import Searcher
    from index.storage import open_generation
    from kbcli.evaluate import collection_files, run_eval, source_stems

    dataset, files = COLLECTIONS[name]
    _, queries_file, qrels_file = collection_files(dataset, "test", with_corpus=files is None)
    queries, qrels = read_queries(queries_file), read_qrels(qrels_file)
    judged = judged_queries(queries, qrels)
    index_settings = settings.replace(data_dir=data_dir, canaries="")
    try:
        generation = open_generation(index_settings)
    except Exception:
        run_eval(dataset, settings, data_dir, methods=("lexical",), files=files, progress=progress)
        generation = open_generation(index_settings)
    key = hashlib.sha1(json.dumps(["v5", name, generation.id] + [str(getattr(settings, s)) for s in RETRIEVAL_SETTINGS])
                       .encode()).hexdigest()[:12]
    cache = data_dir / f"loco-{key}.pickle"
    if cache.is_file():
        with cache.open("rb") as handle:
            kept: dict[str, Any] = pickle.load(handle)
        generation.store.close()
        return Collection(name, qrels, judged, {q: _candidates(q, fields) for q, fields in kept["candidates"].items()},
                          kept["stems"])
    searcher = Searcher(index_settings, generation)
    projects = searcher.facet_table.postings.get("project", {})
    n = max(settings.candidates, DEPTH)
    candidates: dict[str, Candidates] = {}
    started = time.perf_counter()
    for number, (qid, text) in enumerate(judged.items(), start=1):
        try:
            parsed = parse_query(text, max_chars=settings.max_query_chars)
        except QueryError:
            candidates[qid] = Candidates(qid, None)
            continue
        widened = searcher.widened(parsed)
        lexical = searcher.lexical.run(query=widened, top_k=n)
        vector = searcher.embedder.embed(parsed.dense_text())
        dense = searcher.dense.run(query_embedding=vector, top_k=n)["hits"]
        union = list(dict.fromkeys(h.rowid for h in [*lexical["hits"], *lexical["relaxed_hits"], *dense]))
        near = searcher.store.near_rowids(parsed, union) if parsed.proximity_match() else set()
        required = (searcher.store.matching_rowids(parsed.required_match(), union, plan=parsed.required_plan())
                    if parsed.required_match() else None)
        sources = {h.source_id for h in [*lexical["hits"], *lexical["relaxed_hits"], *dense] if h.source_id}
        banned = (searcher.store.sources_matching(parsed.exclusion_match(), among=sources,
                                                  plan=parsed.exclusion_plan()) if parsed.exclusion_match() else set())
        linked = frozenset(s for f in searcher.filter_names.named(parsed.raw) if f.facet == "project"
                           for s in projects.get(f.value, ())) & sources
        candidates[qid] = Candidates(qid, parsed, _strip(lexical["hits"]), _strip(lexical["relaxed_hits"]),
                                     _strip(dense), set(near), None if required is None else set(required), set(banned),
                                     kept_match(searcher.account(parsed, widened, settings.fusion, vector), sources),
                                     kept_match(searcher.account(parsed, widened, "lexical", None), sources), linked,
                                     searcher.closeness(vector, sorted(sources)))
        if progress and number % 200 == 0:
            print(f"  {name}: {number}/{len(judged)} queries, {time.perf_counter() - started:.0f} s", flush=True)
    stems = None
    if files is not None:
        ids = {h.source_id for c in candidates.values() for h in [*c.strict, *c.relaxed, *c.dense] if h.source_id}
        ids |= {s for c in candidates.values() for m in (c.matched, c.matched_lexical) if m for s in m.order}
        stems = source_stems(generation.store, ids)
    generation.store.close()
    with cache.open("wb") as handle:
        # Plain tuples of the index's own types, so that any script (not only this one as __main__) reads it.
        pickle.dump({"candidates": {q: (c.parsed, c.strict, c.relaxed, c.dense, c.near, c.required, c.banned,
                                        _plain(c.matched), _plain(c.matched_lexical), c.linked, c.closeness)
                                    for q, c in candidates.items()},
                     "stems": stems}, handle)
    return Collection(name, qrels, judged, candidates, stems)


# Invented words (and real ones the collections do not hold): a search for them should find nothing.
NONWORDS = ("xyzzyq", "asdfgh qwerty", "zorblax frimmel", "quibbletrask", "plovenix snarfwidget", "wuzzlegrump",
            "kerfloomp", "zebra crossing quantum")


def nonword_cosines(data_dir: Path, settings: Settings) -> dict[str, float]:
    """The best dense cosine each of :data:`NONWORDS` reaches in the collection (the floor must be above)."""
    from index.search.searcher import Searcher
    from index.storage import open_generation

    generation = open_generation(settings.replace(data_dir=data_dir, canaries=""))
    searcher = Searcher(settings.replace(data_dir=data_dir, canaries=""), generation)
    out = {}
    for text in NONWORDS:
        hits = searcher.dense.run(query_embedding=searcher.embedder.embed(text), top_k=1)["hits"]
        out[text] = round(hits[0].score, 4) if hits else 0.0
    generation.store.close()
    return out


# A ranking variant: one query's candidates → its sources, best first.
Variant = Callable[[Candidates, Settings], list[RankedSource]]


def production(c: Candidates, settings: Settings) -> list[RankedSource]:
    """The production ranking (steps 1 and 3-7 of index.search.ranking) under ``settings``."""
    assert c.parsed is not None
    method = settings.fusion
    strict, relaxed = (c.strict, c.relaxed) if method != "dense" else ([], [])
    dense = c.dense if method != "lexical" else []
    fused = fuse_candidates(c.parsed, strict, relaxed, dense, settings)
    # Proximity, required phrases and exclusions were looked up once, over all of the query's candidates.
    answers = MatchAnswers(frozenset(c.near), None if c.required is None else frozenset(c.required),
                           frozenset(c.banned))
    parsed = c.parsed
    hits = rank_passages(parsed, fused, answers, settings)
    return matched_sources(c, group_by_source(hits), settings, method,
                           lambda grouped, all_words: words_first(grouped, all_words, parsed, settings))


def matched_sources(c: Candidates, grouped: list[RankedSource], settings: Settings, method: str,
                    first: Callable[[list[RankedSource], set[str]], list[RankedSource]],
                    source_meaning: float | None = None) -> list[RankedSource]:
    """What the searcher does with the ranked sources (``Searcher._sources``, ``_order`` and ``rank``): keeps those
    the search matches, lifts those linked to a project the query names (``named_boost``, fused methods) and those
    close in meaning as a whole (``source_meaning``, default the setting ``source_meaning_weight``), puts
    first by ``first`` those holding every word (a strict passage, and every word by the account), then lists
    the matched sources the candidates did not reach below the lowest ranked (scores as ``Searcher.rank``)."""
    strict = {h.source_id for h in c.strict if h.source_id}
    matched = c.matched_lexical if method == "lexical" else c.matched
    if matched is None or method == "dense":
        return first(grouped, strict)
    grouped = [r for r in grouped if r.source_id in matched.sources]
    if method not in ("dense", "lexical"):
        grouped = about(grouped, matched.passages, settings.about_weight)
        if settings.named_boost:
            grouped = boosted(grouped, set(c.linked), settings.named_boost)
        weight = settings.source_meaning_weight if source_meaning is None else source_meaning
        grouped = closer_as_a_whole(grouped, c.closeness, weight)
    grouped = first(grouped, strict & matched.all_words)
    lowest = min((r.score for r in grouped), default=0.0)
    seen = {r.source_id for r in grouped}
    rest = [s for s in matched.order if s not in seen]
    return grouped + [RankedSource(s, lowest - 1.0 - at * 1e-6, []) for at, s in enumerate(rest, start=len(grouped))]


def run_of(collection: Collection, variant: Variant, settings: Settings) -> dict[str, list[tuple[str, float]]]:
    from index.evaluation import strictly_decreasing
    from kbcli.evaluate import by_file_stem

    run: dict[str, list[tuple[str, float]]] = {}
    for qid, c in collection.candidates.items():
        if c.parsed is None:
            continue
        ranked = variant(c, settings)[:DEPTH]
        run[qid] = strictly_decreasing([(s.source_id, s.score) for s in ranked])
    if collection.stems is not None:
        run = by_file_stem(run, collection.stems)
    return run


def per_query(collection: Collection, run: dict[str, list[tuple[str, float]]]) -> dict[str, np.ndarray]:
    """nDCG@10 (linear gain and 2^rel − 1) and Recall@100 per judged query, in the collection's query order
    (a refused or empty query scores 0)."""
    import ir_measures

    ids = list(collection.candidates)
    index = {q: i for i, q in enumerate(ids)}
    out = {k: np.zeros(len(ids)) for k in ("ndcg", "ndcg_exp", "recall")}
    run_dict = {q: {d: s for d, s in ranked} for q, ranked in run.items() if ranked}
    linear = {q: dict(collection.qrels.get(q, {})) for q in ids}
    exp = {q: {d: (2 ** g - 1 if g > 0 else g) for d, g in docs.items()} for q, docs in linear.items()}
    measures = [ir_measures.parse_measure("nDCG@10"), ir_measures.parse_measure("R@100")]
    for metric in ir_measures.iter_calc(measures, linear, run_dict):
        out["ndcg" if str(metric.measure) == "nDCG@10" else "recall"][index[metric.query_id]] = metric.value
    for metric in ir_measures.iter_calc(measures[:1], exp, run_dict):
        out["ndcg_exp"][index[metric.query_id]] = metric.value
    return out


# ---------------------------------------------------------------- the grid of candidate variants


def _norm_minmax(scores: np.ndarray) -> np.ndarray:
    span = scores.max() - scores.min()
    return np.ones_like(scores) if span < 1e-12 else (scores - scores.min()) / span


def _norm_zscore(scores: np.ndarray) -> np.ndarray:
    sd = scores.std()
    return np.zeros_like(scores) if sd < 1e-12 else (scores - scores.mean()) / sd


def _norm_dbsf(scores: np.ndarray) -> np.ndarray:
    """Distribution-based score fusion: (x − (μ − 3σ)) / 6σ, the 3σ band mapped to [0, 1]."""
    mu, sd = scores.mean(), scores.std()
    return np.ones_like(scores) if sd < 1e-12 else (scores - (mu - 3 * sd)) / (6 * sd)


def _norm_max(scores: np.ndarray) -> np.ndarray:
    top = scores.max()
    return scores / top if top > 1e-12 else np.zeros_like(scores)


NORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "minmax": _norm_minmax, "zscore": _norm_zscore, "dbsf": _norm_dbsf, "max": _norm_max,
}


def _fused(lexical: list[PassageHit], dense: list[PassageHit], norm: str, w: float) -> list[PassageHit]:
    """Convex combination w · norm(dense) + (1 − w) · norm(lexical); a passage missing from a list gets that
    list's lowest normalised value (its score is at most the list's last)."""
    by_row = {h.rowid: h for h in dense}
    by_row.update({h.rowid: h for h in lexical if h.rowid not in by_row})
    scores = dict.fromkeys(by_row, 0.0)
    for weight, hits in ((w, dense), (1.0 - w, lexical)):
        if not hits or weight == 0:
            continue
        values = NORMS[norm](np.array([h.score for h in hits]))
        floor = float(values.min()) if norm != "minmax" else 0.0
        seen = set()
        for h, v in zip(hits, values, strict=True):
            scores[h.rowid] += weight * float(v)
            seen.add(h.rowid)
        for rowid in scores.keys() - seen:
            scores[rowid] += weight * floor
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [PassageHit(r, by_row[r].id, by_row[r].source_id, "", {}, s) for r, s in ranked]


def _rrf(lexical: list[PassageHit], dense: list[PassageHit], w: float, k: int) -> list[PassageHit]:
    by_row = {h.rowid: h for h in dense}
    by_row.update({h.rowid: h for h in lexical if h.rowid not in by_row})
    scores = dict.fromkeys(by_row, 0.0)
    for weight, hits in ((w, dense), (1.0 - w, lexical)):
        for rank, h in enumerate(hits):
            scores[h.rowid] += weight / (k + rank + 1)
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [PassageHit(r, by_row[r].id, by_row[r].source_id, "", {}, s) for r, s in ranked]


def content_words(c: Candidates) -> int:
    assert c.parsed is not None
    from index.search.query import STOPWORDS

    return sum(1 for clause in c.parsed.clauses for t in clause[:1] if t.is_phrase or t.text not in STOPWORDS)


def _ordinal(hit: PassageHit) -> int:
    return int(hit.id.rsplit("-", 1)[1]) if "-" in hit.id else 0


def aggregate(hits: list[PassageHit], agg: str) -> list[RankedSource]:
    """Sources from ranked passages, scored by ``agg``:

    - second (production): best + 0.1 × second best;
    - best: the best passage alone;
    - decayD: best + D × second + D² × third (D = 0.3, 0.5);
    - window: the best passage plus half of its better neighbour (the passage before or after it in the
      source), maximised over the source's passages: two adjacent relevant passages count more than two
      apart.
    """
    if agg == "second":
        return group_by_source(hits)
    by_source: dict[str, list[PassageHit]] = {}
    for hit in hits:
        by_source.setdefault(hit.source_id or hit.id, []).append(hit)
    ranked = []
    for source_id, passages in by_source.items():
        values = [p.score for p in passages]
        if agg == "best":
            value = values[0]
        elif agg.startswith("decay"):
            d = float(agg[5:])
            value = sum(v * d ** i for i, v in enumerate(values[:3]))
        else:
            at = {_ordinal(p): p.score for p in passages}
            value = max(v + 0.5 * max(at.get(o - 1, 0.0), at.get(o + 1, 0.0), 0.0) for o, v in at.items())
        ranked.append(RankedSource(source_id, value, passages))
    ranked.sort(key=lambda source: (-source.score, source.source_id))
    return ranked


@dataclass(frozen=True)
class GridVariant:
    """A fusion variant: ``norm`` (minmax, zscore, dbsf, max, rrf; or lexical / dense for one retriever alone),
    dense weight ``w``, proximity ``boost``, source scores by ``agg`` (:func:`aggregate`); ``rule`` makes
    the weight depend on the query:

    - fixed: w for every query;
    - strict: w when some passage holds every query word, w2 when none does;
    - long: w for queries of up to 6 content words, w2 above.
    """

    norm: str
    w: float = 0.5
    boost: float = 0.0
    rule: str = "fixed"
    w2: float = 0.0
    rrf_k: int = 60
    agg: str = "second"
    # Passages found by meaning alone (in no lexical list) below this cosine are dropped (fused variants;
    # production's meaning_floor, so that the grid compares fusions under the product's precision rules).
    floor: float = 0.45
    # For queries of at most this many content words, sources with a passage holding every word come first
    # (production's all_words_first).
    all_words_first: int = 4
    # When the best dense candidate's cosine reaches top_at, the dense weight grows by top_add.
    top_at: float = 2.0
    top_add: float = 0.0
    # When at least full_at passages hold every query word (the words are common: more of them than the ranking
    # reads), the dense weight is full_w instead (before top_add); 0: no such rule.
    full_at: int = 0
    full_w: float = 0.6
    # Step 7d: + source_meaning × the source's closeness as a whole (its mean vector), over the closest's; None: the
    # setting source_meaning_weight (as production reads it).
    source_meaning: float | None = 0.0

    def __call__(self, c: Candidates, settings: Settings) -> list[RankedSource]:
        fused = self.norm not in ("lexical", "dense")

        def first(ranked: list[RankedSource], holding: set[str]) -> list[RankedSource]:
            if fused and self.all_words_first and content_words(c) <= self.all_words_first and holding:
                return ([s for s in ranked if s.source_id in holding]
                        + [s for s in ranked if s.source_id not in holding])
            return ranked

        method = self.norm if self.norm in ("lexical", "dense") else "weighted"
        return matched_sources(c, self._ranked(c), settings, method, first, self.source_meaning)

    def _ranked(self, c: Candidates) -> list[RankedSource]:
        lexical = lexical_ranking(c.strict, c.relaxed)
        if self.norm in ("lexical", "dense"):
            return aggregate(lexical if self.norm == "lexical" else list(c.dense), self.agg)
        if self.floor > -1.0:
            found = {h.rowid for h in lexical}
            c = dataclasses.replace(c, dense=[h for h in c.dense if h.rowid in found or h.score >= self.floor])
        weight = self.w
        if (self.rule == "strict" and not c.strict) or (self.rule == "long" and content_words(c) > 6):
            weight = self.w2
        if self.full_at and len(c.strict) >= self.full_at:
            weight = self.full_w
        if c.dense and c.dense[0].score >= self.top_at:
            weight = min(1.0, weight + self.top_add)
        if self.norm == "rrf":
            hits = _rrf(lexical, c.dense, weight, self.rrf_k)
        else:
            hits = _fused(lexical, c.dense, self.norm, weight)
        if self.boost:
            hits = boost_proximity(hits, c.near & {h.rowid for h in hits[:30]}, self.boost)
        if c.required is not None:
            hits = [h for h in hits if h.rowid in c.required]
        if c.banned:
            hits = [h for h in hits if h.source_id not in c.banned]
        return aggregate(hits, self.agg)


def grid_variant(norm: str, w: float, boost: float, rule: str = "fixed", w2: float = 0.0,
                 rrf_k: int = 60, agg: str = "second") -> GridVariant:
    return GridVariant(norm, w, boost, rule, w2, rrf_k, agg)


def fusion_grid() -> dict[str, Variant]:
    """The fusion candidates of issue 15 item 2 (an earlier, wider grid also had z-score normalisation and dense
    weights 0.3 and 0.8: never among the best, dropped to keep a run within minutes)."""
    grid: dict[str, Variant] = {}
    for norm in ("minmax", "dbsf", "max"):
        for w in (0.4, 0.5, 0.6, 0.7):
            grid[f"{norm} w{w}"] = grid_variant(norm, w, 0.1)
    grid["max w0.5 no boost"] = grid_variant("max", 0.5, 0.0)
    for w, k in ((0.5, 60), (0.5, 10), (0.6, 60), (0.4, 60)):
        grid[f"rrf k{k} w{w}"] = grid_variant("rrf", w, 0.0, rrf_k=k)
    for norm in ("dbsf", "max"):
        for w, w2 in ((0.4, 0.6), (0.5, 0.7), (0.6, 0.4)):
            grid[f"{norm} strict {w}/{w2}"] = grid_variant(norm, w, 0.1, rule="strict", w2=w2)
            grid[f"{norm} long {w}/{w2}"] = grid_variant(norm, w, 0.1, rule="long", w2=w2)
    for top_at in (0.65, 0.7, 0.75):
        for add in (0.1, 0.2):
            grid[f"max strict 0.4/0.6 +{add} at dense {top_at}"] = GridVariant(
                "max", 0.4, 0.1, rule="strict", w2=0.6, top_at=top_at, top_add=add)
            grid[f"max w0.5 +{add} at dense {top_at}"] = GridVariant("max", 0.5, 0.1, top_at=top_at, top_add=add)
    return grid


PRODUCTION = GridVariant("max", 0.5, 0.1, top_at=0.65, top_add=0.2, source_meaning=None)


def precision_grid() -> dict[str, Variant]:
    """Issue 14's precision rules over the production fusion: a semantic floor for passages found by meaning
    alone, and sources holding every word first for short queries."""
    grid: dict[str, Variant] = {}
    grid["neither rule"] = dataclasses.replace(PRODUCTION, floor=-1.0, all_words_first=0)
    for floor in (-1.0, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5):
        for words in (0, 4):
            grid[f"floor {floor}, all words first ≤{words} words"] = dataclasses.replace(
                PRODUCTION, all_words_first=words, floor=floor)
    return grid


def sources_grid() -> dict[str, Variant]:
    """Issue 24: the fusion grid, and the fusions near the best of it with each source's closeness as a whole
    (step 7d, ``source_meaning``) at 0.1-0.3, and with a dense weight of its own for queries whose every word is
    common (at least 50 passages hold them all: ``full_at``)."""
    grid = fusion_grid()
    bases = {
        "max strict 0.4/0.6 +0.1 at dense 0.7": GridVariant("max", 0.4, 0.1, rule="strict", w2=0.6, top_at=0.7,
                                                            top_add=0.1),
        "max strict 0.4/0.6 +0.1 at dense 0.75": GridVariant("max", 0.4, 0.1, rule="strict", w2=0.6, top_at=0.75,
                                                             top_add=0.1),
        "max strict 0.4/0.6 +0.2 at dense 0.65": GridVariant("max", 0.4, 0.1, rule="strict", w2=0.6, top_at=0.65,
                                                             top_add=0.2),
        "max w0.4 +0.2 at dense 0.65": GridVariant("max", 0.4, 0.1, top_at=0.65, top_add=0.2),
        "max w0.5 +0.1 at dense 0.65": GridVariant("max", 0.5, 0.1, top_at=0.65, top_add=0.1),
        "max w0.5 +0.2 at dense 0.65": GridVariant("max", 0.5, 0.1, top_at=0.65, top_add=0.2),
        "max w0.6 +0.1 at dense 0.7": GridVariant("max", 0.6, 0.1, top_at=0.7, top_add=0.1),
    }
    for name, base in bases.items():
        grid.setdefault(name, base)
        for weight in (0.1, 0.2, 0.3):
            grid[f"{name}, whole source {weight}"] = dataclasses.replace(base, source_meaning=weight)
        for full_w in (0.6, 0.8):
            grid[f"{name}, common words w{full_w}"] = dataclasses.replace(base, full_at=50, full_w=full_w)
    return grid


def aggregation_grid() -> dict[str, Variant]:
    grid: dict[str, Variant] = {}
    for norm, w in (("minmax", 0.6), ("max", 0.5), ("max", 0.6), ("dbsf", 0.4)):
        for agg in ("second", "best", "decay0.3", "decay0.5", "window"):
            grid[f"{norm} w{w} b0.1 {agg}"] = grid_variant(norm, w, 0.1, agg=agg)
    return grid


# ---------------------------------------------------------------- protocol


@dataclass
class Scores:
    ndcg: np.ndarray
    ndcg_exp: np.ndarray
    recall: np.ndarray

    def mean(self, what: str = "ndcg") -> float:
        return float(getattr(self, what).mean())


def score(collection: Collection, variant: Variant, settings: Settings) -> Scores:
    values = per_query(collection, run_of(collection, variant, settings))
    return Scores(values["ndcg"], values["ndcg_exp"], values["recall"])


def single(method: str) -> Variant:
    def variant(c: Candidates, settings: Settings) -> list[RankedSource]:
        return production(c, settings.replace(fusion=method))

    return variant


def loco(collections: list[Collection], variants: dict[str, Variant], settings: Settings,
         objective: str = "mean") -> dict[str, Any]:
    """Score every variant on every collection; for each held-out collection choose on the others."""
    # The single retrievers score sources as the variant does (kb eval's lexical and dense go through the
    # production source scores too), so a margin measures the fusion, not the source scores.
    aggs = sorted({getattr(v, "agg", "production") for v in variants.values()})
    by_agg: dict[str, dict[str, dict[str, Scores]]] = {}
    for agg in aggs:
        by_agg[agg] = {c.name: {m: score(c, single(m) if agg == "production" else GridVariant(m, agg=agg), settings)
                                for m in ("lexical", "dense")} for c in collections}
    singles = by_agg.get("production") or by_agg[aggs[0]]
    table: dict[str, dict[str, Scores]] = {}
    for name, variant in variants.items():
        table[name] = {c.name: score(c, variant, settings) for c in collections}
    best_by_agg = {agg: {c.name: max(by_agg[agg][c.name].values(), key=lambda s: s.mean()) for c in collections}
                   for agg in aggs}
    best_single = best_by_agg.get("production") or best_by_agg[aggs[0]]
    margin = {v: {c.name: table[v][c.name].mean()
                  - best_by_agg[getattr(variants[v], "agg", "production")][c.name].mean() for c in collections}
              for v in table}
    folds: dict[str, str] = {}
    for held in collections:
        # A held-out-only collection (csc-practice) never helps choose, in its own fold or another's.
        others = [c.name for c in collections if c.name != held.name and c.name not in HELD_OUT_ONLY]

        def value(v: str, others: list[str] = others) -> tuple[float, float]:
            margins = [margin[v][o] for o in others] or [0.0]
            primary = statistics.fmean(margins) if objective == "mean" else min(margins)
            return primary, min(margins)

        chosen = max(table, key=value)
        folds[held.name] = chosen
    return {"singles": singles, "table": table, "margin": margin, "folds": folds, "best_single": best_single,
            "by_agg": by_agg, "best_by_agg": best_by_agg,
            "agg_of": {v: getattr(variants[v], "agg", "production") for v in variants}}


def report(collections: list[Collection], result: dict[str, Any], chosen_all: str) -> str:
    lines = ["| collection | queries | lexical | dense | chosen on the others | production (LOCO) | margin "
             "| p (randomisation) | 95% CI | R@100 lex / dense / LOCO | nDCG@10 2^rel−1 lex / dense / LOCO |",
             "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | --- | --- |"]
    for c in collections:
        chosen = result["folds"][c.name]
        agg = result["agg_of"][chosen]
        lex, den = result["by_agg"][agg][c.name]["lexical"], result["by_agg"][agg][c.name]["dense"]
        got = result["table"][chosen][c.name]
        best = result["best_by_agg"][agg][c.name]
        p = randomisation_p(got.ndcg, best.ndcg)
        low, high = bootstrap_ci(got.ndcg, best.ndcg)
        lines.append(
            f"| {c.name} | {len(c.candidates)} | {lex.mean():.4f} | {den.mean():.4f} | {chosen} | "
            f"{got.mean():.4f} | {got.mean() - best.mean():+.4f} | {p:.3f} | [{low:+.4f}, {high:+.4f}] | "
            f"{lex.mean('recall'):.4f} / {den.mean('recall'):.4f} / {got.mean('recall'):.4f} | "
            f"{lex.mean('ndcg_exp'):.4f} / {den.mean('ndcg_exp'):.4f} / {got.mean('ndcg_exp'):.4f} |")
    lines.append("")
    lines.append(f"Chosen on all (but {', '.join(HELD_OUT_ONLY)}): {chosen_all}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="/work/eval-data/base", help="where each collection's index is kept")
    parser.add_argument("--collections", default=",".join(COLLECTIONS))
    parser.add_argument("--objective", choices=("mean", "min"), default="mean",
                        help="choose by the mean margin over the six (the protocol), or by the smallest")
    parser.add_argument("--grid", choices=("fusion", "sources", "aggregation", "precision", "production"),
                        default="fusion",
                        help="fusion: the candidate grid plus production; production: production only")
    parser.add_argument("--json", help="write every variant's per-collection figures here")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    settings = load_settings(env={})
    collections = []
    for name in args.collections.split(","):
        started = time.perf_counter()
        collections.append(gather(name, Path(args.data_root) / INDEX_OF.get(name, name), settings))
        refused = sum(1 for c in collections[-1].candidates.values() if c.parsed is None)
        print(f"{name}: {len(collections[-1].candidates)} judged queries ({refused} refused), "
              f"{time.perf_counter() - started:.1f} s", flush=True)
    variants: dict[str, Variant] = {"production (defaults)": production}
    if args.grid == "fusion":
        variants.update(fusion_grid())
    elif args.grid == "precision":
        variants.update(precision_grid())
    elif args.grid == "sources":
        variants.update(sources_grid())
    elif args.grid == "aggregation":
        variants.update(aggregation_grid())
    started = time.perf_counter()
    result = loco(collections, variants, settings, args.objective)
    print(f"scored {len(variants)} variants in {time.perf_counter() - started:.0f} s")
    margins = result["margin"]
    names = [c.name for c in collections]
    tuning = [n for n in names if n not in HELD_OUT_ONLY] or names

    def overall(v: str) -> float:
        values = [margins[v][n] for n in tuning]
        return statistics.fmean(values) if args.objective == "mean" else min(values)

    chosen_all = max(margins, key=overall)
    print(report(collections, result, chosen_all))
    top = sorted(margins, key=lambda v: -statistics.fmean(margins[v][n] for n in tuning))[:15]
    print(f"\nbest variants by mean margin (nDCG@10 − better single) over {', '.join(tuning)}, per collection:")
    print("| variant | mean | min | " + " | ".join(names) + " |")
    for v in top + (["production (defaults)"] if "production (defaults)" not in top else []):
        values = [margins[v][n] for n in names]
        chosen_on = [margins[v][n] for n in tuning]
        print(f"| {v} | {statistics.fmean(chosen_on):+.4f} | {min(chosen_on):+.4f} | "
              + " | ".join(f"{x:+.4f} ({result['table'][v][n].mean():.4f})" for x, n in zip(values, names, strict=True))
              + " |")
    print("\nsingle retrievers by source score (lexical / dense nDCG@10):")
    for agg, per in result["by_agg"].items():
        print(f"  {agg}: " + ", ".join(f"{n} {per[n]['lexical'].mean():.4f} / {per[n]['dense'].mean():.4f}"
                                      for n in names))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "folds": result["folds"], "chosen_all": chosen_all,
            "ndcg": {v: {n: result["table"][v][n].mean() for n in names} for v in result["table"]},
            "singles": {n: {m: s.mean() for m, s in result["singles"][n].items()} for n in names},
            # Per query (in each collection's order of judged queries), for paired tests between runs.
            "per_query": {n: {"queries": list(c.candidates),
                              "production": [round(float(x), 6)
                                             for x in result["table"]["production (defaults)"][n].ndcg],
                              **{m: [round(float(x), 6) for x in s.ndcg] for m, s in result["singles"][n].items()}}
                          for n, c in zip(names, collections, strict=True)},
        }, indent=1))


if __name__ == "__main__":
    main()
