"""The build core shared by ``kb ingest`` and ``kb reindex``: files in, one new published generation out.

One way through, no read-back::

    read      new files → documents, layout re-read               (Haystack pipeline "read")
    learn     each publisher's boilerplate (kept from the live generation unless relearning)
    convert   boilerplate stripped, cleaned, split, embedded, tagged        (Haystack pipeline "index")
    carry     the live generation's sources the caller keeps, with their passages and vectors
    derive    per source: a typed SourceRecord (tags from its passages, project mentions), then
              near-duplicates folded across all records (a copy's passages are not written)
    write     each source and its passages, once; projects.json, councils.json
    gate      the canaries search the build (ingest/gate.py)
    publish   through the generation backend (index/generations.py)

The caller holds the backend's writer lock.

Usage::

    with generations(settings).lock():
        result = build_and_publish(BuildRequest(files, keep=lambda record, processed: ...), settings)
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from haystack import Document, Pipeline
from haystack.document_stores.types import DuplicatePolicy
from tqdm import tqdm

from index.browse.pages import prepare as prepare_pages
from index.embedding.encoders import export_query_graph
from index.errors import IngestError, KBError
from index.records import Inspection, OriginalGone, SourceRecord
from index.settings import Settings
from index.storage import generations
from index.storage.contract import SCHEMA_VERSION, Build, Generation, GenerationBackend, Manifest, PassageStore
from index.storage.layout import BOILERPLATE_FILE, COUNCILS_FILE, LEXICAL_DIR, PROJECTS_FILE, VECTORS_FILE
from ingest.boilerplate import LearnedBoilerplate, learn
from ingest.converters.base import FileConverter
from ingest.councils import council_details
from ingest.dedupe import fold_duplicates
from ingest.embed_cache import CachedDocumentEmbedder
from ingest.failures import Failure
from ingest.gate import GateResult, check_gate
from ingest.pipeline import build_index_pipeline, build_read_pipeline
from ingest.projects import Catalogue, ProjectLinker, current_catalogue, project_mentions
from ingest.split import DENSE_TITLE_MAX_PASSAGES
from ingest.tagging import source_tags

logger = logging.getLogger(__name__)


class RebuildReason(Enum):
    """Why a re-index rebuilds every file rather than only what changed."""

    ASKED = "asked for (--full)"
    NO_LIVE_INDEX = "no live index yet"
    SETTINGS_CHANGED = "the model or chunking settings changed since the live index was built"

    @property
    def discards_live_passages(self) -> bool:
        """Whether the live generation's passages are unusable (built with another model or chunking)."""
        return self is RebuildReason.SETTINGS_CHANGED


KeepRule = Callable[[SourceRecord, set[str]], bool]


@dataclass
class BuildResult:
    """What one build did; the ingest and re-index reports are made from it."""

    generation: str
    manifest: Manifest
    carried_sources: int
    carried_passages: int
    embedded: int
    reused_embeddings: int
    duplicates: int
    failures: list[Failure]
    processed_files: set[str]
    gate: GateResult
    stages: dict[str, float] = field(default_factory=dict)


def chunking(settings: Settings) -> dict[str, int]:
    """The chunking settings as a generation's manifest records them, with whether passages were embedded with
    their title and how they were packed (``fit_rest``: ingest/split.py): other values mean other passages or
    vectors, so a change rebuilds like a change of chunking."""
    return {"min_words": settings.chunk_min_words, "max_words": settings.chunk_max_words,
            "overlap_words": settings.chunk_overlap_words, "dense_title": int(settings.dense_title), "fit_rest": 1,
            "dense_title_max_passages": DENSE_TITLE_MAX_PASSAGES}


def source_file(record: SourceRecord) -> str:
    """The absolute path of the file a source came from (a feed's entries share their feed's file)."""
    return str(record.file or Path(record.source.split("#", 1)[0]).resolve())


def record_from_document(doc: Document, passages: list[Document]) -> SourceRecord:
    """A new source's record from the pipeline's cleaned document and its tagged passages."""
    meta = doc.meta
    return SourceRecord(
        id=meta["source_id"], source=meta["source"], title=meta["title"], type=meta["type"],
        content=doc.content or "", content_hash=meta.get("content_hash", ""), date=meta.get("date"),
        publisher=meta.get("publisher"), url=meta.get("url"), authors=tuple(meta.get("authors") or ()),
        language=meta.get("language"), format=meta.get("format"), file=meta.get("file"),
        external_id=meta.get("external_id"), notes=meta.get("notes"),
        boilerplate_lines_removed=meta.get("boilerplate_lines_removed"),
        provenance=dict(meta.get("provenance") or {}), tags=source_tags([p.meta for p in passages], doc.content or ""),
        template=(meta.get("template") or {}).get("name"), licence=meta.get("licence"),
        inspection=Inspection.from_dict(meta["inspection"]) if meta.get("inspection") else None,
        original_gone=OriginalGone.from_dict(meta["original_gone"]) if meta.get("original_gone") else None,
    )


