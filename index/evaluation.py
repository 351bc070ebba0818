"""Batch search, TREC run files and ranking measures, for ``kb search --queries`` and ``kb eval``.

Test collections are in BEIR format: ``queries.jsonl`` (``{"_id", "text"}`` per line) and
``qrels/<split>.tsv`` (``query-id  corpus-id  score``, header optional). Measures come from
ir-measures (which runs trec_eval's code through pytrec-eval), never our own arithmetic.

Usage::

    queries = read_queries("eval/csc-seeds/queries.jsonl")
    run, failed = run_queries(searcher, queries, depth=100)
    write_run(run, "run.tsv", tag="innovation-kb")
    scores = evaluate(read_qrels("eval/csc-seeds/qrels/test.tsv"), run)  # {"nDCG@10": 0.81, ...}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from index.errors import KBError, QueryError

if TYPE_CHECKING:
    from index.search.searcher import Searcher

# ir-measures names → the names we print.
MEASURES = {"nDCG@10": "nDCG@10", "R@100": "Recall@100", "RR@10": "MRR@10"}

Run = dict[str, list[tuple[str, float]]]


class CollectionError(KBError):
    """A queries, qrels or run file cannot be read."""


def read_queries(path: str | Path) -> dict[str, str]:
    """``{query id: text}`` from a BEIR ``queries.jsonl``.

    :raises CollectionError: naming the file and line of a record that is not ``{"_id", "text"}``.
    """
    path = Path(path)
    queries: dict[str, str] = {}
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            qid, text = str(row["_id"]), str(row["text"])
        except (ValueError, KeyError, TypeError):
            raise CollectionError(f"{path} line {number} is not a query record; each line must be a JSON object "
                                  'with "_id" and "text".') from None
        queries[qid] = text
    if not queries:
        raise CollectionError(f"{path} holds no queries; give a JSONL file with one {{\"_id\", \"text\"}} per line.")
    return queries


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """``{query id: {document id: grade}}`` from a BEIR or TREC qrels file (tab or space separated).

    Four columns (``qid 0 docid grade``, TREC) and three (``qid docid grade``, BEIR) are both read;
    a header line is skipped. In a tab-separated line a document id may hold spaces.

    :raises CollectionError: naming the file and line that cannot be read.
    """
    path = Path(path)
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(_lines(path), start=1):
        # Tab-separated lines split on tabs only: a document id may be a file name with spaces in it.
        fields = [f.strip() for f in line.split("\t")] if "\t" in line else line.split()
        if not any(fields):
            continue
        if len(fields) == 4:
            fields = [fields[0], fields[2], fields[3]]
        try:
            if len(fields) != 3:
                raise ValueError
            grade = int(fields[2])
        except ValueError:
            if number == 1:
                continue  # header
            raise CollectionError(f"{path} line {number} is not a judgement; each line must be "
                                  "'query-id<TAB>corpus-id<TAB>grade'.") from None
        qrels.setdefault(fields[0], {})[fields[1]] = grade
    if not qrels:
        raise CollectionError(f"{path} holds no judgements.")
    return qrels


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        raise CollectionError(f"{path} does not exist; check the path.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CollectionError(f"{path} cannot be read ({exc}); give a UTF-8 text file.") from None


def run_queries(searcher: Searcher, queries: Mapping[str, str], depth: int, fusion: str | None = None,
                rerank: bool = True, progress: bool = False) -> tuple[Run, dict[str, str]]:
    """Search every query; returns the run and ``{query id: reason}`` for queries that could not be searched."""
    from tqdm import tqdm

    run: Run = {}
    failed: dict[str, str] = {}
    for qid, text in tqdm(queries.items(), total=len(queries), desc="searching", unit="query", disable=not progress):
        try:
            run[qid] = strictly_decreasing(searcher.rank(text, depth, fusion=fusion, rerank=rerank))
        except QueryError as exc:
            failed[qid] = str(exc)
    return run, failed


def strictly_decreasing(ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Scores rounded to 6 places and nudged so that each is below the one before: trec_eval sorts
    by score, so ties would be broken by document id rather than by our order."""
    out: list[tuple[str, float]] = []
    previous = float("inf")
    for doc_id, score in ranked:
        value = min(round(score, 6), round(previous - 1e-6, 6))
        out.append((doc_id, value))
        previous = value
    return out


# Public name for callers that re-rank a run (kb eval's files mode maps sources to file stems).
strictly_decreasing = strictly_decreasing


def write_run(run: Run, path: str | Path, tag: str) -> int:
    """Write a TREC run file (``qid Q0 docid rank score tag``); returns the number of lines."""
    if not tag or any(c.isspace() for c in tag):
        raise CollectionError(f"run tag {tag!r} must be one word without spaces.")
    lines = [f"{qid} Q0 {doc_id} {rank} {score:.6f} {tag}"
             for qid, ranked in run.items() for rank, (doc_id, score) in enumerate(ranked, start=1)]
    Path(path).write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    return len(lines)


