"""What a generation's browse and search pages need from all its sources, computed once when the generation
is built, so that a web worker's start-up does not grow with the passages (nor parse every source record).

Stored in the generation (written by :func:`prepare`, before the quality gate):

- ``source_vectors`` in chunks.sqlite: each source's mean passage vector, one row per source. Triggers drop a
  source's row whenever its passages change, so a generation copied into a new build (a proportional
  re-index) keeps the rows of the sources it carries and :func:`prepare` recomputes only the rest.
- ``source_vectors.npy``: those vectors as one matrix in the pages' source order, memory-mapped by workers
  (shared between them through the page cache) for related documents and projects.
- ``pages.json``: the facet values of every source, the source order, council names and the inspection
  reports per council (a :class:`PageIndex`). Cheap to recompute at each build (it reads the source
  records, not the passages), so it is rewritten whole.

A generation without them (built before they existed, or a store written directly in a test) still works:
:class:`GenerationPages` computes the same :class:`PageIndex` and vectors from the store, as before.

Usage::

    prepare(build)                        # in the build, after the sources and passages are written
    pages = GenerationPages(generation)   # in a worker: loads what prepare stored (or computes it)
    pages.facet_table                     # index.search.facets.FacetTable
    pages.records["source-id"]            # a SourceRecord, read from the store on first use
    pages.vectors                         # SourceVectors: ids and their normalised mean vectors
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from index.records import FacetRow, SourceRecord
from index.search.facets import FACETS, FacetTable, slugify
from index.search.vocabulary import write_vocabulary
from index.storage.contract import Build, BuildStore, Generation, PassageStore
from index.storage.layout import PAGES_FILE, SOURCE_VECTORS_FILE

logger = logging.getLogger(__name__)

# pages.json's format: a file of another format is ignored (the pages are computed as for an older generation).
FORMAT = 3  # 3: the "mentions" facet beside "council" (the councils a source is about), issue 26
# Sources whose passage vectors are read at once when filling in missing mean vectors.
_VECTOR_BATCH = 256
# Source records read in one query (SQLite limits the parameters of one statement).
_RECORD_BATCH = 5000


@dataclass(frozen=True)
class PageIndex:
    """Facts about every searchable source (not a collapsed duplicate) that the pages use across all sources."""

    order: tuple[str, ...]  # newest first, undated last, then by title: the order of every list of sources
    facets: Mapping[str, tuple[tuple[str, ...], ...]]  # source id → its slugs for each of FACETS, in that order
    labels: Mapping[str, Mapping[str, str]]  # facet → slug → label
    council_names: Mapping[str, str]  # slug → name, of the councils the sources name or are inspections of
    inspections: Mapping[str, tuple[str, ...]]  # council name → its inspection reports, oldest first
    inspection_projects: Mapping[str, tuple[tuple[str, str], ...]]  # report → (project slug, relation) it names
    # source → {council slug: the group's words}, for councils a source reaches only by naming a group or
    # partnership they belong to (it is not "named in" the source; see CouncilMention.group)
    council_via: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def facet_table(self) -> FacetTable:
        return FacetTable({source_id: dict(zip(FACETS, values, strict=True))
                           for source_id, values in self.facets.items()},
                          {facet: dict(labels) for facet, labels in self.labels.items()})

    def values(self, source_id: str, facet: str) -> tuple[str, ...]:
        """A source's slugs for one facet (none for a source not in the index)."""
        values = self.facets.get(source_id)
        return values[FACETS.index(facet)] if values is not None else ()

    def to_dict(self) -> dict[str, Any]:
        """As pages.json keeps it: sources by their position in ``order`` and facet values by their position
        in ``labels`` (a third the size of ids and slugs, and parsed three times as fast)."""
        position = {s: i for i, s in enumerate(self.order)}
        vocab = {f: {slug: i for i, slug in enumerate(self.labels[f])} for f in FACETS}
        relations = {r: i for i, r in enumerate(sorted({r for named in self.inspection_projects.values()
                                                        for _, r in named}))}
        return {"order": list(self.order),
                "labels": {f: list(self.labels[f].items()) for f in FACETS},
                "facets": [[[vocab[f][slug] for slug in values]
                            for f, values in zip(FACETS, self.facets[s], strict=True)] for s in self.order],
                "council_names": self.council_names,
                "inspections": {c: [position[s] for s in ids] for c, ids in self.inspections.items()},
                "relations": list(relations),
                # Flat: report position, project position (in labels["project"]), relation position, ...
                "inspection_projects": [n for s, named in self.inspection_projects.items() for slug, relation in named
                                        for n in (position[s], vocab["project"][slug], relations[relation])],
                "council_via": [[position[s], slug, group] for s, via in self.council_via.items()
                                for slug, group in via.items()]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PageIndex:
        order = tuple(data["order"])
        labels = {f: dict(data["labels"][f]) for f in FACETS}
        vocab = [list(labels[f]) for f in FACETS]
        mentions: dict[str, list[tuple[str, str]]] = {}
        projects, relations, flat = vocab[FACETS.index("project")], data["relations"], data["inspection_projects"]
        for at in range(0, len(flat), 3):
            mentions.setdefault(order[flat[at]], []).append((projects[flat[at + 1]], relations[flat[at + 2]]))
        via: dict[str, dict[str, str]] = {}
        for at, slug, group in data["council_via"]:
            via.setdefault(order[at], {})[slug] = group
        return cls(order=order,
                   facets={s: tuple(tuple(vocab[f][i] for i in values) for f, values in enumerate(coded))
                           for s, coded in zip(order, data["facets"], strict=True)},
                   labels=labels, council_names=dict(data["council_names"]),
                   inspections={c: tuple(order[i] for i in at) for c, at in data["inspections"].items()},
                   inspection_projects={s: tuple(named) for s, named in mentions.items()}, council_via=via)


@dataclass(frozen=True)
class SourceVectors:
    """Sources' mean passage vectors, normalised: row ``i`` of ``matrix`` belongs to ``ids[i]``."""

    ids: tuple[str, ...]
    matrix: np.ndarray

    @functools.cached_property
    def rows(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.ids)}


