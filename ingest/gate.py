"""The quality gate: before a generation goes live, check it did not lose what users find.

Two checks, both against the live generation:

1. **Mass loss.** More than ``gate_max_removed_share`` of the live sources missing from the new
   generation (a mount that came up empty, a corpus half deleted) refuses the publish, unless the
   run was told removals are intended (``--allow-removals``).
2. **Canaries.** ``corpus/canaries.yaml`` (setting ``canaries``) lists queries, a fragment of the
   source's path or URL each must find, and ``within`` how many results (default: the first page,
   where a user sees it). A canary is judged by the rank of its source among the sources both
   generations hold, so a new, more relevant source that overtakes it is not a regression; the
   rank in the new generation is reported beside it. A canary whose source is no longer in the
   index at all was removed on purpose (its file went) and is reported as such, not as a
   regression. Canaries that pass on the live generation and fail on the new one are regressions;
   more than ``gate_max_regressions`` of them stop the publish.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from index.errors import KBError, SettingsError
from index.search.searcher import Searcher
from index.settings import Settings
from index.storage.contract import Generation

# A canary's source counts as found within the first page of results unless it says otherwise.
DEFAULT_WITHIN = 10
# How deep the gate looks for a canary's source (ranks beyond are reported as not found).
DEPTH = 50


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
    within: int = DEFAULT_WITHIN

    def matches(self, source: str, url: str | None) -> bool:
        return self.expect in source or self.expect in (url or "")


@dataclass(frozen=True)
class CanaryOutcome:
    """One canary on both generations: where its source ranks, and the verdict."""

    query: str
    expect: str
    within: int
    live_rank: int | None  # rank on the live generation (None: not in the first DEPTH, or no live one)
    new_rank: int | None  # rank on the new generation, counting every source
    kept_rank: int | None  # rank on the new generation among the sources the live one also holds
    verdict: str  # "passed", "regressed", "failing on both", "source removed"


@dataclass
class GateResult:
    """The gate's verdict on one build; JSON only in run reports."""

    status: str  # "passed", "failed", "not configured", "skipped"
    reason: str = ""
    canaries: int = 0
    failing_new: list[str] = field(default_factory=list)
    failing_live: list[str] = field(default_factory=list)
    regressions: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    outcomes: list[CanaryOutcome] = field(default_factory=list)
    sources_live: int = 0
    sources_lost: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_canaries(path: Path) -> list[Canary]:
    """:raises SettingsError: when the file is not a list of {query, expect, within}."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        canaries = [Canary(str(c["query"]), str(c["expect"]), int(c.get("within", DEFAULT_WITHIN))) for c in data]
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise SettingsError(f"Canaries file {path} cannot be used ({exc}); each entry needs query and expect."
                            ) from None
    return canaries


def _ranked(searcher: Searcher, query: str) -> list[tuple[str, str, str | None]]:
    """``(source id, source, url)`` of the first DEPTH sources for a query."""
    depth = min(DEPTH, searcher.settings.max_top_k)
    return [(r.document_id, r.source, r.url) for r in searcher.search(query, top_k=depth).results]


def _rank(results: list[tuple[str, str, str | None]], canary: Canary) -> int | None:
    return next((i for i, (_, source, url) in enumerate(results, start=1) if canary.matches(source, url)), None)


def _judge(canary: Canary, new: Searcher, live: Searcher | None, live_ids: set[str] | None,
           held: bool) -> CanaryOutcome:
    results = _ranked(new, canary.query)
    new_rank = _rank(results, canary)
    kept = [r for r in results if live_ids is None or r[0] in live_ids]
    kept_rank = _rank(kept, canary)
    live_rank = _rank(_ranked(live, canary.query), canary) if live is not None else None
    found_new = kept_rank is not None and kept_rank <= canary.within
    found_live = live_rank is not None and live_rank <= canary.within
    if not held:
        verdict = "source removed"
    elif found_new:
        verdict = "passed"
    elif found_live or live is None:
        verdict = "regressed"
    else:
        verdict = "failing on both"
    return CanaryOutcome(canary.query, canary.expect, canary.within, live_rank, new_rank, kept_rank, verdict)


def check_gate(settings: Settings, build: Generation, live: Generation | None) -> GateResult:
    """Check the new generation (a build not yet published) against the live one; see the module docstring.

    The share of live sources that may disappear is the ``gate_max_removed_share`` setting (``kb ingest
    --allow-removals`` sets it to 1.0).

    :raises GateFailedError: on a mass loss of sources, or when regressions exceed ``gate_max_regressions``.
    """
    share = settings.gate_max_removed_share
    live_ids = set(live.store.source_ids()) if live else None
    live_count = len(live_ids) if live_ids is not None else 0
    lost = len(live_ids - set(build.store.source_ids())) if live_ids is not None else 0
    if live_count and lost / live_count > share:
        result = GateResult("failed", reason="mass removal", sources_live=live_count, sources_lost=lost)
        raise GateFailedError(
            f"Quality gate: the new index would lose {lost} of the {live_count} sources now live "
            f"({lost / live_count:.0%}, more than the {share:.0%} allowed by gate_max_removed_share). Nothing was "
            "published. Check that the source folders are all there (an empty mount?); if the removal is "
            "intended, run again with --allow-removals.", result)
    if not settings.canaries or not Path(settings.canaries).is_file():
        return GateResult("not configured", sources_live=live_count, sources_lost=lost)
    canaries = load_canaries(Path(settings.canaries))
    searcher = Searcher(settings, build)
    live_searcher = Searcher(settings, live, searcher.embedder) if live else None
    sources = build.store.source_hashes()
    outcomes = [_judge(c, searcher, live_searcher, live_ids, any(c.expect in s for s in sources)) for c in canaries]
    regressions = [o.query for o in outcomes if o.verdict == "regressed"]
    result = GateResult(
        "passed", canaries=len(canaries), outcomes=outcomes, regressions=regressions,
        failing_new=[o.query for o in outcomes if o.verdict in ("regressed", "failing on both")],
        failing_live=[o.query for o in outcomes if o.live_rank is None or o.live_rank > o.within] if live else [],
        removed=[o.query for o in outcomes if o.verdict == "source removed"],
        sources_live=live_count, sources_lost=lost)
    allowed = settings.gate_max_regressions if live else len(canaries)
    if len(regressions) > allowed:
        result.status = "failed"
        ranks = "; ".join(f"{o.query} (rank {o.live_rank} → {o.kept_rank or 'not found'})"
                          for o in outcomes if o.verdict == "regressed")
        raise GateFailedError(
            f"Quality gate: {len(regressions)} canary queries no longer find their source where a user would see "
            f"it ({ranks}); the new index was not published and the live one is unchanged. "
            "Check the files changed since the last run, or fix the canaries.", result)
    return result
