"""The pages a public service owes its users, and one for its leaders: service status (a page; its JSON at
/api/status, and /healthz for monitoring), the accessibility statement, the privacy notice, and the searches
that found nothing or little (/gaps, JSON at /api/gaps).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar

import psycopg
from flask import Blueprint, current_app, jsonify, render_template

from index.errors import KBError
from index.records import Found
from index.storage import generations
from webapp import gaps
from webapp.index_handle import get_index
from webapp.resource import Resource, route
from webapp.search import results_url
from webapp.views import shortdate

bp = Blueprint("service", __name__)
api = Blueprint("service_api", __name__, url_prefix="/api")

# When the accessibility statement and the privacy notice were last reviewed, and the service last tested.
STATEMENT_PREPARED = "24 November 2026"


def contact_email() -> str | None:
    """Where users report a problem: ``KB_CONTACT_EMAIL`` (app config or environment), set by whoever runs
    the service; the statement and the notice say how to reach them either way."""
    return current_app.config.get("KB_CONTACT_EMAIL") or os.environ.get("KB_CONTACT_EMAIL") or None


@bp.app_context_processor
def helpers() -> dict[str, Any]:
    return {"contact_email": contact_email, "statement_prepared": STATEMENT_PREPARED}


# What the live index was built without (issue 26; ingest/setup_files.py), in words for anyone: no paths
# or settings, which the run reports and `kb status` give to the people running the service.
NO_CATALOGUE = ("The index was built without a projects catalogue: no source is linked to a project, and the "
                "Projects pages are empty.")
NO_GATE = ("The last update of the index ran without its quality check (the searches that must still find "
           "their sources before a new index is published).")


def setup_warnings() -> list[str]:
    """What the live index, or the last run that built or checked it, went without."""
    served = get_index().served()
    out = [] if served.browse.projects() else [NO_CATALOGUE]
    try:
        last = generations(served.settings).last_run()
    except (KBError, OSError, psycopg.Error):  # the status page never fails over a run report
        last = None
    canaries = last.canaries if last else None
    if canaries and canaries.found in (Found.OFF.value, Found.MISSING.value):
        out.append(NO_GATE)
    return out


def status_json() -> dict[str, Any]:
    """What /healthz says: the live generation, when it was built and how many sources and passages; and
    ``warnings``, what the index was built without (an empty list when nothing).

    :raises KBError: when no index can be served (the error pages say what to do).
    """
    manifest = get_index().searcher().generation.manifest
    return {"status": "ok", "generation": manifest.generation, "created": manifest.created,
            "age_seconds": round(manifest.age_seconds()), "sources": manifest.sources,
            "passages": manifest.passages, "warnings": setup_warnings()}


@bp.get("/status")
def status():
    try:
        data = status_json()
    except KBError:
        # Not the error's own words: they name folders and commands, for the people running the service.
        return render_template("service/status.html", data=None, updated=None), 503
    return render_template("service/status.html", data=data,
                           updated=shortdate(data["created"]) if data["created"] else None)


@api.get("/status")
def status_api():
    return jsonify(status_json())


@bp.get("/accessibility")
def accessibility():
    return render_template("service/accessibility.html")


@bp.get("/privacy")
def privacy():
    return render_template("service/privacy.html", retention_days=gaps.RETENTION_DAYS, min_count=gaps.MIN_COUNT,
                           few=gaps.FEW)


@dataclass
class GapsPage(Resource):
    """The searches made at least MIN_COUNT times that found nothing or fewer than FEW sources."""

    template: ClassVar[str] = "service/gaps.html"
    gaps: list[gaps.Gap]

    def context(self) -> dict[str, Any]:
        return {**super().context(), "min_count": gaps.MIN_COUNT, "few": gaps.FEW,
                "retention_days": gaps.RETENTION_DAYS}

    def to_json(self) -> dict[str, Any]:
        return {"min_count": gaps.MIN_COUNT, "few": gaps.FEW, "retention_days": gaps.RETENTION_DAYS,
                "searches": [{"query": g.words, "searches": g.searches, "found_nothing": g.nothing,
                              "found_few": g.little, "last_searched": g.last,
                              "page_url": results_url(g.words)} for g in self.gaps]}


def build_gaps() -> GapsPage:
    return GapsPage(gaps.gap_log().gaps())


route(bp, api, "/gaps", "gaps", build_gaps)
