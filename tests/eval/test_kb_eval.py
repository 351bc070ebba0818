"""BEIR ingest, TREC run files and `kb eval`, through the CLI with the real model, on eval/csc-seeds."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest
import pytrec_eval

from index.evaluation import read_qrels, read_queries, read_run
from kbcli.main import cli

pytestmark = pytest.mark.integration

COLLECTION = Path(__file__).resolve().parents[2] / "eval" / "csc-seeds"


def _ids(path: Path) -> list[str]:
    return [json.loads(line)["_id"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """`kb eval` once, keeping its index in a data directory for the other tests."""
    from click.testing import CliRunner

    data_dir = tmp_path_factory.mktemp("csc-eval")
    result = CliRunner().invoke(cli, ["eval", str(COLLECTION), "--data-dir", str(data_dir), "--json"],
                                obj={}, env={"KB_CANARIES": ""})
    assert result.exit_code == 0, result.output
    return data_dir, json.loads(result.output.strip().splitlines()[-1])


def test_eval_reports_three_methods_and_three_measures(evaluated):
    _, report = evaluated
    assert report["judged_queries"] == len(read_queries(COLLECTION / "queries.jsonl"))
    assert list(report["methods"]) == ["lexical", "dense", "production"]
    for scores in report["methods"].values():
        assert set(scores) == {"nDCG@10", "Recall@100", "MRR@10"}
        assert all(0.0 <= v <= 1.0 for v in scores.values())
    # The methods really differ (a run that ignored the method would give three equal rows).
    assert len({s["nDCG@10"] for s in report["methods"].values()}) == 3
    assert report["summary"]["best_single"] in ("lexical", "dense")


def test_beir_records_keep_their_ids(evaluated, runner):
    data_dir, _ = evaluated
    result = runner.invoke(cli, ["search", "Localism Act section 81", "--data-dir", str(data_dir), "--json"], obj={})
    assert result.exit_code == 0, result.output
    ids = [r["document_id"] for r in json.loads(result.output)["results"]]
    assert ids[0] == "004-19"
    assert set(ids) <= set(_ids(COLLECTION / "corpus.jsonl"))


def test_run_file_contract_and_independent_score(evaluated, runner, tmp_path):
    data_dir, report = evaluated
    run_path = tmp_path / "run.tsv"
    result = runner.invoke(cli, ["search", "--queries", str(COLLECTION / "queries.jsonl"), "--run", str(run_path),
                                 "--top-k", "20", "--data-dir", str(data_dir), "--tag", "kbtest"], obj={})
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in run_path.read_text(encoding="utf-8").splitlines()]
    corpus_ids = set(_ids(COLLECTION / "corpus.jsonl"))
    by_query: dict[str, list[list[str]]] = {}
    for fields in lines:
        assert len(fields) == 6 and fields[1] == "Q0" and fields[5] == "kbtest"
        assert fields[2] in corpus_ids
        by_query.setdefault(fields[0], []).append(fields)
    assert set(by_query) == set(read_queries(COLLECTION / "queries.jsonl"))
    for rows in by_query.values():
        assert [int(r[3]) for r in rows] == list(range(1, len(rows) + 1)) and len(rows) <= 20
        scores = [float(r[4]) for r in rows]
        assert all(a > b for a, b in itertools.pairwise(scores)), "scores must fall strictly with rank"
        assert len({r[2] for r in rows}) == len(rows)
    # trec_eval's own nDCG@10 over the run file matches what kb eval printed for production.
    qrels = read_qrels(COLLECTION / "qrels" / "test.tsv")
    run = {qid: dict(ranked) for qid, ranked in read_run(run_path).items()}
    per_query = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"}).evaluate(run)
    ndcg = sum(q["ndcg_cut_10"] for q in per_query.values()) / len(qrels)
    assert ndcg == pytest.approx(report["methods"]["production"]["nDCG@10"], abs=1e-4)


def test_forced_format_reads_any_extension(tmp_path, runner):
    renamed = tmp_path / "records.txt"
    lines = (COLLECTION / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:5]
    renamed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data_dir = tmp_path / "data"
    result = runner.invoke(cli, ["ingest", str(renamed), "--format", "beir", "--data-dir", str(data_dir), "-q"],
                           obj={}, env={"KB_CANARIES": ""})
    assert result.exit_code == 0, result.output
    assert "5 sources" in result.output


def test_unknown_format_is_named(tmp_path, runner):
    result = runner.invoke(cli, ["ingest", str(COLLECTION / "corpus.jsonl"), "--format", "excel",
                                 "--data-dir", str(tmp_path)], obj={})
    assert result.exit_code == 1
    assert "Unknown format 'excel'" in result.output and "beir" in result.output


def test_eval_names_a_missing_file(tmp_path, runner):
    shutil.copytree(COLLECTION, tmp_path / "c")
    (tmp_path / "c" / "qrels" / "test.tsv").unlink()
    result = runner.invoke(cli, ["eval", str(tmp_path / "c")], obj={})
    assert result.exit_code == 1
    assert "qrels/test.tsv is missing" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("args, message", [
    (["search"], "Give either a QUERY or --queries"),
    (["search", "--queries", str(COLLECTION / "queries.jsonl")], "--queries needs --run"),
    (["eval", str(COLLECTION), "--methods", "lexical,magic"], "Unknown method 'magic'"),
])
def test_usage_errors(runner, args, message):
    result = runner.invoke(cli, args, obj={})
    assert result.exit_code != 0 and message in result.output
