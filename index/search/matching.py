"""Which sources a search matches, in full, and what each of them holds (issue 23: whole and true result sets).

The ranking (:mod:`index.search.ranking`) reads a bounded number of candidate passages to order the first
pages. What a search *matches* is decided here, over the whole index, independently of those candidates:

- **Words.** The query's topic words as typed (:func:`units_of`: function words and a question frame left
  out; a synonym added for a typed word beside it) are looked up in every passage's text,
  title and byline (:meth:`~index.storage.contract.LexicalEngine.source_counts`: the engine's aggregation of
  the whole match by source). A source *holds* a unit when it holds the word as typed (whole word, its stem
  as the index analyses it; a phrase word for word), an alternative the user typed with ``OR``, or a
  synonym **as specific as the word** (:func:`as_specific`). A broad synonym ("young people" for
  "adolescents", which nearly every inspection holds) may bring candidates to the ranking but never makes
  a source hold the word.
- **Meaning.** With a fused method, every source with a passage at ``meaning_floor`` or above
  (:meth:`~index.storage.contract.PassageStore.sources_near`, a range search).
- The match is the sources holding at least one unit, or close in meaning; less those holding an excluded
  word; only those holding every quoted phrase when the user quoted one on its own.

Each matched source's **tier** is ``all`` (it holds every unit), ``some`` (at least one) or ``meaning``.
The label, the "why" sentences, the missing words and step 8 of the ranking (every word first) all read
this one account, so they agree with each other and with the source's text.

The first pages are ordered by the ranking; sources the ranking's candidates did not reach follow, by tier,
then by how many of their passages hold the words, then by closeness in meaning, then by id.

Usage::

    account = match_sources(store, parsed, widened, settings, method, vector)
    account.sources          # every source matched
    account.tier(source_id)  # "all", "some" or "meaning"
    account.order(ranked)    # the ranked head, then the rest in the order above
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from index.search.query import FUNCTION_WORDS, ParsedQuery, Term
from index.search.ranking import SINGLE_METHODS
from index.settings import Settings
from index.storage.contract import PassageStore

# A synonym is broad, and never makes a source hold the word typed (deliverable 4 of issue 23), when the synonyms'
# list marks it broader (``broader`` in index/data/synonyms.yaml: "young people"), or, in an index of at least
# BROAD_MIN_SOURCES sources, when more than BROAD_SHARE of them hold it and more than BROAD_RATIO times as many
# as hold the word. On the real reports "young people" is in 93% of them, "adolescents" in 56%, "teenagers" 22%.
BROAD_SHARE = 0.5
BROAD_RATIO = 2.0
BROAD_MIN_SOURCES = 50


@dataclass(frozen=True)
class Unit:
    """One topic word of the query, as typed, and what may stand for it: alternatives the user joined with
    ``OR`` (always), and the synonyms the search added (``added``: only when as specific, :func:`as_specific`)."""

    typed: Term
    alternatives: tuple[Term, ...] = ()
    added: tuple[Term, ...] = ()


@dataclass(frozen=True)
class SourceHolding:
    """One source's part of the account: for each unit, the word it is typed as and the word or phrase through
    which the source holds it (None: it does not); and the synonyms added to the search that it holds."""

    units: tuple[tuple[Term, Term | None], ...]
    synonyms: tuple[tuple[str, str], ...]  # (word, synonym)


@dataclass(frozen=True)
class SourceAccount:
    """One search's whole match and what each matched source holds (see the module's docstring)."""

    units: tuple[Unit, ...]
    holders: tuple[frozenset[str], ...]  # per unit: the sources holding it (or an equivalent)
    held_terms: dict[str, frozenset[str]]  # term text -> sources holding that exact word or phrase
    passages: dict[str, int]  # source -> passages holding a unit's word (a measure of how much it is about them)
    near: dict[str, tuple[int, float]]  # source -> its closest passage at or above the floor
    sources: frozenset[str]
    long: bool = False  # a pasted paragraph: no "every word" tier
    specific: dict[str, bool] = field(default_factory=dict)  # synonym text -> counted as the word

    @cached_property
    def all_words(self) -> frozenset[str]:
        """The matched sources holding every unit (none for a pasted paragraph). Computed once: :meth:`tier` asks
        it for every matched source, and at a million passages (33,000 sources) recomputing the intersection
        each time made a search of common words take minutes (bench_scale found it)."""
        if self.long or not self.holders:
            return frozenset()
        held = frozenset.intersection(*self.holders)
        return held & self.sources

    @cached_property
    def some_words(self) -> frozenset[str]:
        """The matched sources holding at least one unit."""
        return frozenset().union(*self.holders) & self.sources if self.holders else frozenset()

    def tier(self, source_id: str) -> str:
        """``all``, ``some`` or ``meaning``: how a matched source matches the words."""
        if source_id in self.all_words:
            return "all"
        return "some" if any(source_id in held for held in self.holders) else "meaning"

    def holds_term(self, source_id: str, term: Term) -> bool:
        """Whether the source holds exactly this word or phrase (stems as the index analyses them)."""
        return source_id in self.held_terms.get(term.text, frozenset())

    def standing_for(self, source_id: str, unit: Unit) -> Term | None:
        """The word or phrase through which the source holds ``unit``: as typed, else the first alternative or
        synonym as specific that it holds; None when it does not hold the unit."""
        for term in (unit.typed, *unit.alternatives, *(s for s in unit.added if self.specific.get(s.text))):
            if self.holds_term(source_id, term):
                return term
        return None

    def view(self, source_id: str) -> SourceHolding:
        """What one source holds of the query, for explaining it (:func:`index.search.explain.explain`)."""
        return SourceHolding(
            tuple((unit.typed, self.standing_for(source_id, unit)) for unit in self.units),
            tuple((unit.typed.text, s.text) for unit in self.units for s in unit.added
                  if self.holds_term(source_id, s)))

    def missing(self) -> list[str]:
        """The units no source holds as typed or through an alternative the user typed (a synonym does not
        make a misspelt word present)."""
        return [u.typed.text for u in self.units
                if not any(self.held_terms.get(t.text) for t in (u.typed, *u.alternatives))]

    def marked(self, widened: ParsedQuery) -> ParsedQuery:
        """``widened`` without its broad synonyms: what a shown passage marks and is chosen by."""
        kept = []
        for clause in widened.clauses:
            kept.append(tuple(t for n, t in enumerate(clause) if n == 0 or self.specific.get(t.text, True)))
        return widened if tuple(kept) == widened.clauses else replace(widened, clauses=tuple(kept))

    def restricted(self, allowed: Collection[str] | None) -> frozenset[str]:
        """The match within ``allowed`` sources (a facet selection); all of it for None."""
        return self.sources if allowed is None else self.sources & frozenset(allowed)

    def order(self, ranked: Sequence[str], within: Collection[str] | None = None) -> list[str]:
        """Every matched source (within ``within``, when given): first ``ranked`` (the ranking's order, those
        matched), then the rest by tier, passages holding the words, closeness in meaning, id."""
        pool = self.restricted(within)
        head = [s for s in dict.fromkeys(ranked) if s in pool]
        rest = pool.difference(head)
        every, some = rest & self.all_words, rest & self.some_words
        passages, near = self.passages, self.near
        for tier in (every, some - every, rest - some):  # tiers by set operations, each sorted within
            head += sorted(tier, key=lambda s: (-passages.get(s, 0), -near.get(s, (0, -2.0))[1], s))
        return head


def units_of(parsed: ParsedQuery, widened: ParsedQuery) -> tuple[Unit, ...]:
    """The query's topic words as units: each word (or quoted phrase) as typed, with the alternatives the user
    joined to it with ``OR``, and the synonyms the search added for that one word ("lac", "adolescents"). A
    run of typed words that the synonyms widened as a whole ("edge of care") stays its words, each held or
    not by itself. For a pasted paragraph, each word it searched for."""
    if parsed.is_long:
        return tuple(Unit(t) for t in (widened.focus or parsed.informative_candidates()))
    added = {clause[0]: clause[1:] for clause in widened.clauses if clause not in parsed.clauses}
    units = []
    for clause in parsed.topic_clauses():
        first = clause[0]
        if not (first.is_phrase or first.text not in FUNCTION_WORDS):
            continue
        units.append(Unit(first, clause[1:], added.get(first, ()) if len(clause) == 1 else ()))
    return tuple(units)


def initials(term: Term) -> str:
    """The first letters of a phrase's words ("looked after children" → "lac")."""
    return "".join(token[0] for token in term.tokens if token)


