"""Issue 14, items 1, 2 and 6 on the sample corpus (real model, FAISS, SQLite, tantivy): honest matching, the
README's promise that sources matching all words come first, the passages shown, and why each result is shown."""

from __future__ import annotations

import json

import pytest

from index.search.explain import Evidence, contributions, form_in, how_found, keyword_share
from index.search.highlight import CLOSE, OPEN, unmark_names
from index.search.query import Term, parse_query
from index.search.searcher import replaced_words
from index.search.vocabulary import VOCABULARY_FILE, Vocabulary, words_of
from index.storage.analysis import AnalysedTerms
from index.storage.contract import LexicalRow, PassageHit
from index.storage.local.lexical import LexicalIndex
from tests.conftest import make_settings

ORDER = {"all": 0, "some": 1, "meaning": 2}


def _titles(response) -> list[str]:
    return [r.title for r in response.results]


# -- the README's promise: sources matching all words come first ------------------------------------------

@pytest.mark.parametrize("query, first", [
    # The article holding the exact phrase, above those holding one of the words.
    ("mutuals and trusts", "Government document reveals desire for greater innovation in children's social care"),
    # The sentence's source first.
    ("social workers on a par with surgeons",
     "Government document reveals desire for greater innovation in children's social care"),
    # The publisher is searchable: the Cafcass blog never names Cafcass in its text.
    ("Cafcass chief executive", "Why I am supporting the power to innovate"),
])
def test_readme_promise_examples(corpus_searcher, query, first):
    response = corpus_searcher.search(query)
    assert response.results, query
    assert response.results[0].title == first, _titles(response)


@pytest.mark.parametrize("query", ["mutuals and trusts", "adolescents edge of care", "power to innovate",
                                   "social work", "family courts", "outdated practice model"])
def test_all_words_before_some_before_meaning(corpus_searcher, query):
    results = corpus_searcher.search(query).results
    ranks = [ORDER[r.match] for r in results]
    assert ranks == sorted(ranks), [(r.match, r.title) for r in results]


def test_the_phrase_holder_is_an_all_words_match(corpus_searcher):
    top = corpus_searcher.search("mutuals and trusts").results[0]
    assert top.match == "all"
    assert any("<mark>mutuals</mark>" in p.highlighted for p in top.passages)


# -- the passages shown -------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["adolescents edge of care", "social work", "mutuals and trusts"])
def test_passages_shown_hold_a_query_word_best_first(corpus_searcher, query):
    for result in corpus_searcher.search(query).results:
        if result.match == "meaning":
            assert len(result.passages) == 1, "a source found by meaning alone shows its closest passage"
            continue
        holding = [p for p in result.passages if "<mark>" in p.highlighted]
        if holding:  # words may be only in the title or byline: then its best passage is shown
            assert holding == result.passages, (result.title, [p.highlighted[:80] for p in result.passages])
        scores = [p.score for p in result.passages]
        assert scores == sorted(scores, reverse=True)


def test_the_publishers_name_is_never_highlighted(corpus_searcher):
    for query in ("adolescents edge of care", "community care", "care"):
        for result in corpus_searcher.search(query).results:
            for passage in result.passages:
                assert "Community <mark>Care</mark>" not in passage.highlighted, (query, passage.highlighted[:120])
                assert "<mark>Community</mark> Care" not in passage.highlighted


# -- honest matching ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["xyzzyq", "zebra", "asdfgh qwerty", "zebra crossing quantum"])
def test_words_the_corpus_lacks_find_nothing_and_say_which(corpus_searcher, query):
    response = corpus_searcher.search(query)
    assert response.total == 0 and response.results == []
    assert response.matched == "none"
    assert "zebra" in response.missing_words if "zebra" in query else response.missing_words


def test_some_words_missing(corpus_searcher):
    response = corpus_searcher.search("zebra social work")
    assert response.matched == "some"
    assert response.missing_words == ["zebra"]
    assert all(r.match == "some" or r.match == "meaning" for r in response.results)
    assert next(s.query for s in response.suggestions if s.kind == "related") == "social work"


def test_did_you_mean_comes_from_the_index_words(corpus_searcher):
    response = corpus_searcher.search("adolesents edge of care")
    spelling = [s for s in response.suggestions if s.kind == "spelling"]
    assert spelling and spelling[0].query == "adolescents edge of care"
    assert spelling[0].changes == [("adolesents", "adolescents")]
    assert corpus_searcher.search(spelling[0].query).matched == "all", "the suggestion finds what was meant"


def test_a_right_query_gets_no_suggestions(corpus_searcher):
    response = corpus_searcher.search("adolescents edge of care")
    assert response.matched == "all" and response.missing_words == [] and response.suggestions == []


def test_an_older_generation_has_no_vocabulary(tmp_path):
    assert Vocabulary.load(tmp_path) is None
    (tmp_path / VOCABULARY_FILE).write_text("{not json", encoding="utf-8")
    assert Vocabulary.load(tmp_path) is None


def test_the_vocabulary_is_written_with_the_generation(corpus_searcher):
    stored = json.loads(corpus_searcher.generation.read_text(VOCABULARY_FILE))
    words = dict(stored["words"])
    assert words["adolescents"] >= 1 and "cafcass" in words  # a publisher's word too
    assert corpus_searcher.vocabulary is not None and "adolescents" in corpus_searcher.vocabulary


