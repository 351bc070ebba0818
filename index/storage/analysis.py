"""How text becomes index terms, for both lexical engines (tantivy locally, postings tables in PostgreSQL).

One analyser (runs of letters and digits, lower-cased, accents folded, English Snowball stems, like FTS5's
``porter unicode61 remove_diacritics 2``), the BM25 model's shared choices (the title in the text, the
weights of title and byline), adjacent-pair terms for phrases, and the checks made on a passage's own
tokens (a phrase word for word, words close together). Both engines analyse with this, so stems, scores
and matches agree.

Usage::

    tokens = analyzer().analyze("Looked-after children")       # ['look', 'after', 'children']
    token_pairs(tokens)                                        # ['look_after', 'after_children']
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from itertools import pairwise

import tantivy

from index.search.query import ParsedQuery, Term

# Longer tokens (base64, run-together URLs) are dropped; FTS5 keeps them, but no one searches for them.
MAX_TOKEN_CHARS = 100
# Analysed texts kept by each analyser (a search reads about a hundred: candidates' passages and titles).
ANALYSED_TEXTS = 512
# A quoted term of a highlight match (:meth:`ParsedQuery.highlight_match`), doubled quotes escaped.
HIGHLIGHT_TERM = re.compile(r'"((?:[^"]|"")*)"')
# The source's publisher and authors (issue 14: "Cafcass chief executive" finds the Cafcass blog, whose text
# never names Cafcass) are a field matched only by the any-word (relaxed) plan, at this fraction of the
# title's weight: a passage does not hold "every word" of "edge of care" because its publisher is Community Care.
BYLINE_SCALE = 0.5
# Default weight of the title field against the text, as FTS5's rank setting in the local store.
DEFAULT_TITLE_WEIGHT = 0.5
# tantivy scores the title as a field of its own (its own idf and length norm: a short field where
# a word is rare), where FTS5 adds weighted title counts to the passage's; the same setting
# therefore weighs titles more here. Halved: csc-seeds nDCG@10 0.9445 (1.0: 0.9441, 0.25: 0.9451,
# FTS5 0.9418), and the sample corpus's relevance tests pass again (at 1.0 the round-up page titled
# "The Power to Innovate" overtook the Cafcass post for "power to innovate family courts").
TITLE_SCALE = 0.5
# The title is indexed twice: as the first words of every passage's text, as a reference BM25 reads
# "title text" (bm25s, BEIR's baselines), and in its own field, weighted by the title_weight setting.
# Chosen leave-one-collection-out over six collections (docs/ranking.md, "Lexical: a fair BM25").
TITLE_IN_TEXT = True


def analyzer() -> tantivy.TextAnalyzer:
    """The analyser every lexical index uses (a new one: tantivy's analysers are cheap and not shared)."""
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(MAX_TOKEN_CHARS))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
            .filter(tantivy.Filter.stemmer("english"))
            .build())


def token_pairs(tokens: Sequence[str]) -> list[str]:
    """Adjacent tokens joined (``looked_after``): how phrases are indexed and searched."""
    return [f"{a}_{b}" for a, b in pairwise(tokens)]


def holds(tokens: Sequence[str], phrase: Sequence[str]) -> bool:
    """Whether ``tokens`` holds ``phrase`` word for word."""
    if len(phrase) == 1:
        return phrase[0] in tokens  # a word: list membership, at C speed
    return bool(starts(tokens if isinstance(tokens, list) else list(tokens), list(phrase)))


def starts(tokens: list[str], phrase: list[str]) -> list[int]:
    """Where ``phrase`` starts in ``tokens``, word for word (``list.index`` finds each first word at C speed)."""
    first, size, at = phrase[0], len(phrase), -1
    found: list[int] = []
    while True:
        try:
            at = tokens.index(first, at + 1)
        except ValueError:
            return found
        if size == 1 or tokens[at:at + size] == phrase:
            found.append(at)