def read_run(path: str | Path) -> Run:
    """A TREC run file, as written by :func:`write_run`."""
    run: Run = {}
    for number, line in enumerate(_lines(Path(path)), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 6:
            raise CollectionError(f"{path} line {number} is not 'qid Q0 docid rank score tag'.")
        run.setdefault(fields[0], []).append((fields[2], float(fields[4])))
    return run


def judged_queries(queries: Mapping[str, str], qrels: Mapping[str, Mapping[str, int]]) -> dict[str, str]:
    """The queries with at least one relevant (grade > 0) judgement: the ones a measure can score."""
    return {qid: text for qid, text in queries.items() if any(g > 0 for g in qrels.get(qid, {}).values())}


@dataclass(frozen=True)
class Scores:
    """One ranking's mean scores over a set of queries; as JSON, keyed by the measures' printed names."""

    ndcg10: float
    recall100: float
    mrr10: float

    def to_dict(self) -> dict[str, float]:
        return {"nDCG@10": self.ndcg10, "Recall@100": self.recall100, "MRR@10": self.mrr10}

    @classmethod
    def from_dict(cls, data: Mapping[str, float]) -> Scores:
        return cls(data["nDCG@10"], data["Recall@100"], data["MRR@10"])


def evaluate(qrels: Mapping[str, Mapping[str, int]], run: Run, query_ids: Iterable[str] | None = None
             ) -> Scores:
    """Mean nDCG@10, Recall@100 and MRR@10 over ``query_ids`` (default: every judged query in ``qrels``).

    A query with no results (or that could not be searched) counts as 0, as trec_eval's ``-c`` does.
    """
    import ir_measures

    ids = list(query_ids) if query_ids is not None else [q for q, docs in qrels.items()
                                                          if any(g > 0 for g in docs.values())]
    if not ids:
        raise CollectionError("No judged queries to evaluate: no query has a judgement with grade above 0.")
    wanted = set(ids)
    measures = [ir_measures.parse_measure(name) for name in MEASURES]
    totals = {name: 0.0 for name in MEASURES}
    run_dict = {qid: {doc: score for doc, score in ranked} for qid, ranked in run.items() if qid in wanted and ranked}
    qrels_dict = {qid: dict(docs) for qid, docs in qrels.items() if qid in wanted}
    for metric in ir_measures.iter_calc(measures, qrels_dict, run_dict):
        totals[str(metric.measure)] += metric.value
    return Scores.from_dict({MEASURES[name]: round(total / len(ids), 4) for name, total in totals.items()})


def per_query_ndcg(qrels: Mapping[str, Mapping[str, int]], run: Run, query_ids: Iterable[str]) -> dict[str, float]:
    """Each query's nDCG@10 (trec_eval's, through ir-measures), in ``query_ids``' order: the figures a paired test
    between two rankings reads (a query with no results, or that could not be searched, is 0)."""
    import ir_measures

    ids = list(query_ids)
    values = dict.fromkeys(ids, 0.0)
    wanted = set(ids)
    run_dict = {qid: {doc: score for doc, score in ranked} for qid, ranked in run.items() if qid in wanted and ranked}
    qrels_dict = {qid: dict(docs) for qid, docs in qrels.items() if qid in wanted}
    for metric in ir_measures.iter_calc([ir_measures.parse_measure("nDCG@10")], qrels_dict, run_dict):
        values[metric.query_id] = round(metric.value, 6)
    return values


@dataclass(frozen=True)
class PairedTest:
    """Two rankings compared query by query: their means, the mean difference (b − a), a two-sided paired
    randomisation test's p and a 95% paired bootstrap interval of the difference."""

    queries: int
    mean_a: float
    mean_b: float
    difference: float
    p: float
    low: float
    high: float


def randomisation_p(a: Sequence[float], b: Sequence[float], trials: int = 20000, seed: int = 7) -> float:
    """Two-sided paired randomisation (sign-flip) test of mean(a − b) = 0 over queries."""
    import numpy as np

    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if not np.any(diff):
        return 1.0
    rng = np.random.default_rng(seed)
    signs = rng.choice((-1.0, 1.0), size=(trials, diff.size))
    observed = abs(diff.mean())
    return float((np.abs((signs * diff).mean(axis=1)) >= observed - 1e-12).mean())


def bootstrap_ci(a: Sequence[float], b: Sequence[float], trials: int = 20000, seed: int = 11) -> tuple[float, float]:
    """95% paired bootstrap interval of mean(a − b) over queries."""
    import numpy as np

    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, size=(trials, diff.size))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def paired_test(a: Mapping[str, float], b: Mapping[str, float]) -> PairedTest:
    """Ranking ``b`` against ranking ``a`` over the queries both score (``{query id: nDCG@10}``).

    :raises CollectionError: when they share no query.
    """
    ids = [q for q in a if q in b]
    if not ids:
        raise CollectionError("The two runs share no query id; compare runs of the same queries.")
    first, second = [a[q] for q in ids], [b[q] for q in ids]
    low, high = bootstrap_ci(second, first)
    mean_a, mean_b = sum(first) / len(ids), sum(second) / len(ids)
    return PairedTest(len(ids), round(mean_a, 4), round(mean_b, 4), round(mean_b - mean_a, 4),
                      round(randomisation_p(second, first), 4), round(low, 4), round(high, 4))


def scores_table(results: Mapping[str, Scores]) -> str:
    """A plain-text table of methods × measures."""
    names = list(MEASURES.values())
    width = max(len(m) for m in results) + 2
    lines = ["method".ljust(width) + "".join(n.rjust(12) for n in names)]
    for method, scores in results.items():
        row = scores.to_dict()
        lines.append(method.ljust(width) + "".join(f"{row[n]:12.4f}" for n in names))
    return "\n".join(lines)


@dataclass(frozen=True)
class Comparison:
    """How the production ranking compares with the better single retriever, on nDCG@10."""

    best_single: str
    margin_ndcg10: float


def summary(results: Mapping[str, Scores]) -> Comparison | None:
    """How the production ranking compares with the better single retriever, on nDCG@10 (None without
    production or a single retriever among the results)."""
    singles = {m: s.ndcg10 for m, s in results.items() if m in ("lexical", "dense")}
    if "production" not in results or not singles:
        return None
    best = max(singles, key=lambda m: singles[m])
    margin = results["production"].ndcg10 - singles[best]
    return Comparison(best, round(margin, 4))
