"""``kb reindex``: rebuild from the configured sources, processing only what changed.

Files are compared with the live generation by content hash (the file's, with its sidecar's: an edited
sidecar is a change): unchanged files keep their
passages and vectors (copied, not recomputed), changed and new files go through the pipeline,
and files that are gone from the source folders disappear. A change of model or chunking
settings forces a full rebuild, and the report says so. With nothing to do, nothing is published.

Usage::

    report = run_reindex(["corpus"], settings)
    print(json.dumps(report.to_dict()))
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from index.errors import KBError
from index.records import SourceRecord
from index.settings import Settings
from index.storage import generations as generation_backend
from index.storage.contract import GenerationBackend
from index.storage.layout import PROJECTS_FILE
from ingest.build import BuildRequest, RebuildReason, build_and_publish, chunking, source_file
from ingest.discover import discover, file_hash
from ingest.gate import GateFailedError, GateResult
from ingest.projects import current_catalogue
from ingest.run_report import RunReport
from ingest.setup_files import find_setup

logger = logging.getLogger(__name__)


@dataclass(kw_only=True)
class ReindexReport(RunReport):
    """What one re-index did; ``to_dict`` is the ``--json`` contract (shared fields: ingest/run_report.py)."""

    kind: ClassVar[str] = "reindex"
    added: int
    changed: int
    removed: int
    unchanged: int
    full: bool
    full_reason: str | None

    def summary(self) -> str:
        outcome = f"published generation {self.generation}" if self.published else "nothing published"
        full = f" (full rebuild: {self.full_reason})" if self.full else ""
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in self.stages.items())
        gate = self.gate.status if self.gate else "not run"
        return (f"Re-index{full}: {self.added} added, {self.changed} changed, {self.removed} removed, "
                f"{self.unchanged} unchanged, {self.failed} failed files; {self.passages_embedded} passages "
                f"embedded, {self.passages_reused} reused; {self.duration_s:.1f} s ({stages}); gate {gate}; "
                f"{outcome}.\nSet-up: {self.setup_summary()}.")


def _under(path: str, roots: list[Path]) -> bool:
    resolved = Path(path).resolve()
    return any(resolved == root or root in resolved.parents for root in roots)


def configured_sources(settings: Settings) -> list[str]:
    return [p.strip() for p in settings.sources.split(",") if p.strip()]


@dataclass
class _LiveState:
    """What the live generation says about the files: their hashes, and whether a full rebuild is due."""

    files: dict[str, str]
    rebuild: RebuildReason | None
    catalogue_changed: bool
    sources: int = 0
    passages: int = 0
    # file of a near-duplicate copy (indexed without passages) → file of the original it was folded into
    copies: dict[str, str] = field(default_factory=dict)


def _live_state(backend: GenerationBackend, settings: Settings) -> _LiveState:
    try:
        live = backend.open(settings)
    except KBError:
        return _LiveState({}, RebuildReason.NO_LIVE_INDEX, False)
    try:
        catalogue_changed = live.manifest.projects_hash != current_catalogue(
            settings.projects, live.read_text(PROJECTS_FILE)).digest
        rebuild = None
        if live.manifest.chunking != chunking(settings) or live.manifest.model_id != settings.model_id:
            rebuild = RebuildReason.SETTINGS_CHANGED
        files: dict[str, str] = {}
        # From local files where the backend has them (a PostgreSQL writer's copy of what it published).
        local = backend.local_copy(live)
        try:
            records = list((local or live).store.all_sources())
        finally:
            if local is not None and local is not live:
                local.store.close()
        by_id = {r.id: r for r in records}
        copies: dict[str, str] = {}
        for record in records:
            files.setdefault(source_file(record), record.content_hash)
            if record.duplicate_of in by_id:
                copies[source_file(record)] = source_file(by_id[record.duplicate_of])
    finally:
        live.store.close()
    return _LiveState(files, rebuild, catalogue_changed, sources=live.manifest.sources,
                      passages=live.manifest.passages, copies=copies)


@dataclass
class _Plan:
    """Which files a re-index processes, keeps and drops."""

    current: dict[str, str]  # resolved path → hash
    added: list[str]
    changed: list[str]
    removed: set[str]
    unchanged: list[str]
    rebuild: RebuildReason | None
    # unchanged copies whose original changed or went: processed again, so that they have passages
    orphans: list[str] = field(default_factory=list)
    # resolved path → the path found under the roots (a link not followed), which the build reads and names
    # its sources by, as `kb ingest` does (ingest.discover.source_path)
    named: dict[str, Path] = field(default_factory=dict)

    @property
    def todo(self) -> list[str]:
        return list(self.current) if self.rebuild else self.added + self.changed + self.orphans

    def files_todo(self) -> list[Path]:
        """The files to process, by the names they were found under."""
        return [self.named.get(f, Path(f)) for f in self.todo]

    def keeps(self, roots: list[Path]) -> Any:
        """The build's rule for carrying a live source over into the new generation."""

        def keep(record: SourceRecord, processed: set[str]) -> bool:
            file = source_file(record)
            if (self.rebuild and self.rebuild.discards_live_passages) or file in processed or file in self.removed:
                return False
            return not (self.rebuild and _under(file, roots) and file in self.current)

        return keep


