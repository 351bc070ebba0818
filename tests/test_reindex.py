"""kb reindex: add, change, delete cycles, with the real model and a real data directory."""

import json
import shutil
import sqlite3
import stat
import time

import pytest

from index.browse.catalogue import catalogue_projects
from index.search.query import parse_query
from index.storage import generations, open_generation
from index.storage.layout import CHUNKS_FILE
from index.storage.lexical_retrieval import lexical_retrieval
from index.storage.local.datadir import DataDir
from ingest import dedupe
from ingest.reindex import run_reindex
from kbcli.main import cli
from tests.conftest import CORPUS, make_settings
from tests.helpers import corpus_sources_by_number, sources_by_file_name

pytestmark = pytest.mark.integration


def _setup(tmp_path, store_url):
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    settings = make_settings(tmp_path / "data", sources=str(folder), store_url=store_url)
    first = run_reindex(None, settings)
    return folder, settings, first


@pytest.fixture
def setup(tmp_path, store_url):
    """The sample corpus indexed by a first re-index, on each backend in turn."""
    return _setup(tmp_path, store_url)


@pytest.fixture
def local_setup(tmp_path):
    """The same on local files only: for what only they have (a copied SQLite file, vectors in FAISS files)."""
    return _setup(tmp_path, "")


def test_first_run_is_a_full_build(setup):
    _, _, first = setup
    assert first.published and first.full and first.full_reason == "no live index yet"
    # 27 before the rest of a text that fits in chunk_max_words became one passage (ingest/split.py fit_rest).
    assert first.added == 5 and first.passages_embedded == 25


def test_nothing_changed_publishes_nothing(setup):
    _folder, settings, first = setup
    again = run_reindex(None, settings)
    assert not again.published and again.unchanged == 5 and again.passages_embedded == 0
    assert generations(settings).current_id() == first.generation


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
    sources = sources_by_file_name(store)
    assert "002_ff5d18d0e2eb88f1.txt" not in sources and "new.txt" in sources
    unchanged_passages = sum(len(store.source_passages(r.id)) for name, r in sources.items()
                             if name[:3] in {"000", "001", "003"})
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
    assert set(report["stages"]) >= {"convert_clean_split_embed", "derive", "write", "publish"}
    with generations(settings).lock():
        locked = runner.invoke(cli, ["reindex", "--data-dir", str(settings.data_dir), str(folder)], obj={})
    assert locked.exit_code == 75 and "Another ingest is running" in locked.output


def test_quality_gate_refuses_a_generation_that_loses_canaries(setup, runner):
    folder, settings, _ = setup
    gated = settings.replace(canaries=str(CORPUS / "canaries.yaml"))
    (folder / "extra.txt").write_text("Kinship carers in Doncaster asked for earlier support and training. " * 10)
    passed = run_reindex(None, gated)
    assert passed.published and passed.gate.status == "passed" and passed.gate.canaries == 6
    live = generations(settings).current_id()
    (folder / "004_7b87d5ffdc1c3793.txt").write_text("This page has moved. " * 30)
    result = runner.invoke(cli, ["reindex", "--data-dir", str(settings.data_dir), "--json", str(folder)],
                           obj={}, env={"KB_CANARIES": str(CORPUS / "canaries.yaml")})
    assert result.exit_code == 4, result.output
    assert "Trafford NHS section 75 agreement" in result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["published"] is False and report["gate"]["regressions"] == ["Trafford NHS section 75 agreement"]
    assert generations(settings).current_id() == live


def test_a_new_more_relevant_source_is_not_a_regression(setup):
    folder, settings, _ = setup
    gated = settings.replace(canaries=str(CORPUS / "canaries.yaml"))
    run_reindex(None, gated)
    (folder / "note.md").write_text("# Adolescents on the edge of care\n\nA short note on adolescents on the edge of "
                                    "care: edge of care services for adolescents keep families together. " * 3)
    report = run_reindex(None, gated)
    assert report.published and report.gate.status == "passed" and not report.gate.regressions
    outcome = next(o for o in report.gate.outcomes if o.query == "adolescents edge of care")
    assert outcome.new_rank is not None and outcome.kept_rank == outcome.live_rank <= outcome.within
    assert outcome.verdict == "passed"


def test_a_removed_canary_source_is_reported_not_refused(setup):
    folder, settings, _ = setup
    gated = settings.replace(canaries=str(CORPUS / "canaries.yaml"))
    (folder / "001_986c9394a0ec3c21.txt").unlink()
    report = run_reindex(None, gated)
    assert report.published and report.removed == 1
    assert report.gate.removed == ["Signs of Safety Lincolnshire"] and not report.gate.regressions


