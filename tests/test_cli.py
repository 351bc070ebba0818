"""The kb command line through click's runner, with the real model."""

import json

import pytest

from kbcli.main import cli

pytestmark = pytest.mark.integration


def test_search_json_contract(runner, corpus_settings):
    result = runner.invoke(cli, ["search", "adolescents edge of care", "--data-dir", str(corpus_settings.data_dir),
                                 "--json", "--top-k", "3"], obj={})
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["query"] == "adolescents edge of care"
    assert isinstance(data["total"], int) and len(data["results"]) == 3
    for r in data["results"]:
        assert isinstance(r["document_id"], str) and isinstance(r["title"], str) and isinstance(r["score"], float)
        assert r["source"].endswith(".txt") and r["type"] in ("article", "news", "blog")
        assert r["date"] is None or len(r["date"]) == 10
        for p in r["passages"]:
            assert {"text", "highlighted", "start", "end"} <= set(p)
    assert "003_9ee0817c87de1d62" in data["results"][0]["source"]


def test_search_sorts_by_date_as_the_api_does(runner, corpus_settings):
    def ids(*extra):
        result = runner.invoke(cli, ["search", "innovation", "--data-dir", str(corpus_settings.data_dir), "--json",
                                     *extra], obj={})
        assert result.exit_code == 0, result.output
        return json.loads(result.output)["results"]

    by_date = ids("--sort", "date")
    dates = [r["date"] for r in by_date if r["date"]]
    assert dates == sorted(dates, reverse=True) and {r["document_id"] for r in by_date} == {
        r["document_id"] for r in ids()}
    wrong = runner.invoke(cli, ["search", "innovation", "--data-dir", str(corpus_settings.data_dir), "--sort", "x"],
                          obj={})
    assert wrong.exit_code == 2 and "relevance" in wrong.output


def test_search_human_output(runner, corpus_settings):
    result = runner.invoke(cli, ["search", "Trafford", "--data-dir", str(corpus_settings.data_dir)], obj={})
    assert result.exit_code == 0
    assert "1. Innovation, Opportunities and Egos" in result.output
    assert "<mark>" not in result.output


def test_search_says_what_no_source_holds(runner, corpus_settings):
    result = runner.invoke(cli, ["search", "adolesents edge of care", "--data-dir", str(corpus_settings.data_dir)],
                           obj={})
    assert result.exit_code == 0, result.output
    assert "No source contains: adolesents" in result.output
    assert "Did you mean: adolescents edge of care?" in result.output


@pytest.mark.parametrize("args, message", [
    (["search", ""], "Type some words"),
    (["search", "care", "--data-dir", "/nonexistent/kb"], "No index in /nonexistent/kb yet"),
    (["ingest", "/nonexistent/path"], "does not exist"),
])
def test_errors_are_one_line_and_non_zero(runner, corpus_settings, args, message):
    if args[0] == "search" and "--data-dir" not in args:
        args = [*args, "--data-dir", str(corpus_settings.data_dir)]
    # A data directory that does not exist is a local index's problem: that case runs on local files.
    env = {"KB_STORE_URL": ""} if "/nonexistent/kb" in args else None
    result = runner.invoke(cli, args, obj={}, env=env)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_ingest_reports_skipped_files_and_exits_3(runner, tmp_path, corpus_copy):
    (corpus_copy / "broken.txt").write_bytes(b"")
    result = runner.invoke(cli, ["ingest", str(corpus_copy), "--data-dir", str(tmp_path / "data"), "-q"], obj={})
    assert result.exit_code == 3, result.output
    assert "broken.txt: the file is empty" in result.output
    assert "Indexed 5 sources" in result.output
    stats = runner.invoke(cli, ["stats", "--data-dir", str(tmp_path / "data"), "--json"], obj={})
    assert json.loads(stats.output)["sources"] == 5


def test_bad_setting_is_named(runner, corpus_settings, monkeypatch):
    monkeypatch.setenv("KB_TOP_K", "lots")
    result = runner.invoke(cli, ["search", "care", "--data-dir", str(corpus_settings.data_dir)], obj={})
    assert result.exit_code == 1 and "Setting 'top_k' must be int" in result.output



def test_cli_reference_is_current(monkeypatch):
    from pathlib import Path

    from kbcli.reference import render

    monkeypatch.setenv("COLUMNS", "100")
    expected = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    assert render() == expected, "run: COLUMNS=100 python -m kbcli.reference > docs/cli.md"


def test_status_shows_live_generation_and_last_run(runner, corpus_settings):
    result = runner.invoke(cli, ["status", "--data-dir", str(corpus_settings.data_dir), "--json"], obj={})
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["sources"] == 5 and info["age_hours"] >= 0
    assert info["last_run"]["published"] is True and info["last_run"]["failed_files"] == 0
    # The build exported the query graph; a PostgreSQL replica's empty data directory lacks it, and says so.
    assert info["query_encoder"]["graph"]
    if corpus_settings.store_url:
        assert info["query_encoder"]["engine"] == "torch" and "missing" in info["query_encoder"]["warning"]
    else:
        assert info["query_encoder"] == {"engine": "onnx", "graph": info["query_encoder"]["graph"], "warning": None}