def compute(store: PassageStore) -> tuple[PageIndex, dict[str, SourceRecord]]:
    """The page index from the store's source records (at build time, or in a worker for an older generation).

    :returns: the index and the records it was made from, by id, in its order (without their text).
    """
    # One read of every record (the facet values come from the records, as store.facet_rows() gives them):
    # each read walks the source's text to reach its meta, the main cost here at scale.
    ids = store.source_ids()
    records = {s: r for start in range(0, len(ids), _RECORD_BATCH)
               for s, r in store.get_sources(ids[start : start + _RECORD_BATCH]).items() if not r.duplicate_of}
    table = FacetTable.from_rows(_facet_row(record) for record in records.values())
    ordered = dict(sorted(records.items(), key=lambda item: (-date_key(item[1].date), item[1].title.lower())))
    names: dict[str, str] = {}
    inspections: dict[str, list[SourceRecord]] = {}
    for record in ordered.values():
        for name in record.council_names:
            names[slugify(name)] = name
        if record.inspection is not None and not record.duplicate_of:
            inspected = record.inspection.council
            names.setdefault(slugify(inspected), inspected)
            inspections.setdefault(inspected, []).append(record)
    for reports in inspections.values():
        reports.sort(key=lambda r: date_key(r.inspection.published if r.inspection else None))
    index = PageIndex(
        order=tuple(ordered),
        facets={s: tuple(values[f] for f in FACETS) for s, values in table.by_source.items()},
        labels=table.labels, council_names=names,
        inspections={council: tuple(r.id for r in reports) for council, reports in inspections.items()},
        inspection_projects={r.id: tuple((m.slug, m.relation) for m in r.projects)
                             for reports in inspections.values() for r in reports if r.projects},
        council_via={s: via for s, record in ordered.items()
                     if (via := {slugify(c.name): group for c in record.tags.councils if (group := c.group)})})
    return index, ordered


