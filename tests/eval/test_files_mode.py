"""`kb eval --files`: queries and qrels judged by file stem over a folder of documents, with the real model."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from kbcli.evaluate import by_file_stem, file_stem
from kbcli.main import cli

pytestmark = pytest.mark.integration

FOSTERING = ("The council runs the Mockingbird family model for foster carers. A hub home carer supports a "
             "constellation of six to ten satellite fostering households with sleepovers, short breaks and peer "
             "support, so that placements last and carers stay with the service. Foster carers said the "
             "constellation meetings helped them through difficult weeks with the children they look after.")
EXPLOITATION = ("Teenagers at risk of criminal exploitation and county lines are supported by a specialist "
                "adolescent team. Return home interviews after a child goes missing are timely, and the "
                "exploitation panel shares intelligence with the police so that disruption plans protect "
                "young people from the adults who groom them into carrying drugs between towns.")
LEAVERS = ("Care leavers have personal advisers who keep in touch and help them find suitable housing. Staying "
           "put arrangements let young people remain with their foster carers after eighteen, and the local "
           "offer gives council tax exemption and a setting-up-home allowance to every care leaver.")


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("files-eval")
    docs = root / "docs"
    (docs / "inspections").mkdir(parents=True)
    (docs / "inspections" / "dorset_2021-11-19.md").write_text(f"# Dorset\n\n{FOSTERING}\n", encoding="utf-8")
    # The same report saved twice (as in ../shared/corpora): either copy must count.
    (docs / "ofsted_dorset_2021-11-19.md").write_text(f"# Dorset\n\n{FOSTERING}\n", encoding="utf-8")
    (docs / "inspections" / "kent_2022-07-05.md").write_text(f"# Kent\n\n{EXPLOITATION}\n", encoding="utf-8")
    (docs / "leeds_2023-01-01.txt").write_text(f"Leeds\n\n{LEAVERS}\n", encoding="utf-8")
    dataset = root / "set"
    (dataset / "qrels").mkdir(parents=True)
    (dataset / "queries.jsonl").write_text(
        json.dumps({"_id": "m1", "text": "Mockingbird hub home foster carers", "kind": "model"}) + "\n"
        + json.dumps({"_id": "t1", "text": "teenagers at risk of county lines exploitation", "kind": "topic"}) + "\n",
        encoding="utf-8")
    (dataset / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n"
        "m1\tdorset_2021-11-19\t2\nm1\tofsted_dorset_2021-11-19\t2\nm1\tleeds_2023-01-01\t1\n"
        "t1\tkent_2022-07-05\t2\n", encoding="utf-8")
    return dataset, docs


def _eval(runner, dataset: Path, docs: Path, data_dir: Path, *extra: str) -> dict:
    result = runner.invoke(cli, ["eval", str(dataset), "--files", str(docs), "--data-dir", str(data_dir), "--json",
                                 *extra], obj={}, env={"KB_CANARIES": ""})
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def test_files_are_scored_by_stem_and_the_index_is_reused(collection, runner, tmp_path):
    dataset, docs = collection
    data_dir = tmp_path / "index"
    report = _eval(runner, dataset, docs, data_dir)
    assert report["files"] == str(docs) and report["judged_queries"] == 2
    assert report["unmatched_judgements"] == []
    assert list(report["methods"]) == ["lexical", "dense", "production"]
    # Each query's file is first, and both copies of the duplicated report are found: a run that
    # kept source ids instead of stems, or dropped the collapsed copy, would score below 1.
    assert report["methods"]["lexical"]["MRR@10"] == 1.0
    assert report["methods"]["lexical"]["nDCG@10"] == pytest.approx(1.0)
    assert report["methods"]["production"]["Recall@100"] == 1.0
    # Queries that give a kind are also scored per kind, each over its own queries only.
    assert set(report["by_kind"]) == {"model", "topic"}
    assert report["by_kind"]["model"]["lexical"]["MRR@10"] == 1.0
    # Each query's nDCG@10 per method, and its kind, for paired tests between reports.
    assert report["kinds"] == {"m1": "model", "t1": "topic"}
    for method, scores in report["methods"].items():
        figures = report["per_query"][method]
        assert set(figures) == {"m1", "t1"}
        assert sum(figures.values()) / 2 == pytest.approx(scores["nDCG@10"], abs=1e-4)
    generations = sorted(p.name for p in data_dir.rglob("manifest.json"))
    again = _eval(runner, dataset, docs, data_dir, "--methods", "lexical")
    assert again["methods"]["lexical"] == report["methods"]["lexical"]
    assert sorted(p.name for p in data_dir.rglob("manifest.json")) == generations  # nothing re-ingested


def test_judgements_naming_no_file_are_refused(collection, runner, tmp_path):
    dataset, docs = collection
    wrong = tmp_path / "wrong"
    (wrong / "qrels").mkdir(parents=True)
    (wrong / "queries.jsonl").write_text((dataset / "queries.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    (wrong / "qrels" / "test.tsv").write_text("m1\tdorset_2021-11-19.pdf\t2\n", encoding="utf-8")
    result = runner.invoke(cli, ["eval", str(wrong), "--files", str(docs), "--data-dir", str(tmp_path / "i")],
                           obj={}, env={"KB_CANARIES": ""})
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "file name without its extension" in result.output


def test_missing_files_folder_is_named(collection, runner, tmp_path):
    dataset, _ = collection
    result = runner.invoke(cli, ["eval", str(dataset), "--files", str(tmp_path / "nowhere")], obj={})
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "nowhere" in result.output


def test_by_file_stem_keeps_each_files_first_place():
    run = {"q": [("s1", 0.9), ("s2", 0.8), ("s3", 0.8), ("s4", 0.1)]}
    stems = {"s1": ["a"], "s2": ["a"], "s3": ["b", "b-copy"], "s4": ["c"]}
    ranked = by_file_stem(run, stems)["q"]
    assert [d for d, _ in ranked] == ["a", "b", "b-copy", "c"]
    assert all(x[1] > y[1] for x, y in itertools.pairwise(ranked))
    assert file_stem("/x/feeds/news.xml#3") == "news" and file_stem("/x/dorset_2021-11-19.pdf") == "dorset_2021-11-19"


def test_tab_separated_qrels_keep_spaces_in_document_ids(tmp_path):
    from index.evaluation import read_qrels

    path = tmp_path / "q.tsv"
    path.write_text("query-id\tcorpus-id\tscore\nl1\tCSC for Data People v1.0 2024-05-21\t2\nl1 kent_2022 1\n",
                    encoding="utf-8")
    assert read_qrels(path) == {"l1": {"CSC for Data People v1.0 2024-05-21": 2, "kent_2022": 1}}
