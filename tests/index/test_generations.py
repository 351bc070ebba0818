"""Generations: atomic publish, crash safety, one writer, compatibility checks, pruning."""

import json

import pytest

from index.errors import IndexIncompatibleError, IndexNotFoundError, LockHeldError
from index.storage import generations, open_generation
from index.storage.contract import OLDEST_READABLE_VERSION, SCHEMA_VERSION
from index.storage.layout import MANIFEST_FILE
from index.storage.local.datadir import DataDir
from ingest.run import run_ingest
from tests.conftest import make_settings

pytestmark = pytest.mark.integration


def _builds(settings):
    """The scratch directories of builds in progress, wherever the backend keeps them."""
    root = settings.data_dir / ("builds" if settings.store_url else "generations")
    return list(root.glob(".build-*"))


def test_crash_before_publish_leaves_live_generation(tmp_path, corpus_copy, monkeypatch, store_url):
    settings = make_settings(tmp_path / "data", store_url=store_url)
    run_ingest([corpus_copy], settings)
    data = generations(settings)
    live = data.current_id()

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(type(data), "publish", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        run_ingest([corpus_copy], settings)
    assert data.current_id() == live and data.published() == [live]
    assert open_generation(settings).store.count_sources() == 5
    assert not _builds(settings), "the failed build is cleaned up"


def test_leftover_build_is_removed_by_next_run(tmp_path, corpus_copy, store_url):
    settings = make_settings(tmp_path / "data", store_url=store_url)
    stale = settings.data_dir / ("builds" if store_url else "generations") / ".build-stale"
    stale.mkdir(parents=True)
    if store_url:  # a writer killed in its publishing transaction leaves nothing; a schema no generation names
        import psycopg

        with psycopg.connect(store_url, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA kbg_stale")
    run_ingest([corpus_copy / "004_7b87d5ffdc1c3793.txt"], settings)
    assert not stale.exists()
    if store_url:
        with psycopg.connect(store_url) as conn:
            schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'kbg%'")}
        assert schemas == {"kbg_" + generations(settings).current_id().replace("-", "_").lower()}


def test_one_writer_at_a_time(tmp_path, corpus_copy, store_url):
    settings = make_settings(tmp_path / "data", store_url=store_url)
    with generations(settings).lock(), pytest.raises(LockHeldError, match="Another ingest is"):
        run_ingest([corpus_copy], settings)


def test_old_generations_are_pruned(tmp_path, corpus_copy, store_url):
    settings = make_settings(tmp_path / "data", keep_generations=2, store_url=store_url)
    for _ in range(3):
        run_ingest([corpus_copy / "004_7b87d5ffdc1c3793.txt"], settings)
    data = generations(settings)
    assert len(data.published()) == 2
    assert data.current_id() == data.published()[-1]


def test_other_model_is_refused(tmp_path, corpus_copy, store_url):
    settings = make_settings(tmp_path / "data", store_url=store_url)
    run_ingest([corpus_copy / "004_7b87d5ffdc1c3793.txt"], settings)
    with pytest.raises(IndexIncompatibleError, match="Re-run `kb ingest`"):
        open_generation(settings.replace(embedding_dim=768))
    if store_url:
        return  # the manifest's model, written by hand below, is a local file's
    manifest_path = DataDir(settings.data_dir).generations / DataDir(settings.data_dir).current_id() / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    manifest["model_id"] = "someone/else"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexIncompatibleError, match="someone/else"):
        open_generation(settings)


def test_no_index_yet(tmp_path, store_url):
    with pytest.raises(IndexNotFoundError, match="kb ingest corpus"):
        open_generation(make_settings(tmp_path / "nothing", store_url=store_url))


def test_rollback_makes_the_previous_generation_live(tmp_path, corpus_copy, store_url):
    from click.testing import CliRunner

    from kbcli.main import cli

    settings = make_settings(tmp_path / "data", store_url=store_url)
    runner = CliRunner(env={"KB_STORE_URL": store_url})
    run_ingest([corpus_copy / "004_7b87d5ffdc1c3793.txt"], settings)
    data = generations(settings)
    first = data.current_id()
    run_ingest([corpus_copy / "003_9ee0817c87de1d62.txt"], settings)
    second = data.current_id()
    result = runner.invoke(cli, ["rollback", "--data-dir", str(settings.data_dir)], obj={})
    assert result.exit_code == 0 and first in result.output
    assert data.current_id() == first and open_generation(settings).store.count_sources() == 1
    assert runner.invoke(cli, ["rollback", "--data-dir", str(settings.data_dir)], obj={}).exit_code == 1
    result = runner.invoke(cli, ["rollback", "--to", second, "--data-dir", str(settings.data_dir)], obj={})
    assert result.exit_code == 0 and data.current_id() == second


def test_store_formats_newer_refused_older_served_then_rebuilt(tmp_path, corpus_copy, caplog):
    settings = make_settings(tmp_path / "data")
    run_ingest([corpus_copy / "004_7b87d5ffdc1c3793.txt"], settings)
    data = DataDir(settings.data_dir)
    manifest_path = data.generations / data.current_id() / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    assert manifest["format_version"] == SCHEMA_VERSION

    def with_format(version):
        manifest_path.write_text(json.dumps(dict(manifest, format_version=version)))

    with_format(SCHEMA_VERSION + 1)
    with pytest.raises(IndexIncompatibleError, match="newer version of innovation-kb"):
        open_generation(settings)
    with_format(OLDEST_READABLE_VERSION - 1)
    with pytest.raises(IndexIncompatibleError, match=r"no longer reads.*Rebuild it with `kb ingest`"):
        open_generation(settings)
    with_format(SCHEMA_VERSION - 1)
    with caplog.at_level("WARNING"):
        assert open_generation(settings).store.count_documents() > 0
    assert "served, more slowly" in caplog.text
    # The next build does not carry the old format's files over: it writes a current one.
    run_ingest([corpus_copy / "000_63df589784a0696f.txt"], settings)
    assert open_generation(settings).manifest.format_version == SCHEMA_VERSION


def test_migrate_copies_the_local_index_into_postgresql(tmp_path, corpus_copy, pg_url):
    """`kb migrate`: the live local generation, copied as it is (same id, sources, passages, answers), live there."""
    from click.testing import CliRunner

    from index.search.searcher import Searcher
    from kbcli.main import cli
    from tests.conftest import fresh_database

    local = make_settings(tmp_path / "data")
    run_ingest([corpus_copy / "004_7b87d5ffdc1c3793.txt"], local)
    run_ingest([corpus_copy], local)
    url = fresh_database(pg_url)
    runner = CliRunner(env={"KB_STORE_URL": ""})
    result = runner.invoke(cli, ["migrate", "--data-dir", str(local.data_dir), "--to", url], obj={})
    assert result.exit_code == 0, result.output
    shared = local.replace(store_url=url, data_dir=tmp_path / "replica")
    before, after = open_generation(local), open_generation(shared)
    assert after.id == before.id and generations(shared).published() == [before.id]
    assert after.store.count_sources() == before.store.count_sources() == 5
    assert after.store.count_documents() == before.store.count_documents()
    query = "adolescents edge of care"
    assert ([r.document_id for r in Searcher(shared, after).search(query).results]
            == [r.document_id for r in Searcher(local, before).search(query).results])
    again = runner.invoke(cli, ["migrate", "--data-dir", str(local.data_dir), "--to", url], obj={})
    assert again.exit_code == 1 and "already in" in again.output
    every = runner.invoke(cli, ["migrate", "--all", "--data-dir", str(local.data_dir), "--to",
                                fresh_database(pg_url)], obj={})
    assert every.exit_code == 0 and every.output.count("Copied generation") == 2
    wrong = runner.invoke(cli, ["migrate", "--data-dir", str(local.data_dir), "--to", "mysql://x/y"], obj={})
    assert wrong.exit_code == 1 and "store_url" in wrong.output


def test_an_approximate_index_in_postgresql_finds_what_exact_search_finds(tmp_path, corpus_copy, pg_url):
    """A generation large enough for approximate search gets pgvector's HNSW index (forced here by naming an
    approximate factory): its searches, filtered ones too, find what the exact scan finds on this corpus."""
    from index.search.searcher import Searcher
    from tests.conftest import fresh_database

    exact = make_settings(tmp_path / "exact", store_url=fresh_database(pg_url))
    approximate = make_settings(tmp_path / "hnsw", store_url=fresh_database(pg_url), faiss_factory="IVF4,Flat")
    for settings in (exact, approximate):
        run_ingest([corpus_copy], settings)
    flat, hnsw = open_generation(exact), open_generation(approximate)
    assert (flat.manifest.faiss_factory, hnsw.manifest.faiss_factory) == ("Flat", "HNSW")
    assert (flat.store.vector_factory(), hnsw.store.vector_factory()) == ("Flat", "HNSW")
    vector = flat.store.source_documents(flat.store.source_ids()[0])[0].embedding
    assert ([h.rowid for h in hnsw.store.embedding_retrieval(vector, top_k=10)]
            == [h.rowid for h in flat.store.embedding_retrieval(vector, top_k=10)])
    longest = max(flat.store.source_ids(), key=lambda s: len(flat.store.source_passages(s)))
    assert len(flat.store.source_passages(longest)) >= 3
    one_source = {"field": "meta.source_id", "operator": "==", "value": longest}
    within = hnsw.store.embedding_retrieval(vector, top_k=3, filters=one_source)
    assert len(within) == 3 and {h.source_id for h in within} == {one_source["value"]}
    query = "adolescents edge of care"
    assert ([r.document_id for r in Searcher(approximate, hnsw).search(query).results]
            == [r.document_id for r in Searcher(exact, flat).search(query).results])
