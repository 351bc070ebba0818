"""``kb reindex``: rebuild from the configured sources, processing only what changed.

Files are compared with the live generation by content hash: unchanged files keep their
passages and vectors (copied, not recomputed), changed and new files go through the pipeline,
and files that are gone from the source folders disappear. A change of model or chunking
settings forces a full rebuild, and the report says so. With nothing to do, nothing is published.

Usage::

    report = run_reindex(["corpus"], settings)
    print(json.dumps(report.to_dict()))
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from index.errors import KBError
from index.generations import PROJECTS_FILE, DataDir, open_generation
from index.settings import Settings
from ingest.discover import discover
from ingest.failures import Failure
from ingest.gate import GateFailedError
from ingest.pipeline import _build_and_publish, _chunking, source_file
from ingest.projects import current_catalogue

logger = logging.getLogger(__name__)


@dataclass
class ReindexReport:
    """What one re-index did; ``to_dict`` is the ``--json`` contract."""

    run_id: str
    generation: str | None
    published: bool
    added: int
    changed: int
    removed: int
    unchanged: int
    failed: int
    passages_embedded: int
    passages_reused: int
    duration_s: float
    full: bool
    full_reason: str | None
    gate: dict[str, Any] | None = None
    failures: list[Failure] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failures"] = [f.to_dict() for f in self.failures]
        return data

    def summary(self) -> str:
        outcome = f"published generation {self.generation}" if self.published else "nothing published"
        full = f" (full rebuild: {self.full_reason})" if self.full else ""
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in self.stages.items())
        gate = (self.gate or {}).get("status", "not run")
        return (f"Re-index{full}: {self.added} added, {self.changed} changed, {self.removed} removed, "
                f"{self.unchanged} unchanged, {self.failed} failed files; {self.passages_embedded} passages "
                f"embedded, {self.passages_reused} reused; {self.duration_s:.1f} s ({stages}); gate {gate}; "
                f"{outcome}.")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _under(path: str, roots: list[Path]) -> bool:
    resolved = Path(path).resolve()
    return any(resolved == root or root in resolved.parents for root in roots)


def configured_sources(settings: Settings) -> list[str]:
    return [p.strip() for p in settings.sources.split(",") if p.strip()]


def run_reindex(paths: Sequence[str | Path] | None, settings: Settings, full: bool = False,
                progress: bool = False) -> ReindexReport:
    """Re-index ``paths`` (default: the ``sources`` setting) incrementally; see the module docstring.

    :raises IngestError: for a missing path, a held lock, or a build that would be empty.
    """
    with DataDir(settings.data_dir).lock():
        return _reindex_locked(paths, settings, full, progress)


def _reindex_locked(paths: Sequence[str | Path] | None, settings: Settings, full: bool,
                    progress: bool) -> ReindexReport:
    started = time.perf_counter()
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    roots_given = list(paths) if paths else configured_sources(settings)
    files = discover(roots_given, exclude=[settings.canaries, settings.projects])
    roots = [Path(p).resolve() for p in roots_given]

    full_reason = "asked for (--full)" if full else None
    live_files: dict[str, str] = {}
    catalogue_changed = False
    try:
        live = open_generation(settings)
    except KBError:
        live = None
        full_reason = full_reason or "no live index yet"
    if live is not None:
        catalogue_changed = live.manifest.projects_hash != current_catalogue(
            settings.projects, live.path / PROJECTS_FILE).digest
        if live.manifest.chunking != _chunking(settings) or live.manifest.model_id != settings.model_id:
            full_reason = full_reason or "the model or chunking settings changed since the live index was built"
        for source_id in live.store.source_ids():
            record = live.store.get_source(source_id)
            if record is not None:
                live_files.setdefault(source_file(record), record.content_hash)
        live.store.close()

    current = {str(f.resolve()): _sha256(f) for f in files}
    in_scope = {f for f in live_files if _under(f, roots)}
    added = [f for f in current if f not in live_files]
    changed = [f for f in current if f in live_files and live_files[f] != current[f]]
    removed = {f for f in in_scope if f not in current}
    unchanged = [f for f in current if f in live_files and live_files[f] == current[f]]
    is_full = full_reason is not None
    todo = list(current) if is_full else added + changed

    # A changed projects catalogue alone publishes: every source is carried over and linked again.
    if not is_full and not todo and not removed and not catalogue_changed:
        report = ReindexReport(run_id, DataDir(settings.data_dir).current_id(), False, 0, 0, 0, len(unchanged), 0,
                               0, 0, round(time.perf_counter() - started, 3), False, None,
                               gate={"status": "skipped", "reason": "nothing changed"})
        DataDir(settings.data_dir).write_run_report(run_id, {"kind": "reindex", **report.to_dict()})
        return report

    settings_changed = bool(full_reason) and "settings changed" in full_reason

    def keep(record: Any, processed: set[str]) -> bool:
        file = source_file(record)
        if settings_changed or file in processed or file in removed:
            return False
        return not (is_full and _under(file, roots) and file in current)

    # With only removals the pipeline runs on no files, so every build goes through one path.
    try:
        built = _build_and_publish([Path(f) for f in todo], settings, progress, keep, require_new=False)
    except GateFailedError as exc:
        refused = ReindexReport(run_id, None, False, len(added), len(changed), len(removed), len(unchanged), 0, 0, 0,
                                round(time.perf_counter() - started, 3), is_full, full_reason,
                                gate=exc.result.to_dict())
        DataDir(settings.data_dir).write_run_report(run_id, {"kind": "reindex", **refused.to_dict()})
        exc.report = refused
        raise
    failed = {f.path for f in built.failures}
    report = ReindexReport(
        run_id=run_id, generation=built.generation, published=True,
        added=sum(1 for f in added if f not in failed), changed=sum(1 for f in changed if f not in failed),
        removed=len(removed), unchanged=len(unchanged) if not is_full else 0, failed=len(failed),
        passages_embedded=built.embedded, passages_reused=built.reused_embeddings + built.carried_passages,
        duration_s=round(time.perf_counter() - started, 3), full=is_full, full_reason=full_reason,
        gate=built.gate, failures=built.failures, stages=built.stages,
    )
    DataDir(settings.data_dir).write_run_report(run_id, {"kind": "reindex", **report.to_dict()})
    logger.info("%s", report.summary())
    return report