def test_mass_removal_is_refused_unless_allowed(setup, runner):
    folder, settings, _ = setup
    live = generations(settings).current_id()
    for name in ("000_63df589784a0696f.txt", "001_986c9394a0ec3c21.txt"):
        (folder / name).unlink()
    refused = runner.invoke(cli, ["reindex", "--data-dir", str(settings.data_dir), "--json", str(folder)], obj={})
    assert refused.exit_code == 4, refused.output
    assert "lose 2 of the 5 sources" in refused.output and "--allow-removals" in refused.output
    assert json.loads(refused.output.strip().splitlines()[-1])["gate"]["reason"] == "mass removal"
    assert generations(settings).current_id() == live
    allowed = runner.invoke(cli, ["reindex", "--data-dir", str(settings.data_dir), "--allow-removals", str(folder)],
                            obj={})
    assert allowed.exit_code == 0, allowed.output
    assert generations(settings).current_id() != live


def test_a_copy_takes_its_removed_originals_place(setup):
    folder, settings, _ = setup
    original = folder / "003_9ee0817c87de1d62.txt"
    copy = folder / "syndicated-copy.txt"
    copy.write_text("Syndicated from Community Care\n\n" + original.read_text(encoding="utf-8"), encoding="utf-8")
    assert run_reindex(None, settings).published
    store = open_generation(settings).store
    folded = next(store.get_source(i) for i in store.source_ids() if store.get_source(i).source.endswith("copy.txt"))
    assert folded.duplicate_of and not store.source_passages(folded.id)
    original.unlink()
    report = run_reindex(None, settings)
    assert report.published and report.removed == 1
    store = open_generation(settings).store
    again = store.get_source(folded.id)
    assert again.duplicate_of is None and store.source_passages(folded.id), "the copy is searchable again"


def test_canaries_file_is_never_ingested(tmp_path):
    from ingest.discover import discover

    assert CORPUS / "canaries.yaml" not in discover([CORPUS], exclude=[CORPUS / "canaries.yaml"])
    assert len(discover([CORPUS], exclude=[CORPUS / "canaries.yaml"])) == 5


@pytest.mark.slow
@pytest.mark.parametrize("point, new_is_live", [
    ("after-begin", False), ("before-publish", False), ("after-rename", False), ("after-current", True)])
