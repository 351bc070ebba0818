"""Domain synonyms and acronyms for the lexical retriever (``index/data/synonyms.yaml``).

Usage::

    expanded = Synonyms.default().expand(parse_query("LAC outcomes"))
    expanded.strict_match()  # '("lac" OR "looked after children" OR ...) AND "outcomes"'

A run of unquoted single-word clauses that spells an entry of a group becomes one clause: the
words as a phrase, OR every other entry of the group. Clauses the user joined with OR, and quoted
phrases, are left as typed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import replace
from importlib import resources

import yaml

from index.search.query import ParsedQuery, Term, word_tokens


class Synonyms:
    """Groups of equivalent words and phrases.

    :param groups: each a list of equivalent entries (words or phrases).
    :raises ValueError: for an entry with no words, or one listed in two groups.
    """

    def __init__(self, groups: Iterable[Iterable[str]], broader: Iterable[str] = ()) -> None:
        self._groups: list[tuple[tuple[str, ...], ...]] = []
        self._lookup: dict[tuple[str, ...], int] = {}
        for number, group in enumerate(groups, start=1):
            entries = tuple(dict.fromkeys(word_tokens(str(e)) for e in group))
            if any(not e for e in entries):
                raise ValueError(f"synonym group {number} has an entry with no words")
            for entry in entries:
                if entry in self._lookup:
                    raise ValueError(f"synonym {' '.join(entry)!r} is in groups {self._lookup[entry] + 1} and {number}")
                self._lookup[entry] = len(self._groups)
            self._groups.append(entries)
        self._longest = max((len(e) for e in self._lookup), default=0)
        self.broader = frozenset(word_tokens(str(e)) for e in broader)
        unknown = [" ".join(e) for e in self.broader if e not in self._lookup]
        if unknown:
            raise ValueError(f"broader entries not in any group: {', '.join(sorted(unknown))}")

    @classmethod
    @functools.cache
    def default(cls) -> Synonyms:
        """The groups shipped in ``index/data/synonyms.yaml``."""
        text = resources.files("index").joinpath("data/synonyms.yaml").read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        return cls(data["groups"], data.get("broader") or ())

    def __len__(self) -> int:
        return len(self._groups)

    def expand(self, parsed: ParsedQuery) -> ParsedQuery:
        """The query with every recognised word or phrase widened to its group."""
        clauses = parsed.clauses
        out: list[tuple[Term, ...]] = []
        i = 0
        while i < len(clauses):
            found = self._match(clauses, i)
            if found is None:
                out.append(clauses[i])
                i += 1
                continue
            length, entry = found
            group = self._groups[self._lookup[entry]]
            out.append((Term(entry), *(Term(e) for e in group if e != entry)))
            i += length
        return replace(parsed, clauses=tuple(out)) if len(out) != len(clauses) or out != list(clauses) else parsed

    def _match(self, clauses: tuple[tuple[Term, ...], ...], start: int) -> tuple[int, tuple[str, ...]] | None:
        """The longest entry spelt by the single-word, unquoted clauses from ``start``."""
        words: list[str] = []
        for clause in clauses[start : start + self._longest]:
            if len(clause) != 1 or clause[0].quoted or clause[0].is_phrase:
                break
            words.append(clause[0].tokens[0])
        for length in range(len(words), 0, -1):
            if tuple(words[:length]) in self._lookup:
                return length, tuple(words[:length])
        return None
