"""One ``kb ingest`` run: files in, a new published generation out, and its report.

Usage::

    report = run_ingest(["corpus"], settings)
    print(report.summary())
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from index.errors import IngestError
from index.records import SourceRecord
from index.settings import Settings
from index.storage import generations
from ingest.build import BuildRequest, build_and_publish, report_dict, source_file
from ingest.discover import discover
from ingest.failures import Failure
from ingest.formats import FORMATS
from ingest.gate import GateResult


@dataclass
class IngestReport:
    """What one ingest run did; ``to_dict`` is what the run report file holds."""

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
    gate: GateResult | None = None
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
        return report_dict({**asdict(self), "failures": self.failures, "gate": self.gate})


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

    def keep(record: SourceRecord, processed: set[str]) -> bool:
        return not replace and source_file(record) not in processed

    backend = generations(settings)
    with backend.lock():
        live = backend.current_id()
        built = build_and_publish(BuildRequest(files, keep=keep, progress=progress, force_format=force_format,
                                               relearn_boilerplate=replace or live is None), settings, backend)
    report = IngestReport(
        run_id=run_id, generation=built.generation, files=len(files), sources=built.manifest.sources,
        passages=built.manifest.passages, carried_sources=built.carried_sources, embedded=built.embedded,
        reused_embeddings=built.reused_embeddings, duplicates=built.duplicates,
        seconds=time.perf_counter() - started, failures=built.failures, gate=built.gate, stages=built.stages,
    )
    backend.write_run_report(run_id, report.to_dict())
    return report