def test_killed_run_leaves_a_working_index_and_the_next_run_recovers(setup, point, new_is_live):
    import os
    import subprocess
    import sys

    folder, settings, first = setup
    (folder / "new.txt").write_text("Family group conferencing in Leeds kept teenagers at home. " * 10)
    env = {**os.environ, "KB_FAULT": point, "KB_CANARIES": "", "KB_PROJECTS": settings.projects,
           "KB_STORE_URL": settings.store_url}
    killed = subprocess.run([sys.executable, "-m", "kbcli.main", "reindex", "-q", "--data-dir",
                             str(settings.data_dir), str(folder)], env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == 137, killed.stderr
    data = generations(settings)
    assert (data.current_id() != first.generation) is new_is_live
    live = open_generation(settings)
    assert live.store.count_sources() == (6 if new_is_live else 5)
    from index.search.searcher import Searcher

    assert Searcher(settings, live).search("adolescents edge of care").results
    again = run_reindex(None, settings)
    assert not list((settings.data_dir / ("builds" if settings.store_url else "generations")).glob(".build-*"))
    store = open_generation(settings).store
    assert store.count_sources() == 6
    assert again.published is not new_is_live  # after-current: the new generation was already live


def test_searches_through_a_swap_never_fail(setup):
    import threading
    import time

    from webapp import create_app

    folder, settings, first = setup
    app = create_app({"TESTING": True, "KB_SETTINGS": settings})
    app.test_client().get("/api/search?q=warm")
    outcomes: list[tuple[int, int, str]] = []
    stop = threading.Event()

    def hammer() -> None:
        client = app.test_client()
        while not stop.is_set():
            response = client.get("/api/search", query_string={"q": "adolescents edge of care"})
            data = response.get_json()
            outcomes.append((response.status_code, len(data.get("results", [])), data.get("generation", "")))

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        (folder / "new.txt").write_text("Family group conferencing in Leeds kept teenagers at home. " * 10)
        report = run_reindex(None, settings)
        deadline = time.monotonic() + 30
        while not any(g == report.generation for *_, g in outcomes) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert outcomes and all(status == 200 and count > 0 for status, count, _ in outcomes)
    assert {g for *_, g in outcomes} == {first.generation, report.generation}


def test_reindex_from_another_working_directory_sees_no_change(setup, tmp_path, monkeypatch):
    folder, _, _ = setup
    monkeypatch.chdir(tmp_path)
    relative = make_settings(tmp_path / "data-relative", sources="corpus")
    assert run_reindex(None, relative).added == 5
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    again = run_reindex(None, relative.replace(sources=str(folder)))
    assert not again.published and again.unchanged == 5 and again.removed == 0 and again.added == 0


def test_an_edited_projects_catalogue_alone_publishes_and_links(tmp_path):
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    settings = make_settings(tmp_path / "data", sources=str(folder), projects=str(folder / "projects.yaml"))
    run_reindex(None, settings)
    with open(folder / "projects.yaml", "a", encoding="utf-8") as handle:
        handle.write("\n  - name: Munro Review\n    description: The 2011 review of child protection.\n"
                     "    themes: [legislation-regulation]\n")
    report = run_reindex(None, settings)
    assert report.published and report.passages_embedded == 0 and report.unchanged == 5
    generation = open_generation(settings)
    assert "munro-review" in {p.slug for p in catalogue_projects(generation)}
    linked = [number for number, r in corpus_sources_by_number(generation.store).items()
              if "munro-review" in r.project_slugs]
    # The round-up page names "the Munro Review"; the minister's "Munro reviews" is another word.
    assert linked == ["001"]
    # A broken entry stops the run before anything is built; the live index is untouched.
    with open(folder / "projects.yaml", "a", encoding="utf-8") as handle:
        handle.write("  - name: Broken\n    description: d\n    councils: [Gotham]\n")
    from ingest.projects import CatalogueError

    broken = len((folder / "projects.yaml").read_text(encoding="utf-8").split("\n  - name: ")) - 1  # its number
    with pytest.raises(CatalogueError, match=rf"entry {broken} \(Broken\): 'councils' has 'Gotham'"):
        run_reindex(None, settings)
    assert generations(settings).current_id() == report.generation


def test_a_small_change_edits_a_copy_of_the_live_generation(local_setup, monkeypatch):
    """Unchanged sources keep their rows (the live files were copied, not rewritten); the change is applied."""
    folder, settings, first = local_setup
    hashed = []
    minhash = dedupe._minhash
    monkeypatch.setattr(dedupe, "_minhash", lambda text: hashed.append(text) or minhash(text))
    live = open_generation(settings)
    before = {name: [p.rowid for p in live.store.source_passages(r.id)]
              for name, r in sources_by_file_name(live.store).items()}
    live_vectors = (live.path / "vectors.faiss").read_bytes()
    live.store.close()
    (folder / "new.txt").write_text("Family group conferencing in Leeds kept teenagers at home. " * 10)
    (folder / "002_ff5d18d0e2eb88f1.txt").unlink()
    report = run_reindex(None, settings)
    assert report.published and (report.added, report.removed, report.unchanged) == (1, 1, 4)
    assert len(hashed) == 1, "only the new source's text is hashed for near-duplicates; the rest are stored"
    generation = open_generation(settings)
    store = generation.store
    after = {name: [p.rowid for p in store.source_passages(r.id)] for name, r in sources_by_file_name(store).items()}
    for name in ("000_63df589784a0696f.txt", "001_986c9394a0ec3c21.txt", "003_9ee0817c87de1d62.txt"):
        assert after[name] == before[name]
    assert "002_ff5d18d0e2eb88f1.txt" not in after
    assert min(after["new.txt"]) > max(r for rows in before.values() for r in rows)
    assert (DataDir(settings.data_dir).generations / first.generation / "vectors.faiss").read_bytes() == live_vectors
    assert store.vector_index().ntotal == store.count_documents() == sum(len(r) for r in after.values())
    removed = set(before["002_ff5d18d0e2eb88f1.txt"])
    vector = store.source_documents(sources_by_file_name(store)["new.txt"].id)[0].embedding
    hits = store.embedding_retrieval(vector, top_k=100, with_content=False)
    assert hits[0].rowid in after["new.txt"] and not removed & {h.rowid for h in hits}
    assert set(store.signatures()) == set(store.source_ids()), (set(store.signatures()) ^ set(store.source_ids()))
    assert store.lexical_index() is not None, "the lexical index was derived from the live one"
    found = lexical_retrieval(store, parse_query("family group conferencing teenagers"), top_k=5)
    assert found and found[0].rowid in after["new.txt"]
    every = {h.rowid for h in lexical_retrieval(store, parse_query("care"), top_k=1000)}
    assert every and not every & removed


def _first_indexed(settings) -> dict[str, str]:
    store = open_generation(settings).store
    try:
        return {name: record.first_indexed for name, record in sources_by_file_name(store).items()}
    finally:
        store.close()


def test_first_indexed_survives_a_reindex_and_a_new_source_is_newer(setup):
    """The date an alert feed orders by is kept from generation to generation: a changed source keeps
    its own, an unchanged one is carried with it, a new one gets the new build's."""
    folder, settings, _ = setup
    before = _first_indexed(settings)
    assert len(before) == 5 and all(before.values())
    target = folder / "004_7b87d5ffdc1c3793.txt"
    target.write_text(target.read_text() + "\n\nA new closing paragraph about Trafford and section 75.")
    (folder / "new.txt").write_text("Family group conferencing in Leeds kept teenagers at home. " * 10)
    time.sleep(1.1)  # dates are kept to the second: the new build's must be a later one
    report = run_reindex(None, settings)
    assert report.published and not report.full and (report.added, report.changed) == (1, 1)
    after = _first_indexed(settings)
    assert {name: after[name] for name in before} == before
    assert after["new.txt"] > max(before.values())
    # A full rebuild reads every file again and still keeps each source's date.
    full = run_reindex(None, settings, full=True)
    assert full.published and full.full
    assert _first_indexed(settings) == after


def test_a_generation_without_first_indexed_dates_gives_its_build_date(local_setup):
    """Generations written before the date was kept (same format, no date in a source's metadata):
    the next build dates their sources by that generation's build, and a new source by its own."""
    folder, settings, _ = local_setup
    live = open_generation(settings)
    created = live.manifest.created
    live.store.close()
    path = live.path / CHUNKS_FILE
    mode = path.stat().st_mode
    path.chmod(mode | stat.S_IWUSR)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE sources SET meta = json_remove(meta, '$.first_indexed')")
    conn.close()
    path.chmod(mode)
    assert not any(_first_indexed(settings).values())
    time.sleep(1)  # dates are to the second; the next build must not start in the second this one was published
    (folder / "another.md").write_text("# Kinship care\n\nKinship carers in Doncaster asked for support. " * 5)
    report = run_reindex(None, settings)
    assert report.published and report.added == 1
    dates = _first_indexed(settings)
    assert {name: date for name, date in dates.items() if name != "another.md"} == dict.fromkeys(
        (n for n in dates if n != "another.md"), created)
    assert dates["another.md"] > created


def test_a_folder_of_links_keeps_its_ids_from_ingest_to_reindex(tmp_path, monkeypatch):
    """`kb ingest` and `kb reindex` name a source by the same path (ingest.discover.source_path): absolute, a
    link not followed, whatever the working directory. Before, ingest kept the path as given (a relative path,
    a link) and re-index the link's target, so a full re-index of a folder of links changed every id."""
    from ingest.run import run_ingest

    store, links = tmp_path / "store", tmp_path / "links"
    store.mkdir()
    links.mkdir()
    for name in ("001_986c9394a0ec3c21.txt", "003_9ee0817c87de1d62.txt"):
        shutil.copy(CORPUS / name, store / name)
        (links / name).symlink_to(store / name)
    settings = make_settings(tmp_path / "data", sources=str(links))
    monkeypatch.chdir(tmp_path)
    run_ingest(["links"], settings)  # relative, as the README's `kb ingest corpus`

    def ids() -> dict[str, str]:
        generation = open_generation(settings)
        try:
            return {r.source: r.id for r in generation.store.all_sources()}
        finally:
            generation.store.close()

    ingested = ids()
    assert sorted(ingested) == [str(links / "001_986c9394a0ec3c21.txt"), str(links / "003_9ee0817c87de1d62.txt")]
    monkeypatch.chdir(store)  # elsewhere: the configured folder, read through its links again
    full = run_reindex(None, settings, full=True)
    assert full.published and full.full and (full.added, full.changed, full.removed) == (0, 0, 0)
    assert ids() == ingested
    target = store / "001_986c9394a0ec3c21.txt"
    target.write_text(target.read_text() + "\n\nA closing paragraph added to the file the link points to.")
    changed = run_reindex(None, settings)
    assert (changed.added, changed.changed, changed.removed, changed.unchanged) == (0, 1, 0, 1)
    assert ids() == ingested
