"""Issue 26, deliverable 5: the projects catalogue and the canaries are found the same way wherever a run starts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.setup_files import Found, find_file, find_setup, shipped_file
from tests.conftest import CORPUS, ROOT, make_settings

pytestmark = pytest.mark.unit


def test_the_shipped_files_are_the_default_corpus_ones():
    # The package ships the default corpus's catalogue and canaries; after editing corpus/, copy them over.
    for name in ("projects.yaml", "canaries.yaml"):
        assert shipped_file(name).read_text(encoding="utf-8") == (ROOT / "corpus" / name).read_text(encoding="utf-8"), \
            f"cp corpus/{name} ingest/data/{name}"


def test_beside_the_folder_then_configured_then_live_then_shipped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nowhere near the repository
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("text", encoding="utf-8")
    configured = tmp_path / "etc" / "projects.yaml"
    configured.parent.mkdir()
    shutil.copy(CORPUS / "projects.yaml", configured)
    entries = len((CORPUS / "projects.yaml").read_text(encoding="utf-8").split("- name:")) - 1

    relative = "etc/projects.yaml"  # from the working directory, as the default corpus/projects.yaml
    found = find_file("projects catalogue", "projects", relative, [folder])
    assert (found.found, found.path, found.entries) == (Found.CONFIGURED, configured.resolve(), entries)
    shutil.copy(CORPUS / "projects.yaml", folder / "projects.yaml")
    for root in (folder, folder / "a.txt"):  # a folder, or a file in it
        found = find_file("projects catalogue", "projects", relative, [root])
        assert (found.found, found.path) == (Found.BESIDE, (folder / "projects.yaml").resolve())
    # A path named outright is the operator's choice: it comes before the folder's own.
    found = find_file("projects catalogue", "projects", str(configured), [folder])
    assert (found.found, found.path) == (Found.CONFIGURED, configured)
    (folder / "projects.yaml").unlink()
    configured.unlink()
    found = find_file("projects catalogue", "projects", str(configured), [folder], lambda: 7)
    assert (found.found, found.path, found.entries) == (Found.LIVE, None, 7)
    found = find_file("projects catalogue", "projects", "corpus/projects.yaml", [folder], lambda: None)
    assert (found.found, found.path) == (Found.SHIPPED, shipped_file("projects.yaml"))
    assert found.entries > 10
    off = find_file("projects catalogue", "projects", "", [folder])
    assert (off.found, off.used) == (Found.OFF, False)


def test_running_without_them_is_a_warning(tmp_path, caplog):
    settings = make_settings(tmp_path / "data", projects="", canaries="")
    with caplog.at_level("WARNING", logger="ingest.setup_files"):
        setup = find_setup(settings, [CORPUS])
    assert not setup.catalogue.used and not setup.canaries.used
    warned = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("no projects catalogue (switched off by an empty setting)") for m in warned)
    assert any(m.startswith("no quality gate canaries (switched off by an empty setting)") for m in warned)
    applied = setup.applied_to(settings)
    assert applied.projects == "" and applied.canaries == ""


def test_the_files_found_are_what_the_build_reads(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # where the relative defaults point at the repository's own corpus/
    settings = make_settings(tmp_path / "data", projects="corpus/projects.yaml", canaries="corpus/canaries.yaml")
    setup = find_setup(settings, [CORPUS])
    applied = setup.applied_to(settings)
    assert Path(applied.projects) == (CORPUS / "projects.yaml").resolve()
    assert Path(applied.canaries) == (CORPUS / "canaries.yaml").resolve()
    assert setup.to_dict()["canaries"] == {"path": str((CORPUS / "canaries.yaml").resolve()),
                                           "found": "beside the ingested folder", "entries": setup.canaries.entries}
