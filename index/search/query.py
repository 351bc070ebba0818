"""User query syntax: words, "quoted phrases", -exclusions and OR, compiled to safe FTS5 MATCH text.

Usage::

    parsed = parse_query('adolescents "edge of care" -Trafford', max_chars=6000)
    parsed.strict_match()   # '"adolescents" AND "edge of care" NOT ("trafford")'
    parsed.dense_text()     # 'adolescents edge of care'
    parsed.strict_plan()    # the same match as clauses of Terms, for a lexical engine (index/lexical.py)

Every user string becomes either a :class:`ParsedQuery` or a :class:`QueryError` with a message
a user can act on. Only word tokens reach FTS5, each inside double quotes, so no user text is
ever interpreted as FTS5 syntax.

A pasted paragraph is a *long* query (:attr:`ParsedQuery.is_long`): it is not asked for all its
words (no passage holds them), but for any of its most informative ones, which the store picks
by count in the query x idf (:meth:`ParsedQuery.focused`); the embedding model reads it whole.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace

from index.errors import QueryError

# The default length limit (setting max_query_chars): a pasted page. arguana's longest query (a whole
# argument) is 5,487 characters; the model reads about the first 1,200 (256 word pieces), the
# lexical side picks among all the words. 6,000 characters of prose stay within the 8,190 bytes of
# a request line that gunicorn allows once URL-encoded (webapp/server.py).
MAX_QUERY_CHARS = 6000
# Quoted phrases, exclusions and OR alternatives a query may hold: each costs a query (or a check)
# of its own. Plain words are bounded by the length limit alone; a long query searches at most
# MAX_LONG_QUERY_WORDS of them.
MAX_TERMS = 32
# Distinct content words beyond which a query is long (docs/ranking.md, "Long queries"): csc-seeds'
# queries hold at most 8 and scifact's claims at most 21; 16 leaves every query of 8 words or so
# as it was, and an AND of 17 words almost never matches a passage.
LONG_QUERY_WORDS = 16
# The most informative words a long query's lexical side searches for: a bound on work (each is a
# term to score in tantivy's union), not on what may be asked (docs/ranking.md, "Long queries").
MAX_LONG_QUERY_WORDS = 48

# A word: a run of letters or digits in any script (the underscore, which \w allows, splits words).
_WORD = re.compile(r"[^\W_]+")
_OR_WORDS = {"OR", "|"}


def word_tokens(text: str) -> tuple[str, ...]:
    """The lower-cased words of ``text``: how both a query and a synonym entry are split."""
    return tuple(t.lower() for t in _WORD.findall(text))


# Words too common to rank on their own: dropped from the relaxed (any-word) lexical query only.
STOPWORDS = frozenset({
    "a", "about", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "do", "does", "for", "from",
    "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "of", "on", "or", "our", "so", "that",
    "the", "their", "them", "there", "these", "they", "this", "to", "was", "we", "were", "what", "when", "where",
    "which", "who", "why", "will", "with", "would", "you", "your",
})


# Words that carry no topic however a question is put (issue 23): never required, reported missing or
# highlighted, though the embedding model still reads them. Pronouns matter in a pasted case note.
FUNCTION_WORDS = STOPWORDS | frozenset({
    "am", "any", "being", "could", "did", "doing", "he", "her", "hers", "herself", "him", "himself", "his", "me",
    "might", "mine", "must", "my", "myself", "ours", "ourselves", "shall", "she", "should", "some", "than",
    "theirs", "themselves", "those", "us", "yours", "yourself", "yourselves",
})
# Question frames (issue 23): words at the start of a query that say how it is asked, not what about:
# "what works for neglect" is a search for neglect. Each is matched as the query's first words (after
# any of LEADS), optionally followed by function words; only frames whose words are not already function
# words need listing. Chosen on the sector's own questions (eval/csc-reports kinds "question" and "leader").
LEADS = (("show", "me"), ("find",), ("looking", "for"), ("search", "for"), ("is", "there"), ("are", "there"))
FRAMES: tuple[tuple[str, ...], ...] = (
    ("what", "works"), ("what", "helps"), ("what", "help"), ("what", "is", "the", "evidence"),
    ("what", "does", "the", "evidence", "say"), ("what", "do", "we", "know"),
    ("how", "do", "councils"), ("how", "does", "a", "council"), ("how", "are", "councils"),
    ("how", "do", "local", "authorities"), ("how", "can", "councils"), ("how", "should", "councils"),
    ("evidence", "on"), ("evidence", "about"), ("evidence", "for"), ("any", "evidence"),
    ("examples", "of"), ("example", "of"), ("research", "on"), ("research", "into"), ("research", "about"),
    ("studies", "on"), ("studies", "of"), ("best", "practice", "for"), ("best", "practice", "in"),
    ("best", "practice", "on"), ("good", "practice", "for"), ("good", "practice", "in"), ("good", "practice", "on"),
    ("ways", "to"), ("tips", "for"), ("tips", "on"), ("guidance", "on"), ("guidance", "for"), ("guidance", "about"),
    ("information", "on"), ("information", "about"),
)


@dataclass(frozen=True)
class Term:
    """A word (one token) or a phrase (several tokens), lower-cased; ``quoted`` if the user quoted it."""

    tokens: tuple[str, ...]
    quoted: bool = False

    @property
    def is_phrase(self) -> bool:
        return len(self.tokens) > 1

    @property
    def text(self) -> str:
        return " ".join(self.tokens)

    def fts(self) -> str:
        return '"' + self.text.replace('"', '""') + '"'


@dataclass(frozen=True)
class MatchPlan:
    """A match as an engine builds it: every clause (an OR of terms) must match, no exclusion may.

    Engines other than FTS5 (:mod:`index.storage.local.lexical`) compile this rather than parse MATCH text, so
    only the word tokens of :func:`word_tokens` ever reach them.
    """

    clauses: tuple[tuple[Term, ...], ...]
    exclusions: tuple[Term, ...] = ()
    # The relaxed (any-word) match: an engine may match a long phrase of its first clause by its
    # parts, as FTS5's relaxed query would match their words; the other clauses are exact.
    any_word: bool = False
    # How much each term of the first clause counts (empty: once each): for a long query, how many
    # times it holds the word, as BM25 counts a query's repeated words.
    weights: tuple[int, ...] = ()


@dataclass(frozen=True)
class ParsedQuery:
    """A query as clauses that must all match (each an OR of terms) and exclusions that must not."""

    raw: str
    clauses: tuple[tuple[Term, ...], ...]
    exclusions: tuple[Term, ...]
    # For a long query, the informative terms its lexical side searches for (set by the store with
    # :meth:`focused`); None: the first MAX_LONG_QUERY_WORDS of them.
    focus: tuple[Term, ...] | None = None
    # The question frame the query opened with ("what works for"): read by the embedding model only.
    frame: tuple[Term, ...] = ()

    @property
    def is_long(self) -> bool:
        """A pasted paragraph rather than a list of words: more than ``LONG_QUERY_WORDS`` distinct
        content words (or more than ``MAX_TERMS`` words in all, were they all stopwords).

        A long query has no strict (every word) match, no proximity boost, and searches and
        highlights at most ``MAX_LONG_QUERY_WORDS`` of its words.
        """
        loose = [t for c in self.clauses if not _is_required_phrase(c) for t in c]
        content = {t.tokens for t in loose if t.is_phrase or t.text not in STOPWORDS}
        return len(content) > LONG_QUERY_WORDS or len(loose) > MAX_TERMS

    def informative_candidates(self) -> tuple[Term, ...]:
        """The distinct words and unquoted phrases a relaxed match may look for, in query order,
        among which a long query keeps its most informative (:meth:`focused`)."""
        loose = [t for c in self.clauses if not _is_required_phrase(c) for t in c]
        content = [t for t in loose if t.is_phrase or t.text not in STOPWORDS] or loose
        return tuple({t.tokens: t for t in content}.values())

    def focused(self, terms: tuple[Term, ...]) -> ParsedQuery:
        """This query, its relaxed match and highlights limited to ``terms`` when it is long (at most
        ``MAX_LONG_QUERY_WORDS`` of them, in the order given)."""
        return replace(self, focus=tuple(terms[:MAX_LONG_QUERY_WORDS]))

    def _relaxed_terms(self) -> list[Term]:
        """The words (and unquoted phrases) of the relaxed match: all content ones, or for a long query its focus."""
        content = list(self.informative_candidates())
        if not self.is_long:
            return content
        if self.focus is None:
            return content[:MAX_LONG_QUERY_WORDS]
        kept = {t.tokens for t in self.focus}
        return [t for t in content if t.tokens in kept]

    def topic_clauses(self) -> tuple[tuple[Term, ...], ...]:
        """The clauses whose word carries a topic (a phrase, or a word that is not a function word), or every
        clause when none does ("what is it"): the words a source is said to hold or lack (issue 23)."""
        topical = tuple(c for c in self.clauses if c and (c[0].is_phrase or c[0].text not in FUNCTION_WORDS))
        return topical or self.clauses

    def strict_match(self) -> str:
        """Every clause must match: the FTS5 expression for "all of these words" (a question frame is not among
        the clauses; the ranking's strict candidates keep the little words, as tuned: docs/ranking.md)."""
        return self._with_exclusions(" AND ".join(_group(c) for c in self.clauses))

    def relaxed_match(self) -> str | None:
        """Any (non-stopword) word may match, required phrases must; None when it equals strict."""
        loose = [t for c in self.clauses if not _is_required_phrase(c) for t in c]
        if len(loose) <= 1:
            return None
        content = self._relaxed_terms()
        if not content:
            return None
        parts = ["(" + " OR ".join(dict.fromkeys(t.fts() for t in content)) + ")"]
        parts += [c[0].fts() for c in self.clauses if _is_required_phrase(c)]
        return self._with_exclusions(" AND ".join(parts))

    def required_match(self) -> str | None:
        """Phrases the user quoted on their own: every result passage must contain them."""
        phrases = [c[0].fts() for c in self.clauses if _is_required_phrase(c)]
        return " AND ".join(phrases) if phrases else None

    def proximity_match(self) -> str | None:
        """All content words close together (FTS5 NEAR), for boosting passages that use the query's wording.

        None for a query of fewer than two content words or with OR groups.
        """
        terms = self.proximity_terms()
        if not terms:
            return None
        return f"NEAR({' '.join(t.fts() for t in terms)}, {self.proximity_gap()})"

    def content_terms(self) -> tuple[Term, ...]:
        """The query's words and phrases that carry meaning: each required clause's first term (function words
        and the question frame left out, unless the query has nothing else)."""
        return tuple(c[0] for c in self.topic_clauses() if c and (c[0].is_phrase or c[0].text not in STOPWORDS))

    def proximity_terms(self) -> tuple[Term, ...]:
        """The content words and phrases the proximity match looks for close together (none: no match)."""
        if self.is_long or any(len(c) > 1 for c in self.clauses):
            return ()
        terms = tuple(c[0] for c in self.clauses if c[0].is_phrase or c[0].text not in FUNCTION_WORDS)
        return terms if len(terms) >= 2 else ()

    def proximity_gap(self) -> int:
        """How many other tokens may lie between the first and the last of :meth:`proximity_terms`."""
        return sum(len(t.tokens) for t in self.proximity_terms()) + 2

    def exclusion_match(self) -> str | None:
        """Words and phrases after a minus: sources containing any of them are left out."""
        return " OR ".join(t.fts() for t in self.exclusions) if self.exclusions else None

    def highlight_match(self) -> str:
        """Every positive word and phrase (stopwords only when there is nothing else), for marking matches."""
        terms = [t for c in self.clauses for t in c if t.is_phrase or t.text not in FUNCTION_WORDS]
        terms = terms or [t for c in self.clauses for t in c]
        if self.is_long:  # the words searched for, not every word of a paragraph
            terms = [c[0] for c in self.clauses if _is_required_phrase(c)] + self._relaxed_terms()
        content = [t for t in terms if t.is_phrase or t.text not in STOPWORDS] or terms
        return " OR ".join(dict.fromkeys(t.fts() for t in content))

    def strict_plan(self) -> MatchPlan:
        """What :meth:`strict_match` matches: every clause."""
        return MatchPlan(self.clauses, self.exclusions)

    def relaxed_plan(self) -> MatchPlan | None:
        """What :meth:`relaxed_match` matches: any non-stopword word, and every required phrase; None when strict."""
        loose = [t for c in self.clauses if not _is_required_phrase(c) for t in c]
        if len(loose) <= 1:
            return None
        content = self._relaxed_terms()
        if not content:
            return None
        required = [c for c in self.clauses if _is_required_phrase(c)]
        terms = tuple({t.tokens: t for t in content}.values())
        weights: tuple[int, ...] = ()
        if self.is_long:
            # A pasted paragraph's repeated words are its subject (cisi lexical nDCG@10 +0.057, arguana +0.035
            # against counting each once; docs/ranking.md, "Lexical: a fair BM25").
            counts = Counter(t.tokens for c in self.clauses for t in c)
            weights = tuple(counts[t.tokens] for t in terms)
        return MatchPlan((terms, *required), self.exclusions, any_word=True, weights=weights)

    def required_plan(self) -> MatchPlan | None:
        """What :meth:`required_match` matches: every phrase quoted on its own."""
        required = tuple(c for c in self.clauses if _is_required_phrase(c))
        return MatchPlan(required) if required else None

    def exclusion_plan(self) -> MatchPlan | None:
        """What :meth:`exclusion_match` matches: any excluded word or phrase."""
        return MatchPlan((self.exclusions,)) if self.exclusions else None

    def dense_text(self) -> str:
        """The positive words and phrases as plain text (the question frame too), for the embedding model."""
        return " ".join([t.text for t in self.frame] + [t.text for c in self.clauses for t in c])

    def _with_exclusions(self, expression: str) -> str:
        excluded = self.exclusion_match()
        return f"({expression}) NOT ({excluded})" if excluded else expression


def _frame_length(clauses: list[list[Term]]) -> int:
    """How many of the first clauses are a question frame (a lead, then a frame, then function words), when
    a word that carries a topic follows them; 0 otherwise."""
    words: list[str] = []
    for clause in clauses:
        if len(clause) != 1 or clause[0].quoted or clause[0].is_phrase:
            break
        words.append(clause[0].tokens[0])
    at = 0
    for lead in LEADS:
        if tuple(words[: len(lead)]) == lead:
            at = len(lead)
            break
    for frame in sorted(FRAMES, key=len, reverse=True):
        if tuple(words[at : at + len(frame)]) == frame:
            end = at + len(frame)
            while end < len(words) and words[end] in FUNCTION_WORDS:
                end += 1
            rest = clauses[end:]
            topical = any(c[0].is_phrase or c[0].text not in FUNCTION_WORDS for c in rest)
            return end if topical else 0
    return 0


def _group(clause: tuple[Term, ...]) -> str:
    if len(clause) == 1:
        return clause[0].fts()
    return "(" + " OR ".join(t.fts() for t in clause) + ")"


def _is_required_phrase(clause: tuple[Term, ...]) -> bool:
    return len(clause) == 1 and clause[0].quoted


# A token of the raw query: an optional minus, then a quoted phrase (closed or not) or a bare run.
_RAW_TOKEN = re.compile(r'(-?)(?:"([^"]*)"?|([^\s"]+))')


def parse_query(raw: str, max_chars: int = MAX_QUERY_CHARS) -> ParsedQuery:
    """Parse what a user typed.

    :param raw: the query as typed.
    :param max_chars: longest query accepted.
    :returns: the parsed query.
    :raises QueryError: for an empty or over-long query, one with no words to search for, or
        one with more than ``MAX_TERMS`` quoted phrases, exclusions and OR alternatives.
    """
    if not isinstance(raw, str):
        raise QueryError("The query must be text.")
    text = raw.strip()
    if not text:
        raise QueryError("Type some words to search for, for example: adolescents edge of care.")
    if len(text) > max_chars:
        raise QueryError(f"The query is {len(text)} characters long; the limit is {max_chars}. Use fewer words.")

    clauses: list[list[Term]] = []
    exclusions: list[Term] = []
    pending_or = False
    for match in _RAW_TOKEN.finditer(text):
        minus, phrase, bare = match.group(1), match.group(2), match.group(3)
        if phrase is None and minus + bare in _OR_WORDS:
            pending_or = bool(clauses)
            continue
        tokens = word_tokens(phrase if phrase is not None else bare)
        if not tokens:
            pending_or = False
            continue
        term = Term(tokens, quoted=phrase is not None)
        if minus:
            exclusions.append(term)
            pending_or = False
        elif pending_or:
            if term not in clauses[-1]:
                clauses[-1].append(term)
            pending_or = False
        else:
            clauses.append([term])

    if not clauses:
        if exclusions:
            raise QueryError("Add at least one word to search for; a query cannot be only exclusions (-word).")
        raise QueryError("The query has no words to search for. Use letters or numbers.")
    frame_length = _frame_length(clauses)
    frame = tuple(c[0] for c in clauses[:frame_length])
    parsed = ParsedQuery(raw=text, clauses=tuple(tuple(c) for c in clauses[frame_length:]),
                         exclusions=tuple(exclusions), frame=frame)
    if parsed.is_long:
        # A pasted paragraph is text, not syntax: its quotation marks, dashes and "or"s are its writer's, and
        # read as operators they required quoted phrases of every result (arguana lexical nDCG@10 0.51 → 0.58).
        words = tuple((Term((token,)),) for token in word_tokens(text))
        return ParsedQuery(raw=text, clauses=words, exclusions=())
    # Plain words are limited by max_chars alone (a long query searches its most informative ones);
    # phrases, exclusions and alternatives each cost a query of their own.
    count = sum(1 for c in clauses for t in c if t.quoted) + sum(len(c) - 1 for c in clauses) + len(exclusions)
    if count > MAX_TERMS:
        raise QueryError(f"The query has {count} quoted phrases, exclusions (-word) and OR alternatives; the limit "
                         f"is {MAX_TERMS}. Use fewer of them.")
    return parsed
