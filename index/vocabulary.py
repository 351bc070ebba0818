"""A generation's own words, for "Did you mean …?": spellings suggested only from what the index holds.

Written once per generation at build time (``vocabulary.json``, by :func:`write_vocabulary`, called from
:func:`index.pages.prepare`): every word of the titles, publishers and authors, and of a deterministic sample
of at most ``SAMPLE_PASSAGES`` passages (every k-th row), with the number of those texts that hold it. A
generation built before it existed has no file: no suggestions, no error.

Usage::

    write_vocabulary(build.store, build.path)          # at build time
    vocabulary = Vocabulary.load(generation.path)       # None for an older generation
    vocabulary.suggest("adolesents")                    # ["adolescents"]
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from index.store import KBDocumentStore

logger = logging.getLogger(__name__)

VOCABULARY_FILE = "vocabulary.json"
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


def collect(store: KBDocumentStore, sample: int = SAMPLE_PASSAGES) -> Counter[str]:
    """Each word's number of texts holding it: the sources' titles and bylines, and a sample of passages."""
    counts: Counter[str] = Counter()
    conn = store._conn()
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


def write_vocabulary(store: KBDocumentStore, path: str | Path, sample: int = SAMPLE_PASSAGES) -> int:
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
        if not file.exists():
            return None
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                return None
            return cls({str(w): int(n) for w, n in data["words"]})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("%s cannot be read (%s): no spelling suggestions", file, exc)
            return None

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word.lower() in self.counts

    def suggest(self, word: str, limit: int = 1) -> list[str]:
        """The index's words spelt most like ``word`` (not itself), the closer and the more common first."""
        word = word.lower()
        if len(word) < MIN_CHARS:
            return []
        matcher = difflib.SequenceMatcher(autojunk=False)
        matcher.set_seq2(word)
        scored = []
        for candidate, count in self.counts.items():
            # Cheap bounds first: a word two letters longer or shorter is rarely the one meant.
            if candidate == word or abs(len(candidate) - len(word)) > 2:
                continue
            matcher.set_seq1(candidate)
            if matcher.real_quick_ratio() < CUTOFF or matcher.quick_ratio() < CUTOFF:
                continue
            ratio = matcher.ratio()
            if ratio >= CUTOFF:
                # Closeness first; among equally close spellings the commoner word is the likelier one.
                scored.append((ratio + 0.02 * math.log1p(count), candidate))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [candidate for _, candidate in scored[:limit]]
