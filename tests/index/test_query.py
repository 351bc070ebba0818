"""The query parser: clear errors for bad queries, and nothing a user types breaks FTS5."""

import re
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.errors import QueryError
from index.search.query import LONG_QUERY_WORDS, MAX_LONG_QUERY_WORDS, MAX_QUERY_CHARS, MAX_TERMS, parse_query

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def fts():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(content, title, tokenize='porter unicode61 remove_diacritics 2')")
    conn.executemany("INSERT INTO f VALUES (?, '')", [
        ("Adolescents on the edge of care in North Yorkshire",),
        ("Reclaiming Social Work in Hackney",),
        ("The power to innovate and Trafford's section 75 agreement",),
    ])
    return conn


def test_words_must_all_match_strictly(fts):
    parsed = parse_query("adolescents edge of care")
    rows = fts.execute("SELECT rowid FROM f WHERE f MATCH ?", (parsed.strict_match(),)).fetchall()
    assert rows == [(1,)]


def test_phrase_exclusion_and_or(fts):
    parsed = parse_query('"social work" OR trafford -hackney')
    assert parsed.required_match() is None  # the phrase is one alternative of an OR group
    rows = fts.execute("SELECT rowid FROM f WHERE f MATCH ?", (parsed.strict_match(),)).fetchall()
    assert rows == [(3,)]


def test_quoted_phrase_is_required():
    parsed = parse_query('"edge of care" adolescents')
    assert parsed.required_match() == '"edge of care"'
    assert parsed.dense_text() == "edge of care adolescents"


def test_function_words_are_not_topic_words():
    parsed = parse_query("the power of innovation")
    # the ranking's strict candidates keep them (as tuned); what a source is said to hold does not
    assert '"the"' in parsed.strict_match()
    assert [t.text for t in parsed.content_terms()] == ["power", "innovation"]
    assert parsed.relaxed_match() == '("power" OR "innovation")'
    assert [t.text for t in parse_query("his mother's new partner").content_terms()] == ["mother s", "new", "partner"]


def test_question_frame_is_read_by_the_model_only():
    parsed = parse_query("what works for neglect")
    assert [t.text for t in parsed.content_terms()] == ["neglect"]
    assert parsed.strict_match() == '"neglect"'
    assert parsed.dense_text() == "what works for neglect"
    assert "works" not in parsed.highlight_match()
    assert [t.text for t in parse_query("show me examples of Mockingbird").content_terms()] == ["mockingbird"]
    # a frame with nothing after it is the query itself; a quoted frame is a phrase
    assert [t.text for t in parse_query("what works").content_terms()] == ["works"]
    assert [t.text for t in parse_query('"what works" neglect').content_terms()] == ["what works", "neglect"]


def test_stemming_matches_other_forms(fts):
    parsed = parse_query("innovating")
    assert fts.execute("SELECT count(*) FROM f WHERE f MATCH ?", (parsed.strict_match(),)).fetchone()[0] == 1


@pytest.mark.parametrize("raw, message", [
    ("", "Type some words"),
    ("   ", "Type some words"),
    ("-trafford", "cannot be only exclusions"),
    ("!!! ???", "no words to search for"),
    ("x" * (MAX_QUERY_CHARS + 1), f"is {MAX_QUERY_CHARS + 1} characters long; the limit is {MAX_QUERY_CHARS}"),
    ("care " + " ".join(f"-w{i}" for i in range(MAX_TERMS + 1)), "exclusions .* the limit is 32. Use fewer of them"),
    (" ".join(f'"w{i} x"' for i in range(MAX_TERMS + 1)), "quoted phrases"),
])
def test_bad_queries_get_clear_messages(raw, message):
    with pytest.raises(QueryError, match=message):
        parse_query(raw)


def test_fts_syntax_is_not_interpreted(fts):
    parsed = parse_query('NEAR(edge care) title:power * ^innovate AND OR NOT "')
    expressions = [parsed.strict_match(), parsed.relaxed_match(), parsed.highlight_match()]
    assert all(expressions)
    for expression in expressions:
        # Whatever the user typed sits inside quoted strings; outside them only our own operators remain,
        # so a column filter (title:), prefix (*), initial token (^) or NEAR() is never FTS5 syntax.
        outside = re.sub(r'"(?:[^"]|"")*"', " ", expression)
        assert re.fullmatch(r"[\s()]*((AND|OR|NOT)[\s()]+)*", outside + " "), expression
        fts.execute("SELECT rowid FROM f WHERE f MATCH ?", (expression,)).fetchall()
    assert '"title power"' in parsed.strict_match()  # the words themselves are searched for


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=120))
def test_any_text_parses_or_fails_cleanly(fts, raw):
    try:
        parsed = parse_query(raw)
    except QueryError as exc:
        assert str(exc)
        return
    expressions = [parsed.strict_match(), parsed.relaxed_match(), parsed.required_match(),
                   parsed.exclusion_match(), parsed.highlight_match()]
    for expression in filter(None, expressions):
        fts.execute("SELECT rowid FROM f WHERE f MATCH ?", (expression,)).fetchall()
    assert parsed.dense_text().strip()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(['"', "-", "OR", "|", "(", ")", "*", ":", "^", "NEAR", "AND", "NOT", "care", "é",
                                 "edge", " ", "\u0301", "_", "\x00", "🙂"]), max_size=30))