def test_suggest_prefers_close_then_common():
    vocabulary = Vocabulary({"adolescents": 5, "adolescent": 50, "care": 100, "cafcass": 3})
    assert vocabulary.suggest("adolesents") == ["adolescents"]
    assert vocabulary.suggest("adolescent") == ["adolescents"], "never the word itself"
    assert vocabulary.suggest("xyzzyq") == []
    assert words_of("Cafcass’s chief, 2016: A b") == {"cafcass's", "chief"}


def test_replaced_keeps_the_rest_of_the_query():
    assert replaced_words("Adolesents  edge of care", [("adolesents", "adolescents")]) == "adolescents  edge of care"
    assert replaced_words("LAC outcomes", [("lac", "looked after children")]) == "looked after children outcomes"


# -- why this result ----------------------------------------------------------------------------------------

def test_why_names_where_words_matched(corpus_searcher):
    top = corpus_searcher.search("Cafcass chief executive").results[0]
    where = {w.word: w.where for w in top.why.words}
    assert where["cafcass"] == ["publisher"]
    assert where["chief"] == [] and where["executive"] == []
    assert any("publisher" in s for s in top.why.summary)


def test_a_word_held_in_another_form_is_said_in_that_form():
    analyzer = AnalysedTerms()
    word = Term(("adolescents",))
    tokens = analyzer.analyze(word)
    texts = ["Work with an Adolescent at risk.", "The families of adolescent-aged children."]
    assert form_in(texts, word, tokens, analyzer.analyze_text) == "Adolescent"
    assert form_in(["Adolescents and their families."], word, tokens, analyzer.analyze_text) is None  # as typed
    assert form_in(["Nothing here about it."], word, tokens, analyzer.analyze_text) is None  # not read: not said
    phrase = Term(("safeguarding", "families"))
    assert form_in(["Each safeguarded  family was seen."], phrase, analyzer.analyze(phrase),
                   analyzer.analyze_text) == "safeguarded family"


@pytest.mark.parametrize("query", ["adolescent edge of cares", "families safeguarding", "innovations"])
def test_every_form_said_is_in_the_source_as_written(corpus_searcher, query):
    said = 0
    for result in corpus_searcher.search(query).results:
        for word in result.why.words:
            if word.form is None:
                continue
            said += 1
            passages = corpus_searcher.store.source_passages(result.document_id)
            place = result.title if word.where[0] == "title" else " ".join(p.content for p in passages)
            assert word.form.lower() in " ".join(place.split()).lower(), (query, word)
            assert f"“{word.word}” is in its" in " ".join(result.why.summary)
    assert said, f"no result of {query!r} holds a word in another form"


def test_why_names_synonyms_used(corpus_searcher):
    results = corpus_searcher.search("LAC outcomes").results
    used = {(s.word, s.synonym) for r in results for s in r.why.synonyms}
    assert any(word == "lac" for word, _ in used), used


def test_why_keyword_and_meaning_in_plain_words(corpus_searcher):
    for query in ("adolescents edge of care", "zebra social work", "Anthony Douglas"):
        for result in corpus_searcher.search(query).results:
            why = result.why
            assert 0.0 <= why.keyword_share <= 1.0
            assert why.how_found == how_found(why.keyword_share)
            text = " ".join(why.summary)
            assert why.passage_reason in text and "0." not in text, "plain English, no scores"
            if result.match == "meaning":
                assert why.keyword_share == 0.0


def test_why_the_passage_was_chosen(corpus_searcher):
    top = corpus_searcher.search("adolescents edge of care").results[0]
    assert top.why.passage_reason.startswith("Its passage shown first holds every word")


def _hit(rowid: int, score: float) -> PassageHit:
    return PassageHit(rowid, f"p{rowid}", f"s{rowid}", "", {}, score)


def test_contributions_split_the_fused_score(tmp_path):
    settings = make_settings(tmp_path, dense_weight=0.5, adaptive_weights=False, meaning_floor=0.0)
    parsed = parse_query("edge of care")
    evidence = Evidence(parsed, parsed, [_hit(1, 10.0), _hit(2, 5.0)], [], [_hit(2, 0.8), _hit(3, 0.4)],
                        "weighted", settings)
    parts = contributions(evidence)
    assert parts[1] == (0.5, 0.0), "found by words alone: no part from meaning"
    assert parts[2] == (0.25, 0.5)
    assert parts[3] == (0.0, 0.25)
    assert keyword_share(parts[1]) == 1.0 and keyword_share(parts[3]) == 0.0 and keyword_share(None) == 0.0


def test_unmark_names_only_inside_the_name():
    marked = f"2014  Community {OPEN}Care{CLOSE}  ... social {OPEN}care{CLOSE} services"
    assert unmark_names(marked, ["Community Care"]) == f"2014  Community Care  ... social {OPEN}care{CLOSE} services"
    assert unmark_names(marked, []) == marked


def test_byline_is_searched_by_any_word_only(tmp_path):
    rows = [LexicalRow(1, "cafcass", "Power to innovate", "the family courts", "Cafcass Anthony Douglas"),
            LexicalRow(2, "other", "Courts", "family courts and Cafcass", "Community Care")]
    LexicalIndex.build(tmp_path / "lex", rows)
    index = LexicalIndex.open(tmp_path / "lex")
    assert index.has_byline
    relaxed = parse_query("douglas courts").relaxed_plan()
    assert relaxed is not None and {r for r, _ in index.search(relaxed, 10)} == {1, 2}
    strict = parse_query("douglas courts").strict_plan()
    assert index.search(strict, 10) == [], "a publisher's name does not make a passage hold every word"
    counts = index.word_document_counts(parse_query("douglas zebra").content_terms())
    assert [c for c in counts.values()] == [1, 0]
