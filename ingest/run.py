"""One ``kb ingest`` run: files in, a new published generation out, and its report.

Usage::

    report = run_ingest(["corpus"], settings)
    print(report.summary())
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from index.errors import IngestError
from index.records import SourceRecord
from index.settings import Settings
from index.storage import generations
from ingest.build import BuildRequest, build_and_publish, source_file
from ingest.discover import discover
from ingest.formats import FORMATS
from ingest.run_report import RunReport
from ingest.setup_files import find_setup


@dataclass(kw_only=True)
class IngestReport(RunReport):
    """What one ingest run did; ``to_dict`` is what the run report file holds (ingest/run_report.py)."""

    kind: ClassVar[str] = "ingest"
    # sources of the live index not among the paths, carried into the new generation as they were
    carried_sources: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        failed = f"{len(self.failures)} failed (see above)" if self.failures else "0 failed"
        kept = f", {self.carried_sources} kept from the previous index" if self.carried_sources else ""
        kept += f", {self.duplicates} near-duplicates folded into their originals" if self.duplicates else ""
        gate = self.gate.status if self.gate else "not run"
        return (f"Indexed {self.sources} sources ({self.passages} passages) from {self.files} files in "
                f"{self.duration_s:.1f} s{kept}; {failed}; {self.passages_embedded} passages embedded, "
                f"{self.passages_reused} reused; generation {self.generation}.\n"
                f"Set-up: {self.setup_summary()}; gate {gate}.")


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
    setup = find_setup(settings, paths)
    settings = setup.applied_to(settings)
    files = discover(paths, exclude=[settings.canaries, settings.projects])
    if not files:
        raise IngestError(f"No files found under {', '.join(map(str, paths))}. Give files or directories with "
                          "documents in them.")
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")

    def keep(record: SourceRecord, processed: set[str]) -> bool:
        return not replace and source_file(record) not in processed

    backend = generations(settings)
    with backend.lock():
        live = backend.current_id()
        built = build_and_publish(BuildRequest(files, keep=keep, progress=progress, force_format=force_format,
                                               relearn_boilerplate=replace or live is None), settings, backend)
    report = IngestReport(
        run_id=run_id, generation=built.generation, published=True, files=len(files), failed=len(built.failures),
        sources=built.manifest.sources, passages=built.manifest.passages, carried_sources=built.carried_sources,
        passages_embedded=built.embedded, passages_reused=built.reused_embeddings + built.carried_passages,
        duplicates=built.duplicates, duration_s=round(time.perf_counter() - started, 3), setup=setup,
        failures=built.failures, gate=built.gate, stages=built.stages,
    )
    backend.write_run_report(run_id, report.to_dict())
    return report
