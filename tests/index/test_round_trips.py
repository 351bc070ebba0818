"""How many round trips a search makes to PostgreSQL: each waits on the database server, which is what limits
web replicas (docs/benchmarks.md, "Two web replicas over PostgreSQL").

A round trip is counted as the client makes it, from libpq's own trace of the protocol messages it sends and
receives (:mod:`index.storage.postgres.wire`): each ``Query``, ``Sync`` or ``Flush`` the client sends is one
wait for the server (but a ``Flush`` that follows a ``Sync`` whose answer is not back yet, as psycopg ends a
pipeline). So a statement on its own is one, a pipeline of statements is one, and psycopg's ``BEGIN`` and
``COMMIT`` around a statement outside autocommit are one each: a count of executed statements missed those.
Every connection any pool hands out during the search is traced, so statements on two connections at once are
two round trips.
"""

from __future__ import annotations

import pytest

from index.search.searcher import Searcher
from index.storage import open_generation
from index.storage.postgres.wire import counted, round_trips

# Counted by this test's rule (issue 22): a plain search took 31, 25 and 19 round trips on these queries before,
# when each of its 10 to 14 statements was also wrapped in BEGIN and COMMIT; now a search reads in three steps:
# (1) the words' statistics, every source holding the words, the vector search and every source close in
# meaning, in one pipeline; (2) the strict and relaxed lexical searches, in one pipeline, each one statement
# (MaxScore's passes in one statement), their candidates' text with them for the proximity check; (3) the page:
# the passages shown with their text and the sources' records, and for sources the ranked candidates did not
# reach, their best passages. A search whose words' statistics are all known already sends (1) and (2) together.
MOST_ROUND_TRIPS = 3
# A pasted paragraph reads its words' statistics to choose the words it searches for: the search's own first step.
LONG_QUERY = ("We want to know how local authorities have reduced the number of children entering care through "
              "intensive family support and what the evaluations found about costs and outcomes for families")
# A quoted phrase's word-for-word check of the candidates, a -word's sources among them: a round trip each.
MOST_ROUND_TRIPS_WITH_PHRASES = 4
MOST_ROUND_TRIPS_WITH_EXCLUSIONS = 4


@pytest.mark.parametrize("corpus_settings", ["postgresql"], indirect=True)
def test_a_plain_search_on_postgresql_takes_few_round_trips(corpus_settings):
    searcher = Searcher(corpus_settings, open_generation(corpus_settings))
    searcher.search("warm up the model")
    counts = {}
    for query, most in (("adolescents edge of care", MOST_ROUND_TRIPS), ("family group conferencing", MOST_ROUND_TRIPS),
                        ("innovation", MOST_ROUND_TRIPS), ("residential care staff", MOST_ROUND_TRIPS),
                        (LONG_QUERY, MOST_ROUND_TRIPS),
                        ('"family group" conferencing', MOST_ROUND_TRIPS_WITH_PHRASES),
                        ("innovation -covid", MOST_ROUND_TRIPS_WITH_EXCLUSIONS)):
        with counted() as trips:
            response = searcher.search(query)
        counts[query] = trips.statements
        assert 0 < trips.total <= most, counts
        assert response.results or '"' in query
    # the same search again: every statistic is known, so the candidates are asked in the first step
    with counted() as trips:
        searcher.search("adolescents edge of care")
    assert trips.total == 2, trips.statements


def test_the_count_follows_the_client_waits():
    """Read from traces of the messages psycopg sends and receives (libpq's format, timestamps suppressed)."""
    begin_select_commit = ('F\t10\tQuery\t "BEGIN"\nB\t10\tCommandComplete\t "BEGIN"\nB\t5\tReadyForQuery\t T\n'
                           'F\t16\tParse\t "" "SELECT 1" 0\nF\t14\tBind\t "" "" 0 0 1 0\nF\t6\tDescribe\t P ""\n'
                           'F\t9\tExecute\t "" 0\nF\t4\tSync\nB\t5\tReadyForQuery\t T\nF\t11\tQuery\t "COMMIT"\n'
                           'B\t5\tReadyForQuery\t I\n')
    assert round_trips(begin_select_commit) == ["BEGIN", "SELECT 1", "COMMIT"]
    # a pipeline: two statements, the server's first rows back before the second is sent, then Sync and Flush
    pipeline = ('F\t16\tParse\t "" "SELECT 2" 0\nF\t9\tExecute\t "" 0\nB\t4\tParseComplete\n'
                'F\t16\tParse\t "" "SELECT 3" 0\nF\t9\tExecute\t "" 0\nF\t4\tSync\nB\t4\tParseComplete\n'
                'F\t4\tFlush\nB\t5\tReadyForQuery\t I\n')
    assert round_trips(pipeline) == ["SELECT 2"]
    # a pipelined result read before the pipeline ends: the client asks for it (Flush) and waits
    early = ('F\t16\tParse\t "" "SELECT 2" 0\nF\t9\tExecute\t "" 0\nF\t4\tFlush\nB\t4\tParseComplete\n'
             'F\t16\tParse\t "" "SELECT 3" 0\nF\t9\tExecute\t "" 0\nF\t4\tSync\nF\t4\tFlush\n'
             'B\t5\tReadyForQuery\t I\n')
    assert round_trips(early) == ["SELECT 2", "SELECT 3"]