def within(tokens: list[str], phrases: list[list[str]], gap: int) -> bool:
    """Whether one occurrence of each phrase fits in a window with at most ``gap`` tokens not theirs."""
    present = set(tokens)
    if any(not present.issuperset(phrase) for phrase in phrases):
        return False  # most candidates lack a word: decided at C speed, without the scan below
    events: list[tuple[int, int, int]] = []  # (start, phrase, length)
    for number, phrase in enumerate(phrases):
        events += [(start, number, len(phrase)) for start in starts(tokens, phrase)]
    if len({number for _, number, _ in events}) < len(phrases):
        return False
    events.sort()
    need = sum(len(p) for p in phrases)
    latest: dict[int, tuple[int, int]] = {}  # phrase -> its latest (start, end) seen so far
    for start, number, size in events:
        latest[number] = (start, start + size)
        if len(latest) == len(phrases):
            first_start = min(s for s, _ in latest.values())
            last_end = max(e for _, e in latest.values())
            if last_end - first_start - need <= gap:
                return True
    return False


def marked(text: str, spans: list[tuple[int, int]], open_mark: str, close_mark: str) -> str:
    """``text`` with each of ``spans`` (character ranges; overlapping ones merged) between the marks."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    parts, at = [], 0
    for start, end in merged:
        parts += [text[at:start], open_mark, text[start:end], close_mark]
        at = end
    parts.append(text[at:])
    return "".join(parts)


class AnalysedTerms:
    """What both lexical engines answer from the analyser alone, written once: a query word's tokens, a text's
    tokens, and proximity on the candidates' own text."""

    def __init__(self) -> None:
        self.text_analyzer = analyzer()
        # A search analyses the same passage texts and titles several times (proximity, the "why" sentences of
        # each source, every source's shared title): kept for the last few searches' texts, read-only lists.
        self._analysed = lru_cache(maxsize=ANALYSED_TEXTS)(self._analyse)

    def analyze(self, term: Term) -> list[str]:
        """The indexed tokens of a word or phrase (its stems, as the index holds them)."""
        return [token for word in term.tokens for token in self.text_analyzer.analyze(word)]

    def analyze_text(self, text: str) -> list[str]:
        """A text's tokens as the index holds them (for telling where a query's words are); the list is shared
        between calls with the same text, so callers must not change it."""
        return self._analysed(text)

    def _analyse(self, text: str) -> list[str]:
        return list(self.text_analyzer.analyze(text))

    def near(self, terms: Sequence[Term], texts: Mapping[int, Sequence[str]], gap: int) -> set[int]:
        """Which rows hold every term (phrases word for word) with at most ``gap`` other tokens between
        the first and the last, in any order, within one of their texts (FTS5's ``NEAR``).

        Done in Python on the candidates' own text, analysed as the index analyses it: FTS5's NEAR
        on 30 rows cost up to 400 ms at a million passages for common words, since it reads each
        word's whole position list; this costs a few milliseconds whatever the words.
        """
        wanted = [w for w in (self.analyze(t) for t in terms) if w]
        if len(wanted) < 2:
            return set()
        return {rowid for rowid, columns in texts.items()
                if any(within(self.analyze_text(text), wanted, gap) for text in columns if text)}

    def highlight(self, query: ParsedQuery, texts: Mapping[int, str], open_mark: str, close_mark: str
                  ) -> dict[int, str]:
        """Each text with ``open_mark``/``close_mark`` around the words and phrases of the query's highlight
        match (:meth:`ParsedQuery.highlight_match`: a long query's searched words, a short one's every word)
        where the text holds them, stem for stem; overlapping matches share one mark, as FTS5's ``highlight()``.

        Only texts with at least one mark are returned (FTS5 returned the rows its match found). The marks
        are placed at the analyser's own character offsets of tokens of the text itself, so nothing that is
        not in the text is ever marked.
        """
        phrases = [tokens for tokens in (self.analyze(Term(tuple(m.replace('""', '"').split())))
                                         for m in HIGHLIGHT_TERM.findall(query.highlight_match())) if tokens]
        if not phrases:
            return {}
        out: dict[int, str] = {}
        for rowid, text in texts.items():
            if not text:
                continue
            stems = self.analyze_text(text)  # the same tokens, in order, as pre_tokenize's (cached)
            present = set(stems)
            if not any(present.issuperset(phrase) for phrase in phrases):
                continue  # nothing to mark: no offsets needed
            tokens = self.text_analyzer.pre_tokenize(text).tokens
            spans: list[tuple[int, int]] = []
            for phrase in phrases:
                if present.issuperset(phrase):
                    spans += [(tokens[i].char_offset_from, tokens[i + len(phrase) - 1].char_offset_to)
                              for i in starts(stems, phrase)]
            if spans:
                out[rowid] = marked(text, spans, open_mark, close_mark)
        return out
