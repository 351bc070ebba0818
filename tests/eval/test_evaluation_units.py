"""Run files, qrels and query files, and the synonym table: no model."""

from __future__ import annotations

import itertools

import pytest

from index.evaluation import (
    CollectionError,
    evaluate,
    paired_test,
    per_query_ndcg,
    read_qrels,
    read_queries,
    read_run,
    strictly_decreasing,
    write_run,
)
from index.search.query import parse_query
from index.search.synonyms import Synonyms

pytestmark = pytest.mark.unit


def test_qrels_in_beir_and_trec_layouts(tmp_path):
    beir = tmp_path / "beir.tsv"
    beir.write_text("query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\n", encoding="utf-8")
    trec = tmp_path / "trec.txt"
    trec.write_text("q1 0 d1 2\nq1 0 d2 0\n", encoding="utf-8")
    assert read_qrels(beir) == read_qrels(trec) == {"q1": {"d1": 2, "d2": 0}}


def test_bad_lines_are_named(tmp_path):
    qrels = tmp_path / "q.tsv"
    qrels.write_text("q1\td1\t1\nq2\td2\tvery\n", encoding="utf-8")
    with pytest.raises(CollectionError, match="line 2"):
        read_qrels(qrels)
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"_id": "1", "text": "a"}\n{"text": "no id"}\n', encoding="utf-8")
    with pytest.raises(CollectionError, match="line 2 is not a query record"):
        read_queries(queries)
    with pytest.raises(CollectionError, match="does not exist"):
        read_queries(tmp_path / "missing.jsonl")


def test_ties_are_broken_in_our_order():
    ranked = strictly_decreasing([("b", 0.5), ("a", 0.5), ("c", 0.5), ("d", 0.1)])
    assert [d for d, _ in ranked] == ["b", "a", "c", "d"]
    scores = [s for _, s in ranked]
    assert all(x > y for x, y in itertools.pairwise(scores))


def test_run_file_round_trip(tmp_path):
    run = {"q1": [("d1", 2.0), ("d2", 1.0)], "q2": [("d3", 0.5)]}
    assert write_run(run, tmp_path / "r.tsv", "tag") == 3
    assert read_run(tmp_path / "r.tsv") == run
    assert (tmp_path / "r.tsv").read_text().splitlines()[0] == "q1 Q0 d1 1 2.000000 tag"
    with pytest.raises(CollectionError, match="one word"):
        write_run(run, tmp_path / "r.tsv", "two words")


def test_missing_queries_count_as_zero():
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    perfect = evaluate(qrels, {"q1": [("d1", 1.0)], "q2": [("d2", 1.0)]})
    half = evaluate(qrels, {"q1": [("d1", 1.0)]})
    assert perfect.ndcg10 == 1.0 and half.ndcg10 == 0.5 and half.mrr10 == 0.5
    assert half.to_dict() == {"nDCG@10": 0.5, "Recall@100": 0.5, "MRR@10": 0.5}


def test_per_query_figures_average_to_the_mean_and_missing_queries_are_zero():
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d3": 2}}
    run = {"q1": [("d1", 2.0)], "q3": [("x", 2.0), ("d3", 1.0)]}
    figures = per_query_ndcg(qrels, run, ["q1", "q2", "q3"])
    assert list(figures) == ["q1", "q2", "q3"]
    assert figures["q1"] == 1.0 and figures["q2"] == 0.0 and 0.6 < figures["q3"] < 0.7  # 1 / log2(3)
    assert sum(figures.values()) / 3 == pytest.approx(evaluate(qrels, run).ndcg10, abs=1e-4)


def test_paired_test_separates_a_consistent_gain_from_none():
    before = {f"q{i}": 0.5 for i in range(12)}
    same = paired_test(before, dict(before))
    assert same.difference == 0.0 and same.p == 1.0 and same.low == same.high == 0.0
    # Every query gains 0.1: only the two all-same-sign flips of 2^12 reach the observed mean.
    better = paired_test(before, {q: v + 0.1 for q, v in before.items()})
    assert better.difference == pytest.approx(0.1) and better.p < 0.01 and better.low > 0
    # One query gains a lot, the others lose a little: the mean rises, but not beyond chance.
    mixed = {q: (v + 0.6 if q == "q0" else v - 0.04) for q, v in before.items()}
    noisy = paired_test(before, mixed)
    assert noisy.difference > 0 and noisy.p > 0.2 and noisy.low < 0 < noisy.high
    # Only the queries both runs score are paired.
    assert paired_test(before, {"q1": 1.0}).queries == 1
    with pytest.raises(CollectionError, match="no query"):
        paired_test(before, {"other": 1.0})


def test_mrr_is_cut_at_ten():
    run = {"q1": [(f"x{i}", 100.0 - i) for i in range(10)] + [("d1", 1.0)]}
    assert evaluate({"q1": {"d1": 1}}, run).mrr10 == 0.0


def test_synonyms_widen_words_and_phrases():
    synonyms = Synonyms([["looked after children", "lac"], ["adolescents", "teenagers"]])
    widened = synonyms.expand(parse_query("LAC outcomes for teenagers"))
    assert widened.strict_match() == ('("lac" OR "looked after children") AND "outcomes" AND "for" AND '
                                      '("teenagers" OR "adolescents")')
    phrase = synonyms.expand(parse_query("looked after children"))
    assert phrase.strict_match() == '("looked after children" OR "lac")'


def test_quoted_and_or_clauses_are_left_as_typed():
    synonyms = Synonyms([["adolescents", "teenagers"]])
    for raw in ('"adolescents" care', "adolescents OR youth"):
        parsed = parse_query(raw)
        assert synonyms.expand(parsed) == parsed


def test_synonym_table_is_checked():
    with pytest.raises(ValueError, match="in groups 1 and 2"):
        Synonyms([["cp", "child protection"], ["cp", "care plan"]])
    shipped = Synonyms.default()
    assert len(shipped) >= 10
    assert "looked after children" in shipped.expand(parse_query("LAC")).strict_match()