@dataclass
class _Converted:
    sources: list[Document]
    passages: dict[str, list[Document]]  # source id → its passages, in order
    failures: list[Failure]
    embedded: int
    reused: int
    boilerplate: LearnedBoilerplate


# Files per read run and documents per index run: progress moves per batch, and memory holds one
# batch's passages at a time.
FILES_PER_BATCH = 16


def _failures(result: dict[str, Any]) -> list[Failure]:
    return [item if isinstance(item, Failure) else Failure(**item)
            for outputs in result.values() for item in outputs.get("failures", [])]


def read_files(files: list[Path], progress: bool, force_format: str | None,
          workers: int | None = None) -> tuple[list[Document], list[Failure]]:
    """Convert every file (with a progress bar over files).

    :param workers: files converted at once by each sandboxed converter (None: one per CPU); the
        documents and failures are the same, in the same order, whatever the number.
    """
    pipeline = build_read_pipeline(force_format)
    if workers is not None:
        _set_read_workers(pipeline, workers)
    documents: list[Document] = []
    failures: list[Failure] = []
    with tqdm(total=len(files), unit="file", desc="Reading", disable=not progress or not files,
              dynamic_ncols=True) as bar:
        for start in range(0, len(files), FILES_PER_BATCH):
            batch = files[start : start + FILES_PER_BATCH]
            result = pipeline.run({"router": {"sources": batch}})
            failures += _failures(result)
            documents += result["layout"]["documents"]
            bar.update(len(batch))
    return documents, failures


def _set_read_workers(pipeline: Pipeline, workers: int) -> None:
    for _, instance in pipeline.walk():
        if isinstance(instance, FileConverter):
            instance.workers = max(1, workers)


def _convert(files: list[Path], settings: Settings, progress: bool, force_format: str | None,
             known: LearnedBoilerplate | None) -> _Converted:
    """Read the files, learn publisher boilerplate (new publishers only when ``known``), then index them."""
    documents, failures = read_files(files, progress, force_format)
    boilerplate = learn(documents, known)
    pipeline = build_index_pipeline(settings, boilerplate)
    embedder = pipeline.get_component("embedder")
    assert isinstance(embedder, CachedDocumentEmbedder)
    converted = _Converted([], {}, failures, 0, 0, boilerplate)
    passages = 0
    with tqdm(total=len(documents), unit="doc", desc="Indexing", disable=not progress or not documents,
              dynamic_ncols=True) as bar:
        for start in range(0, len(documents), FILES_PER_BATCH):
            batch = documents[start : start + FILES_PER_BATCH]
            result = pipeline.run({"boilerplate": {"documents": batch}}, include_outputs_from={"metadata", "tagger"})
            converted.failures += _failures(result)
            converted.sources += result["metadata"]["documents"]
            for passage in result.get("tagger", {}).get("documents", []):
                converted.passages.setdefault(passage.meta["source_id"], []).append(passage)
                passages += 1
            converted.embedded += embedder.misses
            converted.reused += embedder.hits
            bar.update(len(batch))
            bar.set_postfix(passages=passages, embedded=converted.embedded)
    return converted


def _carried(live: PassageStore | None, keep: Callable[[SourceRecord], bool]) -> Iterator[SourceRecord]:
    if live is None:
        return
    for record in live.all_sources():
        if keep(record):
            yield record


# Source ids looked up in the live generation per query (SQLite allows some 32,000 parameters).
_LOOKUP_BATCH = 500


def with_first_indexed(records: list[SourceRecord], live: Generation | None, built_at: str) -> list[SourceRecord]:
    """Each record with the date its source was first indexed, kept from generation to generation.

    A carried record has its date already. A source read again (its file changed, or a full build)
    keeps the date the live generation has for its id; where the live generation was written before
    the date was kept, its build date stands in. A source the live generation lacks is new: ``built_at``.
    """
    missing = [r.id for r in records if not r.first_indexed]
    known: dict[str, SourceRecord] = {}
    if live is not None:
        for start in range(0, len(missing), _LOOKUP_BATCH):
            known.update(live.store.get_sources(missing[start : start + _LOOKUP_BATCH]))
    fallback = (live.manifest.created if live is not None else "") or built_at
    out = []
    for record in records:
        old = known.get(record.id)
        out.append(record.first_indexed_or(old.first_indexed or fallback if old is not None else built_at))
    return out


