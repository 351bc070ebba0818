"""Why a result is shown (issue 14): which words matched where, which synonyms were used, how much came from
the words and how much from meaning, and why its passage was chosen, in plain English.

Nothing here changes a score: :class:`Evidence` keeps the retrievers' candidates beside the ranked passages
(:mod:`index.search.ranking` computes the scores), and :func:`contributions` splits a passage's fused score into its
keyword and meaning parts with the same scaling as step 3 of the ranking.

Usage::

    evidence = Evidence(parsed, widened, strict, relaxed, dense, method, settings)
    why = explain(evidence, source_texts, shown_passage, parts, analyze, analyze_text)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.search.matching import SourceHolding
from index.search.query import ParsedQuery, Term, word_tokens
from index.search.ranking import above_meaning_floor, dense_weight_for, lexical_ranking, scaled
from index.search.results import SynonymUse, Why, WordMatch
from index.settings import Settings
from index.storage.analysis import holds as phrase_in
from index.storage.analysis import within
from index.storage.contract import PassageHit

# A share of the score at least this large is "mostly" the words (or, below 1 − it, mostly meaning).
MOSTLY = 0.7
# Between these the two counted "about equally".
EQUAL_LOW, EQUAL_HIGH = 0.4, 0.6

# A long query's words explained when it has no focus yet (the lexical side searches as many).
MAX_EXPLAINED = 12
# More words than this are counted, not listed one by one, in the explanation's first sentence.
MAX_LISTED = 8

Analyzer = Callable[[str], list[str]]


def simple_tokens(text: str) -> list[str]:
    """The query parser's words (:func:`index.search.query.word_tokens`): how words are compared without a
    lexical index."""
    return list(word_tokens(text))


@dataclass(frozen=True)
class Evidence:
    """One query's candidates as the retrievers gave them, kept beside the ranking to explain it."""

    parsed: ParsedQuery
    widened: ParsedQuery  # with synonyms
    strict: list[PassageHit]
    relaxed: list[PassageHit]
    dense: list[PassageHit]
    method: str
    settings: Settings

    @property
    def terms(self) -> tuple[Term, ...]:
        """The query's words as explained: its content words, or for a long query those it searched for."""
        if self.parsed.is_long:
            return self.parsed.focus or self.parsed.informative_candidates()[:MAX_EXPLAINED]
        return self.parsed.content_terms()

    @property
    def strict_rows(self) -> set[int]:
        return {h.rowid for h in self.strict}

    @property
    def relaxed_rows(self) -> set[int]:
        return {h.rowid for h in self.relaxed}


def contributions(evidence: Evidence) -> dict[int, tuple[float, float]]:
    """Each fused passage's ``(keyword part, meaning part)`` of its step-3 score; a part is 0 when that
    retriever did not find the passage (a missing passage's stand-in score is a ranking device, not a match)."""
    settings, method = evidence.settings, evidence.method
    lexical = lexical_ranking(evidence.strict, evidence.relaxed)
    dense = above_meaning_floor(evidence.strict, evidence.relaxed, evidence.dense, settings, method)
    if method == "lexical":
        return {h.rowid: (1.0, 0.0) for h in lexical}
    if method == "dense":
        return {h.rowid: (0.0, 1.0) for h in dense}
    weight = dense_weight_for(evidence.strict, dense, settings)
    parts: dict[int, list[float]] = {}
    if method == "rrf":
        for at, hit in enumerate(lexical):
            parts.setdefault(hit.rowid, [0.0, 0.0])[0] = (1 - weight) / (settings.rrf_k + at + 1)
        for at, hit in enumerate(dense):
            parts.setdefault(hit.rowid, [0.0, 0.0])[1] = weight / (settings.rrf_k + at + 1)
    else:
        lexical_scaled, _ = scaled(lexical, settings.fusion_scores)
        dense_scaled, _ = scaled(dense, settings.fusion_scores)
        for rowid, value in lexical_scaled.items():
            parts.setdefault(rowid, [0.0, 0.0])[0] = (1 - weight) * max(value, 0.0)
        for rowid, value in dense_scaled.items():
            parts.setdefault(rowid, [0.0, 0.0])[1] = weight * max(value, 0.0)
    return {rowid: (k, m) for rowid, (k, m) in parts.items()}


def keyword_share(parts: tuple[float, float] | None) -> float:
    """The keyword part's share of a passage's score, 0 to 1 (0 when neither retriever found it)."""
    if parts is None:
        return 0.0
    total = parts[0] + parts[1]
    return round(parts[0] / total, 2) if total > 0 else 0.0


