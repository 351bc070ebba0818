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
from collections.abc import MutableMapping
from typing import Any

import numpy as np
from datasketch import MinHash, MinHashLSH

from index.records import SourceRecord

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\w+")
SHINGLE = 5
PERMUTATIONS = 128
# The hashing scheme signatures are stored under (datasketch's default for new MinHashes).
_SCHEME = MinHash(num_perm=1).scheme


def _minhash(text: str) -> MinHash | None:
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE * 4:
        return None  # too short to call a copy on wording alone
    minhash = MinHash(num_perm=PERMUTATIONS, scheme=_SCHEME)
    minhash.update_batch([" ".join(words[i : i + SHINGLE]).encode("utf-8") for i in range(len(words) - SHINGLE + 1)])
    return minhash


def signature(record: SourceRecord) -> bytes:
    """A source's MinHash signature as stored in its generation (empty when it is too short to judge).

    Kept beside the source so that a re-index hashes only the new and changed sources' text.
    """
    minhash = _minhash(record.content)
    return b"" if minhash is None else minhash.hashvalues.astype(np.uint64).tobytes()


def _from_signature(blob: bytes) -> MinHash | None:
    if not blob:
        return None
    return MinHash(num_perm=PERMUTATIONS, hashvalues=np.frombuffer(blob, dtype=np.uint64), scheme=_SCHEME)


def _rank(record: SourceRecord) -> tuple[Any, ...]:
    # The copy with the fullest metadata is the one to show: a URL, a date, a named publisher.
    return (record.url is None, record.date is None, record.publisher is None, -len(record.content), record.source)


def find_duplicate_groups(records: list[SourceRecord], threshold: float = 0.8,
                          signatures: MutableMapping[str, bytes] | None = None) -> list[list[SourceRecord]]:
    """Groups of two or more near-identical sources, canonical first.

    :param signatures: stored signatures by source id (:func:`signature`); those missing are
        computed and added to it.
    """
    known = signatures if signatures is not None else {}
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
        if record.id not in known:
            known[record.id] = signature(record)
        minhash = _from_signature(known[record.id])
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


def fold_duplicates(records: list[SourceRecord], threshold: float = 0.8,
                    signatures: MutableMapping[str, bytes] | None = None) -> list[SourceRecord]:
    """The records again, with near-duplicates marked as copies of their canonical source.

    Every record's previous marking is recomputed (an original removed since makes no copies).
    Records of BEIR test collections are judged one by one and never folded. A copy's passages
    are not to be indexed: results show one source, and its page lists the others.

    :param signatures: see :func:`find_duplicate_groups`.
    """
    candidates = [r for r in records if r.format != "beir"]
    folded: dict[str, SourceRecord] = {r.id: r.as_original(()) for r in candidates}
    for group in find_duplicate_groups(candidates, threshold, signatures):
        canonical, copies = group[0], group[1:]
        folded[canonical.id] = canonical.as_original(tuple(c.as_alternate() for c in copies))
        for copy in copies:
            folded[copy.id] = copy.as_copy_of(canonical.id)
            logger.info("%s is a near-duplicate of %s", copy.source, canonical.source)
    return [folded.get(r.id, r) for r in records]
