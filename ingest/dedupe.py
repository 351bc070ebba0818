"""Near-duplicate sources (the same article saved twice, or syndicated elsewhere): one stays searchable.

MinHash over word 5-shingles (datasketch) finds pairs whose estimated Jaccard similarity is at
least ``threshold``; each group keeps the source with the most complete metadata (a URL, a date,
a publisher, the longest text) as canonical. The others keep their records, marked ``duplicate_of``, but lose
their passages (none are written), so results show one source; its page lists the others as alternates.
Records of BEIR test collections are left alone: they are judged one by one.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from datasketch import MinHash, MinHashLSH

from index.records import SourceRecord

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\w+")
SHINGLE = 5
PERMUTATIONS = 128


def _minhash(text: str) -> MinHash | None:
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE * 4:
        return None  # too short to call a copy on wording alone
    minhash = MinHash(num_perm=PERMUTATIONS)
    minhash.update_batch([" ".join(words[i : i + SHINGLE]).encode("utf-8") for i in range(len(words) - SHINGLE + 1)])
    return minhash


def _rank(record: SourceRecord) -> tuple[Any, ...]:
    # The copy with the fullest metadata is the one to show: a URL, a date, a named publisher.
    return (record.url is None, record.date is None, record.publisher is None, -len(record.content), record.source)


def find_duplicate_groups(records: list[SourceRecord], threshold: float = 0.8) -> list[list[SourceRecord]]:
    """Groups of two or more near-identical sources, canonical first."""
    lsh = MinHashLSH(threshold=threshold, num_perm=PERMUTATIONS)
    hashes: dict[str, MinHash] = {}
    by_id = {r.id: r for r in records}
    parent = {r.id: r.id for r in records}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for record in records:
        minhash = _minhash(record.content)
        if minhash is None:
            continue
        for other in lsh.query(minhash):
            if hashes[other].jaccard(minhash) >= threshold:
                parent[root(record.id)] = root(other)
        lsh.insert(record.id, minhash)
        hashes[record.id] = minhash
    groups: dict[str, list[SourceRecord]] = {}
    for record_id in by_id:
        groups.setdefault(root(record_id), []).append(by_id[record_id])
    return [sorted(g, key=_rank) for g in groups.values() if len(g) > 1]


def fold_duplicates(records: list[SourceRecord], threshold: float = 0.8) -> list[SourceRecord]:
    """The records again, with near-duplicates marked as copies of their canonical source.

    Every record's previous marking is recomputed (an original removed since makes no copies).
    Records of BEIR test collections are judged one by one and never folded. A copy's passages
    are not to be indexed: results show one source, and its page lists the others.
    """
    candidates = [r for r in records if r.format != "beir"]
    folded: dict[str, SourceRecord] = {r.id: r.as_original(()) for r in candidates}
    for group in find_duplicate_groups(candidates, threshold):
        canonical, copies = group[0], group[1:]
        folded[canonical.id] = canonical.as_original(tuple(c.as_alternate() for c in copies))
        for copy in copies:
            folded[copy.id] = copy.as_copy_of(canonical.id)
            logger.info("%s is a near-duplicate of %s", copy.source, canonical.source)
    return [folded.get(r.id, r) for r in records]