def as_specific(word: Term, synonym: Term, word_sources: int, synonym_sources: int, total: int,
                broader: Collection[tuple[str, ...]] = ()) -> bool:
    """Whether ``synonym`` may stand for ``word`` in what a source is said to hold: an acronym and its
    expansion always (LAC, "looked after children"); never a synonym the list marks broader (unless the word
    is as broad); otherwise unless most sources of a large index hold it and far more than hold the word."""
    if (not word.is_phrase and synonym.is_phrase and initials(synonym) == word.text) or \
            (word.is_phrase and not synonym.is_phrase and initials(word) == synonym.text):
        return True
    if synonym.tokens in broader and word.tokens not in broader:
        return False
    if total < BROAD_MIN_SOURCES:
        return True
    return not (synonym_sources > BROAD_SHARE * total and synonym_sources > BROAD_RATIO * word_sources)


def match_sources(store: PassageStore, parsed: ParsedQuery, widened: ParsedQuery, settings: Settings,
                  method: str, vector: Sequence[float] | None, total_sources: int,
                  broader: Collection[tuple[str, ...]] = ()) -> SourceAccount | None:
    """The search's whole match and what each source holds; None for a generation without a lexical engine
    (an older store format: its results stay those its candidates reach).

    :param vector: the query's embedding (None: no meaning side, as with ``method == "lexical"``).
    :param total_sources: how many sources the generation holds (for the breadth of a synonym).
    :param broader: synonyms the list marks broader than their group (:attr:`Synonyms.broader`).
    """
    engine = store.lexical_index()
    if engine is None:
        return None
    terms = counted_terms(parsed, widened)
    counts = engine.source_counts(terms)
    near = store.sources_near(vector, settings.meaning_floor) if vector is not None and by_meaning(method) else {}
    return account_of(parsed, widened, terms, counts, near, total_sources, broader)


