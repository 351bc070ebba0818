"""Near-duplicate sources (the same article saved twice, or syndicated elsewhere): one stays searchable.

MinHash over word 5-shingles (datasketch) finds pairs whose estimated Jaccard similarity is at
least ``threshold``; each group keeps the source with the most complete metadata (a URL, a date,
a publisher, the longest text) as canonical. The others keep their records, marked ``duplicate_of``, but lose
their passages, so results show one source; its page lists the others as alternates.
Records of BEIR test collections are left alone: they are judged one by one.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from datasketch import MinHash, MinHashLSH

from index.store import KBDocumentStore, SourceRecord

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


def collapse_duplicates(store: KBDocumentStore, threshold: float = 0.8) -> int:
    """Mark near-duplicates in a generation being built and drop their passages; returns how many."""
    ids = store.source_ids()
    # Test collections are judged document by document: their records are never folded together.
    records = [r for r in (store.get_source(i) for i in ids) if r is not None and r.meta.get("format") != "beir"]
    for record in records:
        if "duplicate_of" in record.meta or "alternates" in record.meta:
            store.update_source_meta(record.id, {"duplicate_of": None, "alternates": []})
    collapsed = 0
    for group in find_duplicate_groups(records, threshold):
        canonical, copies = group[0], group[1:]
        store.update_source_meta(canonical.id, {"alternates": [
            {"id": c.id, "source": c.source, "title": c.title, "url": c.url, "publisher": c.publisher}
            for c in copies]})
        for copy in copies:
            store.update_source_meta(copy.id, {"duplicate_of": canonical.id})
            store.delete_documents([p.id for p in store.source_passages(copy.id)])
            collapsed += 1
            logger.info("%s is a near-duplicate of %s", copy.source, canonical.source)
    return collapsed