def _facet_row(record: SourceRecord) -> FacetRow:
    return FacetRow(id=record.id, type=record.type, date=record.date, councils=record.council_names,
                    themes=record.theme_ids, projects=tuple((p.slug, p.name) for p in record.projects),
                    judgements=record.inspection.facet_values() if record.inspection is not None else (),
                    about=record.about_council_names)


def mean_vectors(groups: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
    """Each group's mean vector, normalised: one row per group (each group at least one vector)."""
    means = []
    for vectors in groups:
        total: Any = 0
        for vector in vectors:
            total = total + vector
        means.append(total / len(vectors))
    matrix = np.stack(means).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-12
    return matrix


def fill_source_vectors(store: BuildStore) -> int:
    """Store the mean vector of every source that has passage vectors but no stored mean; returns how many."""
    store.ensure_source_vectors()
    missing = store.sources_missing_vectors()
    filled = 0
    for start in range(0, len(missing), _VECTOR_BATCH):
        groups = store.embeddings_by_source(missing[start : start + _VECTOR_BATCH])
        if not groups:
            continue
        ids = list(groups)
        matrix = mean_vectors([groups[s] for s in ids])
        store.write_source_vectors((s, len(groups[s]), row) for s, row in zip(ids, matrix, strict=True))
        filled += len(ids)
    return filled


def prepare(build: Build) -> PageIndex:
    """Compute and store what the pages need (see the module docstring), in a build before it is checked
    and published."""
    store = build.store
    filled = fill_source_vectors(store)
    index, _ = compute(store)
    stored = store.source_vectors()
    vector_ids = [s for s in index.order if s in stored]
    dim = len(next(iter(stored.values()))) if stored else 0
    matrix = np.stack([stored[s] for s in vector_ids]) if vector_ids else np.zeros((0, dim), dtype=np.float32)
    with open(build.path / SOURCE_VECTORS_FILE, "wb") as handle:
        np.save(handle, matrix.astype(np.float32), allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())
    position = {s: i for i, s in enumerate(index.order)}
    data = {"format": FORMAT, "vector_rows": [position[s] for s in vector_ids], **index.to_dict()}
    with open(build.path / PAGES_FILE, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, separators=(",", ":"))
        handle.flush()
        os.fsync(handle.fileno())
    words = write_vocabulary(store, build.path)  # for "Did you mean …?" (index/vocabulary.py)
    logger.info("Pages: %d sources, %d words for spelling suggestions", len(index.order), words)
    logger.info("Pages: %d sources, %d mean vectors (%d computed now)", len(index.order), len(vector_ids), filled)
    return index


def _load(generation: Generation) -> tuple[PageIndex, tuple[str, ...]] | None:
    """The stored page index and the ids of the vector matrix's rows; None when absent or unreadable."""
    file = PAGES_FILE
    try:
        text = generation.read_text(PAGES_FILE)
        if text is None:
            return None
        data = json.loads(text)
        if data.get("format") != FORMAT:
            logger.info("%s has format %s, not %s: computing the pages instead", file, data.get("format"), FORMAT)
            return None
        index = PageIndex.from_dict(data)
        return index, tuple(index.order[i] for i in data["vector_rows"])
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        logger.warning("%s cannot be read (%s): computing the pages instead", file, exc)
        return None


class SourceRecords(Mapping[str, SourceRecord]):
    """The searchable sources' records in the pages' order, each read from the store on first use (a worker
    holds only those its pages have shown)."""

    def __init__(self, store: PassageStore, order: Sequence[str],
                 loaded: Mapping[str, SourceRecord]) -> None:
        self._store = store
        self._order = order
        self._ids = frozenset(order)
        self._cache: dict[str, SourceRecord] = dict(loaded)

    def __getitem__(self, source_id: str) -> SourceRecord:
        record = self._cache.get(source_id)
        if record is None:
            if source_id not in self._ids:
                raise KeyError(source_id)
            self.load([source_id])
            record = self._cache[source_id]
        return record

    def __contains__(self, source_id: object) -> bool:
        return source_id in self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def load(self, source_ids: Sequence[str]) -> list[SourceRecord]:
        """Several records at once (one query for those not read yet), in the order given."""
        missing = [s for s in source_ids if s not in self._cache and s in self._ids]
        for start in range(0, len(missing), _RECORD_BATCH):
            self._cache.update(self._store.get_sources(missing[start : start + _RECORD_BATCH]))
        return [self._cache[s] for s in source_ids if s in self._cache]


class GenerationPages:
    """What the pages of one generation read across its sources: stored at build time (:func:`prepare`),
    else computed here from the store, as for generations built before it existed."""

    def __init__(self, generation: Generation, use_stored: bool = True) -> None:
        self.generation = generation
        store = generation.store
        loaded = _load(generation) if use_stored else None
        self.stored = loaded is not None
        self._vector_ids: tuple[str, ...] | None
        if loaded is not None:
            self.index, self._vector_ids = loaded
            records: Mapping[str, SourceRecord] = {}
        else:
            self.index, records = compute(store)
            self._vector_ids = None
        self.records = SourceRecords(store, self.index.order, records)

    @functools.cached_property
    def facet_table(self) -> FacetTable:
        return self.index.facet_table()

    @functools.cached_property
    def vectors(self) -> SourceVectors:
        """The sources' mean vectors: the stored matrix (memory-mapped), else from every passage vector."""
        if self._vector_ids is not None:
            try:
                matrix = self._stored_matrix()
                if matrix.shape[0] == len(self._vector_ids):
                    return SourceVectors(self._vector_ids, matrix)
                logger.warning("%s does not match %s: computing the sources' vectors instead",
                               SOURCE_VECTORS_FILE, PAGES_FILE)
            except (OSError, ValueError) as exc:
                logger.warning("%s cannot be read (%s): computing the sources' vectors instead",
                               SOURCE_VECTORS_FILE, exc)
        return _computed_vectors(self.generation.store, self.index.order)

    def _stored_matrix(self) -> np.ndarray:
        """The stored matrix: memory-mapped from a local generation, so every worker shares the one copy in
        the page cache; read whole from a generation in a shared database.

        :raises OSError, ValueError: when it is missing or damaged.
        """
        if self.generation.local:
            return np.asarray(np.load(self.generation.path / SOURCE_VECTORS_FILE, mmap_mode="r", allow_pickle=False))
        data = self.generation.read_file(SOURCE_VECTORS_FILE)
        if data is None:
            raise OSError(f"the generation has no {SOURCE_VECTORS_FILE}")
        return np.asarray(np.load(io.BytesIO(data), allow_pickle=False))


def _computed_vectors(store: PassageStore, order: Sequence[str]) -> SourceVectors:
    """Every source's mean vector from every passage vector (reads them all: for older generations only)."""
    wanted = set(order)
    groups: dict[str, list[np.ndarray]] = {}
    for source_id, vector in store.passage_vectors():
        if source_id in wanted:
            groups.setdefault(source_id, []).append(vector)
    ids = tuple(s for s in order if s in groups)
    if not ids:
        return SourceVectors((), np.zeros((0, 0), dtype=np.float32))
    return SourceVectors(ids, mean_vectors([groups[s] for s in ids]))


def date_key(date: str | None) -> int:
    """A sortable number for a date of any precision ("2019", "2019-05", "2019-05-01"); 0 when unknown."""
    if not date:
        return 0
    return int(date[:10].replace("-", "").ljust(8, "0"))
