"""Which files a folder's ingest reads: a README describes its folder and is not a source (issue 24)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.discover import discover, is_folder_description

pytestmark = pytest.mark.unit


def _write(path: Path, text: str = "text") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_folders_readmes_are_not_sources_but_a_readme_named_is(tmp_path):
    report = _write(tmp_path / "docs" / "dorset_2021-11-19.md", "# Dorset\n\nFostering.")
    notes = _write(tmp_path / "docs" / "read-me-first-notes.md", "Notes a practitioner wrote.")
    readme = _write(tmp_path / "docs" / "README.md", "# What this folder holds\n\n284 inspection reports.")
    for name in ("sub/readme.txt", "sub/ReadMe.rst", "sub/README"):
        _write(tmp_path / "docs" / name)
    kept = _write(tmp_path / "docs" / "sub" / "leeds_2023-01-01.txt")
    assert discover([tmp_path / "docs"]) == [report, notes, kept]
    # Named as a path on its own, a README is a file the user asked for.
    assert discover([readme]) == [readme]
    assert discover([tmp_path / "docs", readme]) == [report, notes, kept, readme]


@pytest.mark.parametrize(("name", "description"), [
    ("README.md", True), ("readme", True), ("Readme.TXT", True), ("README.markdown", True),
    ("readme-notes.md", False), ("README_2023.pdf", False), ("my_readme.md", False), ("readmes.md", False),
])
def test_what_counts_as_a_folder_description(name, description):
    assert is_folder_description(Path(name)) is description