def how_found(share: float) -> str:
    """A keyword share in plain words."""
    if share >= MOSTLY:
        return "Found mostly by the words you searched for."
    if share <= 1 - MOSTLY:
        return "Found mostly by meaning: it is about what you searched for, in other words."
    if EQUAL_LOW <= share <= EQUAL_HIGH:
        return "Found by its words and by its meaning, about equally."
    return ("Found more by the words you searched for than by meaning." if share > 0.5
            else "Found more by meaning than by the words you searched for.")


def holds(tokens: Sequence[str], wanted: Sequence[str]) -> bool:
    """Whether ``wanted`` (a word, or a phrase word for word) occurs in ``tokens`` (nothing wanted: no)."""
    return bool(wanted) and phrase_in(tokens, wanted)


@dataclass(frozen=True)
class SourceTexts:
    """The texts of one source that a query's words are looked for in."""

    title: str
    passages: list[str]  # its passages among the candidates
    publisher: str = ""
    authors: tuple[str, ...] = ()


def explain(evidence: Evidence, texts: SourceTexts, chosen: PassageHit | None,
            parts: dict[int, tuple[float, float]], analyze: Callable[[Term], list[str]],
            analyze_text: Analyzer, holding: SourceHolding | None = None) -> Why:
    """Why one source is shown: its words by place, synonyms found, keyword share and its passage's reason.

    :param chosen: the first passage shown (None when none is).
    :param analyze: a query term's tokens as the index holds them; ``analyze_text`` a text's.
    :param holding: what the source holds of the query, from the account of the whole match
        (:mod:`index.search.matching`): the words are then said of the whole source, never of its shown
        passages alone. None (an older generation): judged from the candidate passages, as before.
    """
    places = {"title": analyze_text(texts.title), "publisher": analyze_text(texts.publisher),
              "author": analyze_text(" ; ".join(texts.authors))}
    if holding is not None:
        return _explained(evidence, holding, places, chosen, parts, analyze, analyze_text, texts)
    passages = [analyze_text(p) for p in texts.passages]
    terms = list(evidence.terms)
    words = []
    for term in terms:
        tokens = analyze(term)
        where = [place for place in ("title",) if holds(places["title"], tokens)]
        if any(holds(p, tokens) for p in passages):
            where.append("text")
        where += [place for place in ("publisher", "author") if holds(places[place], tokens)]
        words.append(WordMatch(term.text, where))
    synonyms = []
    for clause in evidence.widened.clauses:
        if len(clause) < 2 or clause in evidence.parsed.clauses:
            continue
        typed = clause[0]
        for synonym in clause[1:]:
            tokens = analyze(synonym)
            if holds(places["title"], tokens) or any(holds(p, tokens) for p in passages):
                synonyms.append(SynonymUse(typed.text, synonym.text))
    share = keyword_share(parts.get(chosen.rowid)) if chosen is not None else 0.0
    found = how_found(share)
    reason = passage_reason(evidence, chosen, words, analyze, analyze_text)
    summary = [_where_sentence(words), *(f"“{s.synonym}” was searched for as a synonym of “{s.word}”."
                                         for s in synonyms), found, reason]
    return Why(words, synonyms, share, found, reason, [s for s in summary if s])


def _explained(evidence: Evidence, holding: SourceHolding, places: dict[str, list[str]], chosen: PassageHit | None,
               parts: dict[int, tuple[float, float]], analyze: Callable[[Term], list[str]],
               analyze_text: Analyzer, texts: SourceTexts) -> Why:
    """:func:`explain` from the account of the whole source. A word the source holds is placed in its title,
    publisher's or author's name when those hold it, else in its text (the account found it in a passage, and
    no name holds it); where the title holds it, whether the text does too is not claimed."""
    words = []
    for typed, via in holding.units:
        if via is None:
            words.append(WordMatch(typed.text, []))
            continue
        tokens = analyze(via)
        where = [place for place in ("title", "publisher", "author") if holds(places[place], tokens)]
        if not where:
            where = ["text"]
        ordered: list[str] = [p for p in ("title", "text", "publisher", "author") if p in where]
        read = [texts.title] if ordered[0] == "title" else texts.passages if ordered[0] == "text" else []
        words.append(WordMatch(typed.text, ordered, None if via == typed else via.text,
                               form_in(read, via, tokens, analyze_text)))
    synonyms = [SynonymUse(word, synonym) for word, synonym in holding.synonyms]
    share = keyword_share(parts.get(chosen.rowid)) if chosen is not None else 0.0
    found = how_found(share)
    terms = [typed for typed, _ in holding.units]
    reason = passage_reason(evidence, chosen, words, analyze, analyze_text, terms)
    summary = [_where_sentence(words), *(f"“{s.synonym}” was searched for as a synonym of “{s.word}”."
                                         for s in synonyms), found, reason]
    return Why(words, synonyms, share, found, reason, [s for s in summary if s])