def by_meaning(method: str) -> bool:
    """Whether the match takes in the sources close in meaning (the fused methods).

    One retriever alone (SINGLE_METHODS): "lexical" matches by words only; "dense" by its candidates only (nearness
    has no floor there, so "every source" would be the whole index; the searcher keeps its candidates' sources)."""
    return method not in SINGLE_METHODS


def counted_terms(parsed: ParsedQuery, widened: ParsedQuery) -> list[Term]:
    """The words and phrases whose sources the account needs (:meth:`LexicalEngine.source_counts`): each unit's
    word as typed, its alternatives and synonyms, the phrases quoted on their own, the excluded words."""
    terms: dict[str, Term] = {}
    for unit in units_of(parsed, widened):
        for term in (unit.typed, *unit.alternatives, *unit.added):
            terms.setdefault(term.text, term)
    required = [c[0] for c in parsed.clauses if len(c) == 1 and c[0].quoted]
    for term in (*required, *parsed.exclusions):
        terms.setdefault(term.text, term)
    return list(terms.values())


def account_of(parsed: ParsedQuery, widened: ParsedQuery, terms: Sequence[Term], counts: Sequence[dict[str, int]],
               near: dict[str, tuple[int, float]], total_sources: int,
               broader: Collection[tuple[str, ...]] = ()) -> SourceAccount:
    """The account from the store's answers: ``counts``, for each of ``terms`` (:func:`counted_terms`, as the
    store was asked), the sources holding it and how many of their passages do; ``near``, the sources close in
    meaning ({} when not asked: :func:`by_meaning`). See :func:`match_sources`."""
    units = units_of(parsed, widened)
    required = [c[0] for c in parsed.clauses if len(c) == 1 and c[0].quoted]
    counted = dict(zip((t.text for t in terms), counts, strict=True))
    held_terms = {text: frozenset(found) for text, found in counted.items()}
    specific: dict[str, bool] = {}
    holders: list[frozenset[str]] = []
    passages: dict[str, int] = {}
    for unit in units:
        held = set(held_terms[unit.typed.text])
        for alternative in unit.alternatives:
            held |= held_terms[alternative.text]
        for synonym in unit.added:
            ok = as_specific(unit.typed, synonym, len(held_terms[unit.typed.text]),
                             len(held_terms[synonym.text]), total_sources, broader)
            specific[synonym.text] = ok
            if ok:
                held |= held_terms[synonym.text]
        holders.append(frozenset(held))
        for term in (unit.typed, *unit.alternatives, *(s for s in unit.added if specific[s.text])):
            for source, count in counted[term.text].items():
                passages[source] = passages.get(source, 0) + count
    matched: set[str] = set().union(*holders) if holders else set()
    matched |= set(near)
    for phrase in required:
        matched &= held_terms[phrase.text]
    for excluded in parsed.exclusions:
        matched -= held_terms[excluded.text]
    return SourceAccount(units, tuple(holders), held_terms, passages, near, frozenset(matched),
                         long=parsed.is_long, specific=specific)