class _Stages:
    """Seconds per stage of a build, for the run report."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._mark = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._mark, 3)
        self._mark = now


def _write(build: Build, records: list[SourceRecord], new_passages: dict[str, list[Document]],
           live: Generation | None, catalogue: Catalogue, carried: dict[str, SourceRecord],
           live_store: PassageStore | None = None) -> tuple[list[SourceRecord], int]:
    """Link projects, write every source and its passages once, and the generation's catalogue and councils.

    A build derived from the live generation (``BuildStore.derive_from``) already holds
    the live sources and passages: only new and changed sources are written, sources that went
    away are deleted, and a carried source is written again only if its record changed (project
    links are re-derived from its passages only when the catalogue changed).

    :param carried: the live records carried over, as read, by id (a derived build's copy holds them so).
    :param live_store: where the live generation's passages are read (its local copy where there is one).
    :returns: the records as written, and how many passages were carried over from the live generation.
    """
    store = build.store
    derived = store.derived_from_base
    live_store = live_store or (live.store if live is not None else None)
    relink = live is None or not derived or live.manifest.projects_hash != catalogue.digest
    linker = ProjectLinker(catalogue)
    if derived:
        wanted = {r.id for r in records}
        store.delete_sources([i for i in store.source_ids() if i not in wanted or i in new_passages])
    written: list[SourceRecord] = []
    carried_passages = 0
    for record in records:
        new = record.id in new_passages
        if new:
            passages = new_passages[record.id]
        elif derived and not relink:
            passages = []
        else:
            passages = live_store.source_documents(record.id) if live_store is not None else []
            carried_passages += len(passages)
        final = record.with_projects(project_mentions(linker, passages)) if new or relink else record
        if derived and not new:
            if final.duplicate_of:
                store.delete_passages_of(final.id)
            if carried.get(final.id) != final:  # the base holds the record as it was read from the live one
                store.write_source(final)
            written.append(final)
            continue
        store.write_source(final)
        if not final.duplicate_of and passages:
            store.write_documents(passages, policy=DuplicatePolicy.OVERWRITE)
        written.append(final)
    if derived and not relink:
        carried_passages = store.count_documents() - sum(len(new_passages.get(r.id, ())) for r in written
                                                         if not r.duplicate_of)
    (build.path / PROJECTS_FILE).write_text(catalogue.to_json(), encoding="utf-8")
    leads = [c for project in catalogue.projects for c in project.councils]
    councils = {name: details.to_dict() for name, details in council_details(written, leads).items()}
    (build.path / COUNCILS_FILE).write_text(json.dumps(councils, indent=1), encoding="utf-8")
    return written, carried_passages


def finish_generation(build: Build) -> None:
    """Build what searching a written generation needs, before the gate searches it: its vector index,
    its lexical index, and what the web pages read across all sources, stored once (index/pages.py)."""
    build.store.vector_index()
    build.store.write_lexical(build.path / LEXICAL_DIR)
    prepare_pages(build)


@dataclass(frozen=True)
class BuildRequest:
    """What one build is asked to do.

    ``keep(record, processed_files)`` decides which live sources are carried over; it sees which
    files this run converted successfully. ``relearn_boilerplate``: learn every publisher's
    boilerplate again (a full build) rather than keep what the live generation learned.
    """

    files: list[Path]
    keep: KeepRule
    progress: bool = False
    require_new: bool = True
    force_format: str | None = None
    relearn_boilerplate: bool = False


def build_and_publish(request: BuildRequest, settings: Settings,
                      backend: GenerationBackend | None = None) -> BuildResult:
    """Process the request's files into a new generation, carry over the live sources it keeps, gate, publish.

    :raises IngestError: when ``require_new`` and no file could be indexed, or when the new index
        would be empty (nothing is published).
    :raises GateFailedError: when the quality gate refuses the new generation.
    :raises CatalogueError: for a bad projects catalogue entry (checked before any work).

    ``backend``: the one the caller holds the lock of (the settings' when None); the live generation is read
    and the new one published through it, so a build opens one backend.
    """
    backend = backend or generations(settings)
    live = _live_generation(backend, settings)
    local = backend.local_copy(live) if live is not None else None
    try:
        catalogue = current_catalogue(settings.projects, live.read_text(PROJECTS_FILE) if live else None)
        build = backend.begin(settings.faiss_factory)
        stages = _Stages()
        try:
            result = _build(build, request, settings, live, catalogue, stages, local)
            backend.publish(build, result.manifest, keep=settings.keep_generations)
        except BaseException:
            backend.abandon(build)
            raise
        stages.done("publish")
        return result
    finally:
        if local is not None and local is not live:
            local.store.close()
        if live is not None:
            live.store.close()


def _derivable(live: Generation, settings: Settings, carried: int) -> bool:
    """Whether a build should start from a copy of the live generation rather than from nothing.

    Yes when it keeps at least half the live sources (deleting the rest row by row then costs
    less than writing the kept ones again), with the same chunking, and the settings do not ask
    for another kind of vector index than the live one has.
    """
    if carried * 2 < live.manifest.sources or live.manifest.chunking != chunking(settings):
        return False
    if live.manifest.format_version != SCHEMA_VERSION:
        return False  # an older format is rebuilt in full, never carried into the new one
    return settings.faiss_factory in ("auto", live.manifest.faiss_factory)


def _known_boilerplate(live: Generation | None, relearn: bool) -> LearnedBoilerplate | None:
    text = live.read_text(BOILERPLATE_FILE) if live is not None and not relearn else None
    return None if text is None else LearnedBoilerplate.from_json(text)


def _build(build: Build, request: BuildRequest, settings: Settings, live: Generation | None, catalogue: Catalogue,
           stages: _Stages, local: Generation | None = None) -> BuildResult:
    """Everything up to publishing: convert, derive, write once, check with the gate.

    ``local``: the live generation as local files (itself, or a writer's copy of it), or None.
    """
    built_at = datetime.now(UTC).isoformat(timespec="seconds")
    converted = _convert(request.files, settings, request.progress, request.force_format,
                         _known_boilerplate(live, request.relearn_boilerplate))
    if request.require_new and not converted.sources:
        raise IngestError("Nothing could be indexed: every file failed (see the reasons above). "
                          "The live index is unchanged.")
    processed = {d.meta["file"] for d in converted.sources}
    stages.done("convert_clean_split_embed")
    new_records = [record_from_document(d, converted.passages.get(d.meta["source_id"], []))
                   for d in converted.sources]
    processed_ids = {r.id for r in new_records}
    # The live sources are read from local files where the backend has them (on PostgreSQL, the writer's copy
    # of the generation it published): the same rows, without reading every source back from the database.
    base = local
    live_store = base.store if base is not None else live.store if live is not None else None
    # A file processed again supersedes its live source even where its path changed (a link replaced by a copy).
    carried = [r for r in _carried(live_store, lambda r: request.keep(r, processed)) if r.id not in processed_ids]
    signatures = {k: v for k, v in live_store.signatures().items() if k not in processed_ids} if live_store else {}
    records = fold_duplicates(with_first_indexed(new_records + carried, live, built_at), signatures=signatures)
    if live is not None and base is not None and _derivable(live, settings, len(carried)):
        build.store.derive_from(base.store, base.path / VECTORS_FILE, base.path / LEXICAL_DIR)
    stages.done("derive")
    records, carried_passages = _write(build, records, converted.passages, live, catalogue,
                                       {r.id: r for r in carried}, live_store)
    written_signatures = build.store.signatures() if build.store.derived_from_base else {}
    kept = {r.id for r in records}
    build.store.write_signatures({k: v for k, v in signatures.items()
                                  if k in kept and written_signatures.get(k) != v})
    (build.path / BOILERPLATE_FILE).write_text(converted.boilerplate.to_json(), encoding="utf-8")
    stages.done("write")
    if not records:
        raise IngestError("The new index would be empty; the live index is unchanged.")
    finish_generation(build)
    stages.done("index")
    store = build.store
    manifest = Manifest(
        generation=build.id, model_id=settings.model_id, embedding_dim=settings.embedding_dim,
        chunking=chunking(settings), faiss_factory=store.vector_factory(), sources=store.count_sources(),
        passages=store.count_documents(), source_hashes=store.source_hashes(),
        created=datetime.now(UTC).isoformat(timespec="seconds"), projects_hash=catalogue.digest,
        query_graph=export_query_graph(settings),
    )
    gate = check_gate(settings, Generation(build.id, build.path, manifest, store), live)
    stages.done("quality_gate")
    return BuildResult(
        generation=build.id, manifest=manifest, carried_sources=len(carried), carried_passages=carried_passages,
        embedded=converted.embedded, reused_embeddings=converted.reused,
        duplicates=sum(1 for r in records if r.duplicate_of), failures=converted.failures,
        processed_files=processed, gate=gate, stages=stages.seconds)


def _live_generation(backend: GenerationBackend, settings: Settings) -> Generation | None:
    try:
        return backend.open(settings)
    except KBError:
        return None


def report_dict(data: dict[str, Any]) -> dict[str, Any]:
    """A run report's JSON: failures and gate results become plain values here, at the boundary, only."""
    out = dict(data)
    out["failures"] = [f.to_dict() for f in data.get("failures", [])]
    gate = data.get("gate")
    out["gate"] = gate.to_dict() if isinstance(gate, GateResult) else gate
    return out
