"""The ingest pipeline (Haystack) and one ingest run: files in, a new published generation out.

Usage::

    report = run_ingest(["corpus"], settings)
    print(report.summary())
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from haystack import Document, Pipeline, component, default_from_dict, default_to_dict
from haystack.components.joiners import DocumentJoiner
from haystack.components.writers import DocumentWriter
from haystack.document_stores.types import DuplicatePolicy

from index.embedding import document_embedder, model_dir
from index.errors import IngestError, KBError
from index.generations import COUNCILS_FILE, PROJECTS_FILE, DataDir, Generation, Manifest, open_generation
from index.settings import Settings
from index.store import KBDocumentStore, SourceRecord
from ingest.clean import BoilerplateCleaner
from ingest.dedupe import collapse_duplicates
from ingest.discover import discover
from ingest.embed_cache import CachedDocumentEmbedder
from ingest.extract import TextMetadataExtractor
from ingest.failures import Failure
from ingest.formats import FORMATS
from ingest.gate import check_gate
from ingest.metadata import MetadataResolver
from ingest.projects import current_catalogue, link_sources
from ingest.router import FormatRouter
from ingest.split import PassageSplitter
from ingest.tagging import PassageTagger, council_details, source_tags

logger = logging.getLogger(__name__)


@component
class SourceWriter:
    """Write one source record per cleaned document (a Haystack component)."""

    def __init__(self, document_store: KBDocumentStore) -> None:
        self.document_store = document_store

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, document_store=self.document_store.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceWriter:
        data["init_parameters"]["document_store"] = KBDocumentStore.from_dict(data["init_parameters"]["document_store"])
        return default_from_dict(cls, data)

    @component.output_types(sources_written=int)
    def run(self, documents: list[Document]) -> dict[str, Any]:
        for doc in documents:
            meta = doc.meta
            self.document_store.write_source(SourceRecord(
                id=meta["source_id"], source=meta["source"], title=meta["title"], type=meta["type"],
                content=doc.content or "", content_hash=meta.get("content_hash", ""), date=meta.get("date"),
                publisher=meta.get("publisher"), url=meta.get("url"),
                meta={k: meta.get(k) for k in ("authors", "language", "format", "file", "provenance", "notes",
                                               "external_id",
                                               "boilerplate_lines_removed") if meta.get(k) is not None},
            ))
        return {"sources_written": len(documents)}


def build_ingest_pipeline(store: KBDocumentStore, settings: Settings, progress: bool = False,
                          force_format: str | None = None) -> Pipeline:
    """discover'd paths → router → converters → joiner → cleaner → metadata → (sources, split → embed → write).

    :param force_format: read every file as this format (``kb ingest --format``) instead of detecting it.
    """
    data = DataDir(settings.data_dir)
    pipeline = Pipeline()
    pipeline.add_component("router", FormatRouter(force_format))
    pipeline.add_component("joiner", DocumentJoiner(join_mode="concatenate"))
    for name, fmt in FORMATS.items():
        pipeline.add_component(f"convert_{name}", fmt.converter())
        pipeline.connect(f"router.{name}", f"convert_{name}.sources")
        pipeline.connect(f"convert_{name}.documents", "joiner.documents")
    pipeline.add_component("cleaner", BoilerplateCleaner())
    pipeline.add_component("metadata", MetadataResolver())
    pipeline.add_component("sources", SourceWriter(store))
    pipeline.add_component("splitter", PassageSplitter(settings.chunk_min_words, settings.chunk_max_words,
                                                       settings.chunk_overlap_words))
    pipeline.add_component("embedder", CachedDocumentEmbedder(
        document_embedder(settings, progress_bar=progress), data.cache / "embeddings.sqlite", settings.model_id))
    pipeline.add_component("tagger", PassageTagger(model=str(model_dir(settings))))
    pipeline.add_component("writer", DocumentWriter(document_store=store, policy=DuplicatePolicy.OVERWRITE))
    pipeline.add_component("extract", TextMetadataExtractor())
    pipeline.connect("joiner.documents", "extract.documents")
    pipeline.connect("extract.documents", "cleaner.documents")
    pipeline.connect("cleaner.documents", "metadata.documents")
    pipeline.connect("metadata.documents", "sources.documents")
    pipeline.connect("metadata.documents", "splitter.documents")
    pipeline.connect("splitter.documents", "embedder.documents")
    pipeline.connect("embedder.documents", "tagger.documents")
    pipeline.connect("tagger.documents", "writer.documents")
    return pipeline


def pipeline_modules() -> list[str]:
    """Modules whose components an ingest pipeline YAML may name (Haystack refuses others on load)."""
    converters = sorted({fmt.converter.__module__ for fmt in FORMATS.values()})
    return ["ingest.pipeline", "ingest.router", "ingest.clean", "ingest.extract", "ingest.metadata", "ingest.split",
            "ingest.embed_cache", "ingest.tagging", "index.store", *converters]


@dataclass
class IngestReport:
    """What one ingest run did."""

    run_id: str
    generation: str | None
    files: int
    sources: int
    passages: int
    carried_sources: int
    embedded: int
    reused_embeddings: int
    seconds: float
    duplicates: int = 0
    gate: dict[str, Any] | None = None
    stages: dict[str, float] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        failed = f"{len(self.failures)} failed (see above)" if self.failures else "0 failed"
        kept = f", {self.carried_sources} kept from the previous index" if self.carried_sources else ""
        kept += f", {self.duplicates} near-duplicates folded into their originals" if self.duplicates else ""
        return (f"Indexed {self.sources} sources ({self.passages} passages) from {self.files} files in "
                f"{self.seconds:.1f} s{kept}; {failed}; {self.embedded} passages embedded, "
                f"{self.reused_embeddings} reused; generation {self.generation}.")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failures"] = [f.to_dict() for f in self.failures]
        return data


def source_file(record: SourceRecord) -> str:
    """The absolute path of the file a source came from (a feed's entries share their feed's file)."""
    return str(record.meta.get("file") or Path(record.source.split("#", 1)[0]).resolve())


def _carry_over(live_store: KBDocumentStore | None, store: KBDocumentStore,
                keep: Callable[[SourceRecord], bool]) -> tuple[int, int]:
    """Copy into ``store`` the live generation's sources that ``keep`` accepts, with their passages and vectors.

    :returns: (sources, passages) copied.
    """
    if live_store is None:
        return 0, 0
    sources = passages = 0
    for source_id in live_store.source_ids():
        record = live_store.get_source(source_id)
        if record is None or not keep(record):
            continue
        store.write_source(record)
        copied = live_store.source_documents(source_id)
        store.write_documents(copied, policy=DuplicatePolicy.OVERWRITE)
        sources += 1
        passages += len(copied)
    return sources, passages


def _live_generation(settings: Settings) -> Generation | None:
    try:
        return open_generation(settings)
    except KBError:
        return None


def _collect_failures(result: dict[str, Any]) -> list[Failure]:
    failures = []
    for outputs in result.values():
        for item in outputs.get("failures", []):
            failures.append(item if isinstance(item, Failure) else Failure(**item))
    return failures


@dataclass
class _Built:
    generation: str
    manifest: Manifest
    carried_sources: int
    carried_passages: int
    embedded: int
    reused_embeddings: int
    duplicates: int
    failures: list[Failure]
    processed_files: set[str]
    gate: dict[str, Any]
    stages: dict[str, float]


def _build_and_publish(files: list[Path], settings: Settings, progress: bool,
                       keep: Callable[[SourceRecord, set[str]], bool], require_new: bool = True,
                       force_format: str | None = None) -> _Built:
    """Process ``files`` into a new generation, carry over the live sources ``keep`` accepts, publish.

    The caller holds the data directory's lock. ``keep(record, processed_files)`` sees which files
    this run converted successfully.
    :raises IngestError: when ``require_new`` and no file could be indexed (nothing is published).
    """
    data = DataDir(settings.data_dir)
    live_generation = _live_generation(settings)
    # Checked before any work: a bad entry stops the run.
    try:
        catalogue = current_catalogue(settings.projects,
                                      live_generation.path / PROJECTS_FILE if live_generation else None)
    except KBError:
        if live_generation is not None:
            live_generation.store.close()
        raise
    build = data.begin(settings.faiss_factory)
    live = live_generation.store if live_generation else None
    stages: dict[str, float] = {}
    mark = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        stages[name] = round(now - mark, 3)
        mark = now

    try:
        pipeline = build_ingest_pipeline(build.store, settings, progress, force_format)
        result = pipeline.run({"router": {"sources": files}},
                              include_outputs_from={"embedder", "metadata", "cleaner"})
        failures = _collect_failures(result)
        new_docs = result["metadata"]["documents"]
        if require_new and not new_docs:
            raise IngestError("Nothing could be indexed: every file failed (see the reasons above). "
                              "The live index is unchanged.")
        processed = {d.meta["file"] for d in new_docs}
        stage("convert_clean_split_embed")
        carried, carried_passages = _carry_over(live, build.store, lambda r: keep(r, processed))
        stage("carry_over")
        for doc in new_docs:
            source_id = doc.meta["source_id"]
            build.store.update_source_meta(
                source_id, source_tags([p.meta for p in build.store.source_passages(source_id)]))
        duplicates = collapse_duplicates(build.store)
        for source_id, links in link_sources(catalogue, build.store, build.store.source_ids()).items():
            build.store.update_source_meta(source_id, links)
        (build.path / PROJECTS_FILE).write_text(catalogue.to_json(), encoding="utf-8")
        (build.path / COUNCILS_FILE).write_text(json.dumps(council_details(build.store, catalogue), indent=1),
                                                encoding="utf-8")
        stage("tags_duplicates_projects")
        embedder = pipeline.get_component("embedder")
        store = build.store
        if store.count_sources() == 0:
            raise IngestError("The new index would be empty; the live index is unchanged.")
        manifest = Manifest(
            generation=build.id, model_id=settings.model_id, embedding_dim=settings.embedding_dim,
            chunking=_chunking(settings), faiss_factory=settings.faiss_factory, sources=store.count_sources(),
            passages=store.count_documents(), source_hashes=store.source_hashes(),
            created=datetime.now(UTC).isoformat(timespec="seconds"), projects_hash=catalogue.digest,
        )
        gate = check_gate(settings, build.id, build.path, manifest, store, live_generation).to_dict()
        stage("quality_gate")
        data.publish(build, manifest, keep=settings.keep_generations)
        stage("publish")
    except BaseException:
        data.abandon(build)
        raise
    finally:
        if live is not None:
            live.close()
    return _Built(build.id, manifest, carried, carried_passages, embedder.misses, embedder.hits, duplicates,
                  failures, processed, gate, stages)


def _chunking(settings: Settings) -> dict[str, int]:
    return {"min_words": settings.chunk_min_words, "max_words": settings.chunk_max_words,
            "overlap_words": settings.chunk_overlap_words}


def run_ingest(paths: Sequence[str | Path], settings: Settings, progress: bool = False,
               replace: bool = False, force_format: str | None = None) -> IngestReport:
    """Ingest files into a new generation and publish it.

    Sources already in the live generation and not among ``paths`` are kept unless ``replace``; a
    file that fails keeps its previous version. ``force_format`` reads every file as that format.

    :raises IngestError: for a missing path, an unknown format, a held lock, or when nothing at all
        could be indexed.
    """
    started = time.perf_counter()
    if force_format is not None and force_format not in FORMATS:
        raise IngestError(f"Unknown format {force_format!r}. Use one of: {', '.join(sorted(FORMATS))}.")
    files = discover(paths, exclude=[settings.canaries, settings.projects])
    if not files:
        raise IngestError(f"No files found under {', '.join(map(str, paths))}. Give files or directories with "
                          "documents in them.")
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    with DataDir(settings.data_dir).lock():
        built = _build_and_publish(files, settings, progress,
                                   keep=lambda record, processed: not replace and source_file(record) not in processed,
                                   force_format=force_format)
    report = IngestReport(
        run_id=run_id, generation=built.generation, files=len(files), sources=built.manifest.sources,
        passages=built.manifest.passages, carried_sources=built.carried_sources, embedded=built.embedded,
        reused_embeddings=built.reused_embeddings, duplicates=built.duplicates,
        seconds=time.perf_counter() - started, failures=built.failures, gate=built.gate, stages=built.stages,
    )
    DataDir(settings.data_dir).write_run_report(run_id, report.to_dict())
    return report
