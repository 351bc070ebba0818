"""kb reindex: add, change, delete cycles, with the real model and a real data directory."""

import json
import shutil

import pytest

from index.generations import DataDir, open_generation
from ingest.reindex import run_reindex
from kbcli.main import cli
from tests.conftest import CORPUS, make_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def setup(tmp_path):
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    settings = make_settings(tmp_path / "data", sources=str(folder))
    first = run_reindex(None, settings)
    return folder, settings, first


def test_first_run_is_a_full_build(setup):
    _, _, first = setup
    assert first.published and first.full and first.full_reason == "no live index yet"
    assert first.added == 5 and first.passages_embedded == 27


def test_nothing_changed_publishes_nothing(setup):
    _folder, settings, first = setup
    again = run_reindex(None, settings)
    assert not again.published and again.unchanged == 5 and again.passages_embedded == 0
    assert DataDir(settings.data_dir).current_id() == first.generation


def test_add_change_delete_cycle(setup):
    folder, settings, _ = setup
    (folder / "new.txt").write_text("Family group conferencing in Leeds kept teenagers at home. " * 10)
    target = folder / "004_7b87d5ffdc1c3793.txt"
    target.write_text(target.read_text() + "\n\nA new closing paragraph about Trafford and section 75.")
    (folder / "002_ff5d18d0e2eb88f1.txt").unlink()
    report = run_reindex(None, settings)
    assert (report.added, report.changed, report.removed, report.unchanged) == (1, 1, 1, 3)
    assert report.published and not report.full
    store = open_generation(settings).store
    files = {store.get_source(i).source.rsplit("/", 1)[-1] for i in store.source_ids()}
    assert "002_ff5d18d0e2eb88f1.txt" not in files and "new.txt" in files
    unchanged_passages = sum(len(store.source_passages(i)) for i in store.source_ids()
                             if store.get_source(i).source.rsplit("/", 1)[-1][:3] in {"000", "001", "003"})
    assert report.passages_reused >= unchanged_passages
    # Only the changed file's passages and the new file's were embedded; most of 004 is unchanged text.
    assert 1 <= report.passages_embedded <= 4


def test_changed_chunking_forces_a_full_rebuild(setup):
    _, settings, _ = setup
    report = run_reindex(None, settings.replace(chunk_min_words=100, chunk_max_words=180))
    assert report.full and "chunking" in report.full_reason
    assert report.passages_embedded > 0 and report.unchanged == 0


def test_cli_json_report_and_lock(setup, runner):
    folder, settings, _ = setup
    (folder / "another.md").write_text("# Kinship care\n\nKinship carers in Doncaster asked for support. " * 5)
    result = runner.invoke(cli, ["reindex", "--data-dir", str(settings.data_dir), "--json", str(folder)], obj={})
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    for key in ("generation", "added", "changed", "removed", "failed", "passages_embedded", "passages_reused",
                "published", "duration_s", "gate"):
        assert key in report
    assert report["added"] == 1 and report["published"] is True
    with DataDir(settings.data_dir).lock():
        locked = runner.invoke(cli, ["reindex", "--data-dir", str(settings.data_dir), str(folder)], obj={})
    assert locked.exit_code == 75 and "Another ingest is running" in locked.output


def test_quality_gate_refuses_a_generation_that_loses_canaries(setup, runner):
    folder, settings, _ = setup
    gated = settings.replace(canaries=str(CORPUS / "canaries.yaml"))
    (folder / "extra.txt").write_text("Kinship carers in Doncaster asked for earlier support and training. " * 10)
    passed = run_reindex(None, gated)
    assert passed.published and passed.gate["status"] == "passed" and passed.gate["canaries"] == 6
    live = DataDir(settings.data_dir).current_id()
    (folder / "004_7b87d5ffdc1c3793.txt").write_text("This page has moved. " * 30)
    result = runner.invoke(cli, ["reindex", "--data-dir", str(settings.data_dir), "--json", str(folder)],
                           obj={}, env={"KB_CANARIES": str(CORPUS / "canaries.yaml")})
    assert result.exit_code == 4, result.output
    assert "Trafford NHS section 75 agreement" in result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["published"] is False and report["gate"]["regressions"] == ["Trafford NHS section 75 agreement"]
    assert DataDir(settings.data_dir).current_id() == live


def test_canaries_file_is_never_ingested(tmp_path):
    from ingest.discover import discover

    assert CORPUS / "canaries.yaml" not in discover([CORPUS], exclude=[CORPUS / "canaries.yaml"])
    assert len(discover([CORPUS], exclude=[CORPUS / "canaries.yaml"])) == 5
