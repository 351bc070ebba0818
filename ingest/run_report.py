"""What an ingest and a re-index report share: one vocabulary for both runs (issue 26).

``kb ingest`` and ``kb reindex`` used to name the same things differently (``files``/``embedded``
against ``added``/``passages_embedded``; no ``kind`` on ingest). Both reports now carry these fields,
with these names, in ``data/runs/<id>.json``, ``kb reindex --json`` and what ``kb status`` reads:

``kind`` (ingest or reindex), ``run_id``, ``generation``, ``published``, ``files`` (files read under the
paths), ``failed`` (files that could not be indexed), ``sources`` and ``passages`` (in the generation
published, or the live one when nothing was), ``passages_embedded``, ``passages_reused``,
``duplicates``, ``duration_s``, ``setup`` (the projects catalogue and canaries used: see
``ingest/setup_files.py``), ``gate``, ``stages`` and ``failures``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from ingest.build import report_dict
from ingest.failures import Failure
from ingest.gate import GateResult
from ingest.setup_files import Setup


@dataclass(kw_only=True)
class RunReport:
    """The fields every run report has (see the module docstring)."""

    kind: ClassVar[str] = ""
    run_id: str
    generation: str | None
    published: bool
    files: int
    failed: int
    sources: int
    passages: int
    passages_embedded: int
    passages_reused: int
    duration_s: float
    duplicates: int = 0
    setup: Setup | None = None
    gate: GateResult | None = None
    stages: dict[str, float] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = {"kind": self.kind, **asdict(self), "failures": self.failures, "gate": self.gate,
                "setup": self.setup.to_dict() if self.setup else None}
        return report_dict(data)

    def setup_summary(self) -> str:
        return self.setup.summary() if self.setup else "projects catalogue and canaries not recorded"