def test_operator_soup_parses_or_fails_cleanly(fts, pieces):
    raw = "".join(pieces)
    try:
        parsed = parse_query(raw)
    except QueryError:
        return
    for expression in filter(None, [parsed.strict_match(), parsed.relaxed_match(), parsed.highlight_match()]):
        fts.execute("SELECT rowid FROM f WHERE f MATCH ?", (expression,)).fetchall()


def test_plans_carry_the_same_clauses_as_the_match_expressions():
    parsed = parse_query('the power "edge of care" OR innovation -Trafford -"section 75"')
    strict = parsed.strict_plan()
    assert [[t.text for t in c] for c in strict.clauses] == [["the"], ["power"], ["edge of care", "innovation"]]
    assert [t.text for t in strict.exclusions] == ["trafford", "section 75"] and not strict.any_word
    relaxed = parsed.relaxed_plan()
    assert relaxed is not None and relaxed.any_word
    assert [[t.text for t in c] for c in relaxed.clauses] == [["power", "edge of care", "innovation"]], "no stopword"
    assert relaxed.exclusions == strict.exclusions
    assert parsed.required_plan() is None, "the phrase is one alternative of an OR group"
    assert [t.text for t in parsed.exclusion_plan().clauses[0]] == ["trafford", "section 75"]


def test_required_phrases_stay_required_in_the_relaxed_plan():
    parsed = parse_query('"edge of care" adolescents hubs')
    relaxed = parsed.relaxed_plan()
    assert [[t.text for t in c] for c in relaxed.clauses] == [["adolescents", "hubs"], ["edge of care"]]
    assert [[t.text for t in c] for c in parsed.required_plan().clauses] == [["edge of care"]]
    assert parse_query("care").relaxed_plan() is None and parse_query("care").exclusion_plan() is None


def _paragraph(words: int) -> str:
    """A pasted paragraph of ``words`` distinct content words (w0 w1 ...) among stopwords."""
    return " ".join(f"the w{i} of" for i in range(words))


def test_many_plain_words_are_a_long_query_not_a_refusal():
    short = parse_query(" ".join(f"w{i}" for i in range(LONG_QUERY_WORDS)))
    assert not short.is_long and short.proximity_terms()  # as before: every word, and the proximity boost
    long = parse_query(_paragraph(200))
    assert long.is_long
    assert long.proximity_match() is None  # no NEAR of 200 words
    assert parse_query(" ".join(["the of and"] * 20)).is_long  # 60 stopwords: bounded too


def test_a_long_query_searches_at_most_its_bounded_words_and_reads_whole_for_the_model():
    parsed = parse_query(_paragraph(200))
    relaxed = parsed.relaxed_plan()
    assert relaxed is not None and relaxed.any_word
    assert [t.text for t in relaxed.clauses[0]] == [f"w{i}" for i in range(MAX_LONG_QUERY_WORDS)]
    assert parsed.relaxed_match().count(" OR ") == MAX_LONG_QUERY_WORDS - 1
    assert parsed.highlight_match().count(" OR ") == MAX_LONG_QUERY_WORDS - 1
    assert parsed.dense_text().split()[-1] == "of" and len(parsed.dense_text().split()) == 600


def test_focus_keeps_the_chosen_words_in_query_order():
    parsed = parse_query(_paragraph(30)).focused(tuple(parse_query("w7 w3").clauses[i][0] for i in (0, 1)))
    assert parsed.relaxed_match() == '("w3" OR "w7")'
    assert parsed.highlight_match() == '"w3" OR "w7"'


def test_a_long_query_is_text_not_syntax():
    """A pasted paragraph's quotation marks and dashes are its writer's: no phrase is required, nothing excluded."""
    parsed = parse_query(_paragraph(40) + ' "edge of care" -trafford OR')
    assert parsed.is_long
    assert parsed.required_match() is None and parsed.exclusion_match() is None
    assert all(len(c) == 1 and not c[0].quoted for c in parsed.clauses)
    assert {"edge", "care", "trafford", "or"} <= {c[0].text for c in parsed.clauses}
    short = parse_query('"edge of care" -trafford adolescents')
    assert short.required_match() == '"edge of care"' and short.exclusion_match() is not None


def test_a_long_querys_repeated_words_count_as_often_as_it_says_them():
    """BM25 counts a query's repeated words; a pasted paragraph's repeated words are its subject."""
    parsed = parse_query(_paragraph(20) + " fostering fostering fostering kinship")
    plan = parsed.relaxed_plan()
    weights = dict(zip((t.text for t in plan.clauses[0]), plan.weights, strict=True))
    assert weights["fostering"] == 3 and weights["kinship"] == 1 and weights["w0"] == 1
    short = parse_query("fostering fostering kinship").relaxed_plan()
    assert short.weights == (), "a short query's words count once, as before"
