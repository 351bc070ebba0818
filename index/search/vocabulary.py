"""A generation's own words, for "Did you mean …?": spellings suggested only from what the index holds.

Written once per generation at build time (``vocabulary.json``, by :func:`write_vocabulary`, called from
:func:`index.browse.pages.prepare`): every word of the titles, publishers and authors, and of a deterministic sample
of at most ``SAMPLE_PASSAGES`` passages (every k-th row), with the number of those texts that hold it. A
generation built before it existed has no file: no suggestions, no error.

Usage::

    write_vocabulary(build.store, build.path)          # at build time
    vocabulary = Vocabulary.of(generation)              # None for an older generation
    vocabulary.suggest("adolesents")                    # ["adolescents"]
"""

from __future__ import annotations

import difflib
import functools
import json
import logging
import math
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.storage.contract import BuildStore
from index.storage.layout import VOCABULARY_FILE

logger = logging.getLogger(__name__)

FORMAT = 1
# Passages read at build time: enough for every word a practitioner would search for to appear (a word in
# fewer than 1 in 50,000 passages is rarely the one meant); a full read would grow with the corpus.
SAMPLE_PASSAGES = 50_000
# Words kept, the most frequent first: suggestions are drawn from these.
MAX_WORDS = 200_000
# Lower-case words of letters (an apostrophe inside), 3 to 30 long: what a misspelt query word is compared with.
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
MIN_CHARS, MAX_CHARS = 3, 30
# difflib's similarity a suggestion needs ("adolesents" → "adolescents" 0.95; "zebra" → "debra" 0.8 is
# possible, so a suggestion is only offered for a word the index lacks, and weighed by how common it is).
CUTOFF = 0.8


def words_of(text: str) -> set[str]:
    """The distinct lower-cased words of ``text`` that the vocabulary keeps."""
    return {w for w in (m.group(0).lower().replace("’", "'") for m in _WORD.finditer(text))
            if MIN_CHARS <= len(w) <= MAX_CHARS}


def collect(store: BuildStore, sample: int = SAMPLE_PASSAGES) -> Counter[str]:
    """Each word's number of texts holding it: the sources' titles and bylines, and a sample of passages."""
    counts: Counter[str] = Counter()
    conn = store.connection()
    for title, publisher, authors in conn.execute("SELECT title, publisher, json_extract(meta, '$.authors') "
                                                  "FROM sources"):
        counts.update(words_of(f"{title or ''} {publisher or ''} {authors or ''}"))
    total = int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])
    step = max(1, math.ceil(total / sample)) if sample > 0 else 0
    if step:
        # Every step-th row: deterministic, so two builds of the same passages suggest the same words.
        for (content,) in conn.execute("SELECT content FROM chunks WHERE rowid % ? = 0 ORDER BY rowid LIMIT ?",
                                       (step, sample)):
            counts.update(words_of(content or ""))
    return counts


def write_vocabulary(store: BuildStore, path: str | Path, sample: int = SAMPLE_PASSAGES) -> int:
    """Write ``vocabulary.json`` into the generation directory ``path``; returns how many words it holds."""
    counts = collect(store, sample)
    words = counts.most_common(MAX_WORDS)
    with open(Path(path) / VOCABULARY_FILE, "w", encoding="utf-8") as handle:
        json.dump({"format": FORMAT, "words": words}, handle, ensure_ascii=False, separators=(",", ":"))
        handle.flush()
        os.fsync(handle.fileno())
    return len(words)


@dataclass(frozen=True)
class Vocabulary:
    """Words and how many sampled texts hold each."""

    counts: dict[str, int]

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary | None:
        """The vocabulary stored in the generation directory ``path``; None when it has none (an older
        generation) or it cannot be read."""
        file = Path(path) / VOCABULARY_FILE
        return cls.parse(file.read_text(encoding="utf-8"), str(file)) if file.exists() else None

    @classmethod
    def of(cls, generation: Any) -> Vocabulary | None:
        """The vocabulary a published generation holds (read through its backend); None as :meth:`load`."""
        text = generation.read_text(VOCABULARY_FILE)
        return None if text is None else cls.parse(text, VOCABULARY_FILE)

    @classmethod
    def parse(cls, text: str, name: str) -> Vocabulary | None:
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                return None
            return cls({str(w): int(n) for w, n in data["words"]})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("%s cannot be read (%s): no spelling suggestions", name, exc)
            return None

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word.lower() in self.counts

    @functools.cached_property
    def _letters(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Each word's letter counts (a-z, and one count for any other letter), for bounding difflib's
        similarity of every word at once: its quick_ratio is 2·(letters in common) / (both lengths)."""
        words = list(self.counts)
        lengths = np.array([len(w) for w in words], dtype=np.int32)
        codes = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32).astype(np.int64) - 97
        letters = np.where((codes >= 0) & (codes < 26), codes, 26)
        matrix = np.zeros((len(words), _LETTERS), dtype=np.uint8)
        np.add.at(matrix, (np.repeat(np.arange(len(words)), lengths), letters), 1)
        return words, matrix, lengths

    def suggest(self, word: str, limit: int = 1) -> list[str]:
        """The index's words spelt most like ``word`` (not itself), the closer and the more common first."""
        word = word.lower()
        if len(word) < MIN_CHARS or not self.counts:
            return []
        words, matrix, lengths = self._letters
        wanted = np.zeros(_LETTERS, dtype=np.uint8)
        for char in word:
            wanted[_letter(char)] += 1
        # Cheap bounds first, over every word at once: a word two letters longer or shorter is rarely the one
        # meant, and difflib's ratio is at most its quick_ratio.
        common = np.minimum(matrix, wanted).sum(axis=1, dtype=np.int32)
        bound = 2.0 * common / (lengths + len(word))
        close = np.flatnonzero((np.abs(lengths - len(word)) <= 2) & (bound >= CUTOFF))
        matcher = difflib.SequenceMatcher(autojunk=False)
        matcher.set_seq2(word)
        scored = []
        for row in close:
            candidate = words[row]
            if candidate == word:
                continue
            matcher.set_seq1(candidate)
            ratio = matcher.ratio()
            if ratio >= CUTOFF:
                # Closeness first; among equally close spellings the commoner word is the likelier one.
                scored.append((ratio + 0.02 * math.log1p(self.counts[candidate]), candidate))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [candidate for _, candidate in scored[:limit]]


# Letter-count columns: a to z, then one for every other letter.
_LETTERS = 27


def _letter(char: str) -> int:
    code = ord(char) - 97
    return code if 0 <= code < 26 else 26