def test_serve_refuses_a_wrong_rerank_model(runner, corpus_settings, tmp_path):
    result = runner.invoke(cli, ["serve", "--data-dir", str(corpus_settings.data_dir)], obj={},
                           env={"KB_RERANK_MODEL": str(tmp_path / "no-such-model"), "KB_CANARIES": ""})
    assert result.exit_code == 1
    assert "rerank_model" in result.output and "is not a directory" in result.output


@pytest.mark.unit
def test_status_against_an_unreachable_store_is_one_line(tmp_path):
    """`kb status` reads the last run and the live generation from the store: a PostgreSQL that cannot be
    reached is one line saying so, exit 1, never a traceback."""
    import socket

    from click.testing import CliRunner

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://kb@127.0.0.1:{port}/kb?connect_timeout=2"
    result = CliRunner(env={"KB_STORE_URL": url}).invoke(cli, ["status", "--data-dir", str(tmp_path)], obj={})
    assert result.exit_code == 1, result.output
    assert "cannot be reached" in result.output and "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    assert len(result.output.strip().splitlines()) == 1


def test_ingest_finds_the_same_catalogue_and_gate_from_any_directory(runner, tmp_path, corpus_copy, monkeypatch):
    """Issue 26, deliverable 5: `kb ingest` run from the repository or from a temporary directory builds the
    same projects and runs the same gate, whether the folder carries its own catalogue or not."""
    import shutil

    from index.storage import open_generation
    from index.storage.layout import PROJECTS_FILE
    from tests.conftest import ROOT, make_settings

    bare = tmp_path / "bare"  # a corpus folder without projects.yaml and canaries.yaml beside it
    shutil.copytree(corpus_copy, bare)
    (bare / "projects.yaml").unlink()
    (bare / "canaries.yaml").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    runs = {}
    for where in (ROOT, elsewhere):
        monkeypatch.chdir(where)
        for folder in (corpus_copy, bare):
            data = tmp_path / f"data-{where.name}-{folder.name}"
            result = runner.invoke(cli, ["ingest", str(folder), "--data-dir", str(data), "-q"], obj={})
            assert result.exit_code == 0, result.output
            assert "Set-up: projects catalogue: " in result.output and "; canaries: " in result.output
            report = json.loads(next((data / "runs").glob("*.json")).read_text(encoding="utf-8"))
            catalogue = json.loads(open_generation(make_settings(data)).read_text(PROJECTS_FILE))
            runs[where, folder] = (report, catalogue)
    for folder in (corpus_copy, bare):
        (here, here_projects), (there, there_projects) = runs[ROOT, folder], runs[elsewhere, folder]
        assert here["kind"] == there["kind"] == "ingest"
        assert here_projects["projects"] and here_projects == there_projects
        assert here["setup"]["catalogue"]["entries"] == there["setup"]["catalogue"]["entries"] > 0
        assert here["gate"]["status"] == there["gate"]["status"] == "passed"
        assert here["gate"]["canaries"] == there["gate"]["canaries"] > 0
    # With the files beside the folder, both runs read those; without, the repository's copy or the package's.
    assert runs[ROOT, corpus_copy][0]["setup"] == runs[elsewhere, corpus_copy][0]["setup"]
    assert runs[ROOT, corpus_copy][0]["setup"]["catalogue"]["found"] == "beside the ingested folder"
    assert runs[ROOT, bare][0]["setup"]["catalogue"]["found"] == "configured"
    assert runs[elsewhere, bare][0]["setup"]["catalogue"]["found"] == "shipped with the package"

    # Switched off, it says so: in the run's summary and in `kb status`.
    data = tmp_path / f"data-{elsewhere.name}-{corpus_copy.name}"
    result = runner.invoke(cli, ["ingest", str(corpus_copy), "--data-dir", str(data), "-q"], obj={},
                           env={"KB_CANARIES": ""})
    assert result.exit_code == 0, result.output
    assert "canaries: none (switched off by an empty setting); gate not configured" in result.output
    status = runner.invoke(cli, ["status", "--data-dir", str(data)], obj={})
    assert "projects catalogue: " in status.output and str(corpus_copy / "projects.yaml") in status.output
    assert "warning: canaries: none (switched off by an empty setting)" in status.output
    info = json.loads(runner.invoke(cli, ["status", "--data-dir", str(data), "--json"], obj={}).output)
    assert info["last_run"]["catalogue"]["found"] == "beside the ingested folder"
    assert info["last_run"]["canaries"]["found"] == "switched off by an empty setting"
