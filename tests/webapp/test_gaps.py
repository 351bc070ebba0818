"""Searches that found nothing or little: counted without anything that says who searched, words kept and
shown only from the minimum count, forgotten after the retention period (webapp/gaps.py, /gaps)."""

from __future__ import annotations

import sqlite3

import pytest

from webapp.gaps import FEW, GAPS_FILE, MIN_COUNT, RETENTION_DAYS, GapLog, SharedGapLog, normalise, words_key

ADDRESS, FORWARDED, AGENT = "203.0.113.77", "198.51.100.23", "Mozilla/5.0 (GapsTestBrowser 9.9)"
# A quoted phrase the sample corpus does not hold: a search that finds nothing.
NOTHING = '"Zebra  quantum crossing"'


def test_queries_are_normalised_and_word_order_does_not_matter():
    assert normalise('  "Zebra   QUANTUM"!  ') == "zebra quantum"
    assert normalise("Children’s  services -care") == "children’s services care"
    assert words_key(normalise("quantum zebra zebra")) == words_key(normalise("Zebra Quantum"))


@pytest.fixture
def gaps_app(corpus_settings, tmp_path):
    from webapp import create_app

    return create_app({"TESTING": True, "KB_SETTINGS": corpus_settings, "KB_GAPS_FILE": str(tmp_path / GAPS_FILE)})


def _search(client, q, **args):
    return client.get("/api/search", query_string={"q": q, **args},
                      environ_base={"REMOTE_ADDR": ADDRESS},
                      headers={"X-Forwarded-For": FORWARDED, "User-Agent": AGENT}).get_json()


@pytest.mark.integration
def test_a_query_is_shown_only_once_it_reached_the_minimum_count(gaps_app):
    client = gaps_app.test_client()
    for n in range(1, MIN_COUNT + 1):
        assert _search(client, NOTHING)["total"] == 0
        listed = {g["query"]: g for g in client.get("/api/gaps").get_json()["searches"]}
        page = client.get("/gaps").get_data(as_text=True)
        if n < MIN_COUNT:
            assert "zebra quantum crossing" not in listed and "zebra quantum crossing" not in page, n
    gap = listed["zebra quantum crossing"]
    assert (gap["searches"], gap["found_nothing"], gap["found_few"]) == (MIN_COUNT, MIN_COUNT, 0)
    assert "zebra quantum crossing" in page and "No search that found little" not in page
    assert client.get(gap["page_url"]).status_code == 200


@pytest.mark.integration
def test_nothing_that_says_who_searched_is_stored(gaps_app, tmp_path):
    client = gaps_app.test_client()
    for _ in range(MIN_COUNT):
        _search(client, NOTHING)
    _search(client, '"only searched once by someone"')
    gaps_app.extensions["kb_gaps"].flush()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith(GAPS_FILE))
    assert b"zebra quantum crossing" in stored, "the words that reached the minimum count are kept"
    for secret in (ADDRESS, FORWARDED, "GapsTestBrowser", "only searched once", "someone"):
        assert secret.encode() not in stored, secret
    with sqlite3.connect(tmp_path / GAPS_FILE) as conn:
        columns = {c for table in ("searches", "words")
                   for c in (row[1] for row in conn.execute(f"PRAGMA table_info({table})"))}
    assert columns == {"fingerprint", "day", "found_none", "found_few", "words"}


@pytest.mark.integration
def test_only_unfiltered_first_pages_that_found_little_count(gaps_app):
    client = gaps_app.test_client()
    for _ in range(MIN_COUNT):
        assert _search(client, "social work")["total"] >= FEW  # found plenty
        _search(client, '"zebra filtered"', type="blog")  # the filter, not the evidence, may be why
        _search(client, '"zebra paged"', page=2)
    assert client.get("/api/gaps").get_json()["searches"] == []


def test_counts_wait_in_memory_and_are_forgotten_after_the_retention_period(tmp_path):
    now = [1_700_000_000.0]
    log = GapLog(tmp_path / GAPS_FILE, clock=lambda: now[0])
    for _ in range(MIN_COUNT):
        log.record("care leavers housing", found=1)
    assert not (tmp_path / GAPS_FILE).exists(), "a search does not wait on a disk write"
    [gap] = log.gaps()
    assert (gap.words, gap.nothing, gap.little) == ("care leavers housing", 0, MIN_COUNT)
    log.record("housing care leavers", found=0)
    assert log.gaps()[0].searches == MIN_COUNT + 1, "the same words in another order are the same search"
    now[0] += (RETENTION_DAYS + 1) * 86400
    log.record("something else", found=0)
    assert log.gaps() == []
    with sqlite3.connect(tmp_path / GAPS_FILE) as conn:
        assert conn.execute("SELECT COUNT(*) FROM words").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM searches").fetchone()[0] == 1


def test_a_file_that_cannot_be_written_never_fails_a_search(tmp_path, caplog):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    log = GapLog(blocker / GAPS_FILE)
    log.record("zebra", found=0)
    log.flush()
    assert "were not counted" in caplog.text and log.gaps() == []


def test_the_file_lives_beside_the_generations_so_a_reindex_keeps_it(corpus_settings):
    from webapp import create_app

    app = create_app({"TESTING": True, "KB_SETTINGS": corpus_settings})
    if corpus_settings.store_url:
        assert isinstance(app.extensions["kb_gaps"], SharedGapLog), "with a shared store, the counts are shared"
        return
    path = app.extensions["kb_gaps"].path
    assert path == corpus_settings.data_dir / GAPS_FILE
    assert "generations" not in path.relative_to(corpus_settings.data_dir).parts


@pytest.mark.integration
def test_replicas_of_one_shared_store_count_together(tmp_path, pg_url):
    """Two web replicas over one PostgreSQL: a search made on either counts once toward /gaps on both, and the
    words appear only when the searches on all replicas together reach the minimum count."""
    import psycopg

    from index.storage.postgres.generations import PgGenerations
    from tests.conftest import fresh_database

    url = fresh_database(pg_url)
    now = [1_700_000_000.0]
    first = SharedGapLog(PgGenerations(url, tmp_path / "first"), clock=lambda: now[0])
    second = SharedGapLog(PgGenerations(url, tmp_path / "second"), clock=lambda: now[0])
    first.record("Zebra crossing quantum", found=0)
    second.record("quantum zebra crossing", found=2)
    assert first.gaps() == [] and second.gaps() == [], "two searches: below the minimum"
    second.record("zebra crossing quantum", found=0)
    second.flush()  # as a replica does within FLUSH_SECONDS
    [gap] = first.gaps()
    assert (gap.words, gap.nothing, gap.little) == ("zebra crossing quantum", 2, 1)
    assert second.gaps() == [gap]
    with psycopg.connect(url) as conn:
        stored = " ".join(str(r) for table in ("gap_searches", "gap_words", "gap_secret")
                          for r in conn.execute(f"SELECT * FROM kb.{table}"))
        assert conn.execute("SELECT count(*) FROM kb.gap_secret").fetchone()[0] == 1, "one key for all replicas"
    assert "quantum zebra crossing" not in stored, "only the wording that reached the minimum is kept"
    now[0] += (RETENTION_DAYS + 1) * 86400
    first.record("something else", found=0)
    assert first.gaps() == [] and second.gaps() == []
