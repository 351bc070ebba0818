"""The quality gate: canary queries that must keep finding their sources before a generation goes live.

``corpus/canaries.yaml`` (setting ``canaries``) lists queries, a fragment of the source path or
URL each must find, and within how many results. The new generation is searched before it is
published; canaries that pass on the live generation but fail on the new one are regressions,
and more than ``gate_max_regressions`` of them stop the publish.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from index.errors import KBError, SettingsError
from index.generations import Generation
from index.search import Searcher
from index.settings import Settings


class GateFailedError(KBError):
    """The new generation lost canaries the live one finds; it was not published.

    ``report`` is the run's report when the run that was refused made one (``kb reindex --json`` prints it).
    """

    def __init__(self, message: str, result: GateResult, report: Any | None = None) -> None:
        super().__init__(message)
        self.result = result
        self.report = report

    def with_report(self, report: Any) -> GateFailedError:
        """The same refusal, carrying the run's report."""
        return GateFailedError(str(self), self.result, report)


@dataclass(frozen=True)
class Canary:
    query: str
    expect: str
    within: int = 3


@dataclass
class GateResult:
    """The gate's verdict on one build; JSON only in run reports."""

    status: str  # "passed", "failed", "not configured", "skipped"
    reason: str = ""
    canaries: int = 0
    failing_new: list[str] = field(default_factory=list)
    failing_live: list[str] = field(default_factory=list)
    regressions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_canaries(path: Path) -> list[Canary]:
    """:raises SettingsError: when the file is not a list of {query, expect, within}."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        canaries = [Canary(str(c["query"]), str(c["expect"]), int(c.get("within", 3))) for c in data]
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise SettingsError(f"Canaries file {path} cannot be used ({exc}); each entry needs query and expect."
                            ) from None
    return canaries


def _failing(searcher: Searcher, canaries: list[Canary]) -> list[str]:
    failing = []
    for canary in canaries:
        results = searcher.search(canary.query, top_k=min(max(canary.within, 1), searcher.settings.max_top_k)).results
        if not any(canary.expect in r.source or canary.expect in (r.url or "") for r in results[: canary.within]):
            failing.append(canary.query)
    return failing


def check_gate(settings: Settings, build: Generation, live: Generation | None) -> GateResult:
    """Search the new generation (a build not yet published) and the live one with the canaries.

    :raises GateFailedError: when regressions exceed ``gate_max_regressions``.
    """
    if not settings.canaries or not Path(settings.canaries).is_file():
        return GateResult("not configured")
    canaries = load_canaries(Path(settings.canaries))
    searcher = Searcher(settings, build)
    failing_new = _failing(searcher, canaries)
    failing_live = _failing(Searcher(settings, live, searcher.embedder), canaries) if live else []
    regressions = [q for q in failing_new if q not in failing_live] if live else failing_new
    allowed = settings.gate_max_regressions if live else len(canaries)
    result = GateResult("passed", canaries=len(canaries), failing_new=failing_new, failing_live=failing_live,
                        regressions=regressions)
    if len(regressions) > allowed:
        result.status = "failed"
        raise GateFailedError(
            f"Quality gate: {len(regressions)} canary queries no longer find their source "
            f"({'; '.join(regressions)}); the new index was not published and the live one is unchanged. "
            "Check the files changed since the last run, or fix the canaries.", result)
    return result