def passage_reason(evidence: Evidence, chosen: PassageHit | None, words: list[WordMatch],
                   analyze: Callable[[Term], list[str]], analyze_text: Analyzer,
                   terms: Sequence[Term] | None = None) -> str:
    """Why the first passage shown was chosen, in one sentence (``terms``: the query's words, by default
    :attr:`Evidence.terms`)."""
    if chosen is None:
        return "No passage of this source could be shown."
    terms = list(evidence.terms if terms is None else terms)
    tokens = analyze_text(chosen.content)
    held = [t.text for t in terms if holds(tokens, analyze(t))]
    if terms and len(held) == len(terms):
        if len(terms) == 1:
            return f"Its passage shown first is the best-ranked one holding “{terms[0].text}”."
        # Close together as the proximity match means it (analysis.within), read from the passage's own tokens.
        near = [w for w in (analyze(t) for t in evidence.parsed.proximity_terms()) if w]
        together = " close together" if len(near) > 1 and within(tokens, near, evidence.parsed.proximity_gap()) else ""
        return f"Its passage shown first holds every word you searched for{together}."
    if held:
        listed = ", ".join(f"“{w}”" for w in held)
        return f"Its passage shown first holds {len(held)} of the {len(terms)} words you searched for: {listed}."
    if chosen.rowid in evidence.strict_rows or chosen.rowid in evidence.relaxed_rows:
        if any(w.where and "text" not in w.where for w in words):
            return "Your words are in its title or publisher, not in its text; this passage is its best-ranked one."
        return "Its passage shown first holds a synonym of the words you searched for."
    return "No passage of it holds your words; the passage shown is the closest in meaning to your search."


def form_in(texts: Sequence[str], term: Term, tokens: list[str], analyze_text: Analyzer) -> str | None:
    """How ``texts`` write ``term`` where none writes it as typed ("adolescent" for "adolescents": the same
    stem): the first such form, as it stands in the text; None when a text holds it as typed, or when none of
    these texts holds it at all (the source's other passages do; nothing is said of a form not read)."""
    if not tokens or not texts:
        return None
    typed = re.compile(r"(?<![^\W_])" + r"[\W_]+".join(re.escape(w) for w in term.text.split()) + r"(?![^\W_])", re.I)
    if any(typed.search(text) for text in texts):
        return None
    # Each stem less its last letter begins the words it stems ("famili": family, families).
    pattern = re.compile(r"(?<![^\W_])" + r"[\W_]+".join(re.escape(t[:-1] if len(t) > 2 else t) + r"[^\W_]*"
                                                          for t in tokens) + r"(?![^\W_])", re.I)
    for text in texts:
        for found in pattern.finditer(text):
            if analyze_text(found[0]) == tokens:
                return " ".join(found[0].split())
    return None


def _where_sentence(words: list[WordMatch]) -> str:
    if not words:
        return ""
    if len(words) > MAX_LISTED:  # a pasted paragraph: how many, not each
        return f"It holds {sum(1 for w in words if w.where)} of the {len(words)} words searched for."
    parts = []
    for word in words:
        if word.where:
            places = [_PLACE_WORDS[p] for p in word.where]
            joined = places[0] if len(places) == 1 else ", ".join(places[:-1]) + " and " + places[-1]
            held = f" as “{word.via}”" if word.via else ""
            if word.form and word.where[0] == "text":
                # Read from the passages this search found, not the whole text: said of those only.
                parts.append(f"“{word.word}” is in its {joined}{held} (written “{word.form}” where this search "
                             "found it)")
            elif word.form:  # a title is read whole
                parts.append(f"“{word.word}” is in its {joined} as “{word.form}”")
            elif held:
                parts.append(f"“{word.word}” is in its {joined}{held}")
            else:
                parts.append(f"“{word.word}” is in its {joined}")
        else:
            parts.append(f"“{word.word}” is not in it")
    return "; ".join(parts) + "."


_PLACE_WORDS = {"title": "title", "text": "text", "publisher": "publisher's name", "author": "author's name"}
