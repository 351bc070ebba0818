"""Excerpts show what matched (issue 23, 6): the window holds the query's rarest matched words, never a common
one alone while a rare one is cut off."""

from __future__ import annotations

from index.search.highlight import excerpt

RARITY = {"care": 0.1, "leavers": 0.5, "staying": 3.0, "put": 2.0}


def _marked(words: list[str]) -> str:
    return " ".join(words)


def test_the_window_holds_the_rare_words_and_keeps_the_common_ones_it_can():
    # "care leavers" early, "‘Staying put’" 43 words on, near the end of a 60-word window from the first mark
    tokens = ["x"] * 15 + ["<mark>care</mark>", "<mark>leavers</mark>"] + ["y"] * 43 + \
        ["‘<mark>Staying</mark>", "<mark>put</mark>’"] + ["z"] * 30
    shown = excerpt(_marked(tokens), 60, lambda word: RARITY.get(word, 0.0))
    assert "<mark>Staying</mark>" in shown and "<mark>put</mark>" in shown and "<mark>care</mark>" in shown
    # the quarter-before-the-first-mark rule alone would open at the first x and cut "put" off
    assert excerpt(_marked(tokens), 60, lambda word: RARITY.get(word, 0.0)).count("<mark>") == 4


def test_a_rare_word_far_from_the_common_ones_wins_the_window():
    tokens = ["<mark>care</mark>", "<mark>leavers</mark>"] + ["y"] * 100 + ["<mark>staying</mark>",
                                                                          "<mark>put</mark>"] + ["z"] * 100
    shown = excerpt(_marked(tokens), 60, lambda word: RARITY.get(word, 0.0))
    assert "<mark>staying</mark> <mark>put</mark>" in shown and "care" not in shown
    assert shown.startswith("… ") and shown.endswith(" …")