def _plan(files: list[Path], roots: list[Path], live: _LiveState, full: bool) -> _Plan:
    named: dict[str, Path] = {}
    for f in files:
        named.setdefault(str(f.resolve()), f)
    current = {resolved: file_hash(f) for resolved, f in named.items()}
    known = live.files
    changed = [f for f in current if f in known and known[f] != current[f]]
    removed = {f for f in known if _under(f, roots) and f not in current}
    unchanged = [f for f in current if f in known and known[f] == current[f]]
    gone_or_changed = removed | set(changed)
    return _Plan(
        current=current,
        added=[f for f in current if f not in known],
        changed=changed,
        removed=removed,
        unchanged=unchanged,
        rebuild=RebuildReason.ASKED if full else live.rebuild,
        orphans=[f for f in unchanged if live.copies.get(f) in gone_or_changed],
        named=named,
    )


def run_reindex(paths: Sequence[str | Path] | None, settings: Settings, full: bool = False,
                progress: bool = False) -> ReindexReport:
    """Re-index ``paths`` (default: the ``sources`` setting) incrementally; see the module docstring.

    :raises IngestError: for a missing path, a held lock, or a build that would be empty.
    :raises GateFailedError: when the quality gate refuses the new generation (with the run's report).
    """
    backend = generation_backend(settings)
    with backend.lock():
        return _reindex_locked(backend, paths, settings, full, progress)


def _reindex_locked(backend: GenerationBackend, paths: Sequence[str | Path] | None, settings: Settings, full: bool,
                    progress: bool) -> ReindexReport:
    started = time.perf_counter()
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    roots_given = list(paths) if paths else configured_sources(settings)
    setup = find_setup(settings, roots_given)
    settings = setup.applied_to(settings)
    files = discover(roots_given, exclude=[settings.canaries, settings.projects])
    roots = [Path(p).resolve() for p in roots_given]
    live = _live_state(backend, settings)
    plan = _plan(files, roots, live, full)
    reason = plan.rebuild.value if plan.rebuild else None

    def elapsed() -> float:
        return round(time.perf_counter() - started, 3)

    # A changed projects catalogue alone publishes: every source is carried over and linked again.
    if not plan.rebuild and not plan.todo and not plan.removed and not live.catalogue_changed:
        report = ReindexReport(
            run_id=run_id, generation=backend.current_id(), published=False, files=len(files), added=0, changed=0,
            removed=0, unchanged=len(plan.unchanged), failed=0, sources=live.sources, passages=live.passages,
            passages_embedded=0, passages_reused=0, duration_s=elapsed(), full=False, full_reason=None, setup=setup,
            gate=GateResult("skipped", reason="nothing changed"))
        backend.write_run_report(run_id, report.to_dict())
        return report

    # With only removals the pipeline runs on no files, so every build goes through one path.
    try:
        built = build_and_publish(BuildRequest(plan.files_todo(), keep=plan.keeps(roots),
                                               progress=progress, require_new=False,
                                               relearn_boilerplate=plan.rebuild is not None), settings, backend)
    except GateFailedError as exc:
        refused = ReindexReport(
            run_id=run_id, generation=None, published=False, files=len(files), added=len(plan.added),
            changed=len(plan.changed), removed=len(plan.removed), unchanged=len(plan.unchanged), failed=0,
            sources=live.sources, passages=live.passages, passages_embedded=0, passages_reused=0,
            duration_s=elapsed(), full=plan.rebuild is not None, full_reason=reason, setup=setup, gate=exc.result)
        backend.write_run_report(run_id, refused.to_dict())
        raise exc.with_report(refused) from None
    # Failures name a file as it was read (its link, maybe relative); the plan names it resolved.
    failed = {str(Path(f.path.split("#", 1)[0]).resolve()) for f in built.failures}
    report = ReindexReport(
        run_id=run_id, generation=built.generation, published=True, files=len(files),
        added=sum(1 for f in plan.added if f not in failed), changed=sum(1 for f in plan.changed if f not in failed),
        removed=len(plan.removed), unchanged=len(plan.unchanged) if not plan.rebuild else 0, failed=len(failed),
        sources=built.manifest.sources, passages=built.manifest.passages, passages_embedded=built.embedded,
        passages_reused=built.reused_embeddings + built.carried_passages, duplicates=built.duplicates,
        duration_s=elapsed(), full=plan.rebuild is not None, full_reason=reason, setup=setup,
        gate=built.gate, failures=built.failures, stages=built.stages,
    )
    backend.write_run_report(run_id, report.to_dict())
    logger.info("%s", report.summary())
    return report
