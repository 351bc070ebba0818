"""Issue 27's done-when: several feeds, a sitemap and a listing page, served on the loopback, harvested and
re-indexed twice (then a third time with nothing changed), with the real model, FAISS and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from index.search.searcher import Searcher
from index.storage import open_generation
from ingest.harvest.run import run_harvest
from ingest.harvest.sources import load_sources
from ingest.reindex import run_reindex
from tests.conftest import make_settings
from tests.ingest.fixtures import make_pdf
from tests.ingest.harvest_scenario import NEW_POST, change, publish, sources_yaml
from tests.ingest.harvest_site import Site

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def top(settings, query: str):
    searcher = Searcher(settings, open_generation(settings))
    return searcher.search(query, top_k=3).results


def record_at(settings, url: str):
    store = open_generation(settings).store
    found = [r for r in (store.get_source(i) for i in store.source_ids()) if r is not None and r.url == url]
    assert len(found) == 1, url
    return found[0]


def test_harvest_then_reindex_twice(tmp_path):
    pdf = tmp_path / "family-safeguarding.pdf"
    make_pdf(pdf)
    mirror = tmp_path / "mirror"
    settings = make_settings(tmp_path / "data", harvest_contact="kb-tests@example.org", harvest_delay=0.0,
                             sources=str(mirror))
    with Site() as site:
        publish(site, pdf.read_bytes())
        (tmp_path / "sources.yaml").write_text(sources_yaml(site.origin), encoding="utf-8")
        specs = load_sources(tmp_path / "sources.yaml")

        # First run: everything is new.
        first = run_harvest(specs, mirror, settings)
        assert first.ok, first.summary()
        assert {s.name: len(s.new) for s in first.sources} == {
            "Practice blog": 2, "Sector news": 1, "Notes": 1, "Reports": 2, "Publications": 1}
        assert [n.reason for n in first.sources[1].skipped] == ["robots.txt disallows /drafts/embargoed"]
        indexed = run_reindex(None, settings)
        assert indexed.published and indexed.added == 7 and indexed.failed == 0, indexed.failures
        minister = site.url("/news/minister")
        revised = record_at(settings, site.url("/reports/power"))
        assert record_at(settings, minister).original_gone is None
        assert record_at(settings, site.url("/reports/family-safeguarding.pdf")).licence == "OGL-3.0"

        # Between the runs: a new post, a removed article, a revised report.
        change(site)
        site.clear_log()
        second = run_harvest(specs, mirror, settings)
        by_name = {s.name: s for s in second.sources}
        assert by_name["Practice blog"].new == [site.url("/blog/mockingbird-hubs")]
        assert [n.url for n in by_name["Sector news"].gone] == [minister]
        assert by_name["Reports"].changed == [site.url("/reports/power")]
        changed_paths = {"/blog/feed.atom", "/blog/mockingbird-hubs", "/news/rss.xml", "/news/minister",
                         "/reports/power"}
        others = [r for r in site.requests() if r.path not in changed_paths]
        assert others and all(r.status == 304 for r in others), [(r.path, r.status) for r in others]
        reindexed = run_reindex(None, settings)
        # The new post, and the two whose files or sidecars changed (the revised report, the removed article).
        assert (reindexed.added, reindexed.changed, reindexed.removed) == (1, 2, 0), reindexed.summary()

        # The new item is searchable, with its original address.
        found = top(settings, "Mockingbird constellations hub home carers")
        assert found[0].url == site.url("/blog/mockingbird-hubs") and found[0].title == NEW_POST[0]
        # The removed one is still searchable, and marked.
        found = top(settings, "outdated practice model of social care minister")
        assert found[0].url == minister
        gone = record_at(settings, minister).original_gone
        today = datetime.now(UTC).date().isoformat()
        assert gone is not None and (gone.last_seen, gone.noticed, gone.reason) == (today, today,
                                                                                   "answers 404 Not Found")
        # The revised report was re-read, and keeps the day it was first indexed.
        again = record_at(settings, site.url("/reports/power"))
        assert "response to the consultation" in again.content
        assert again.first_indexed == revised.first_indexed and again.id == revised.id

        # On the page and in the API.
        from webapp import create_app

        client = create_app({"TESTING": True, "KB_SETTINGS": settings}).test_client()
        record = record_at(settings, minister)
        data = client.get(f"/api/documents/{record.id}").get_json()
        assert data["url"] == minister
        assert data["original_gone"] == {"last_seen": today, "noticed": today, "reason": "answers 404 Not Found"}
        page = client.get(f"/documents/{record.id}").get_data(as_text=True)
        assert "Original no longer available</strong>, last seen" in page and "Read the original" not in page
        assert f'href="{minister}"' not in page
        alive = client.get(f"/api/documents/{record_at(settings, site.url('/blog/egos')).id}").get_json()
        assert alive["original_gone"] is None

        # Third run, nothing changed: every request a 304 (the removed article is not asked for again).
        site.clear_log()
        third = run_harvest(specs, mirror, settings)
        asked = site.requests()
        assert asked and all(r.status == 304 for r in asked), [(r.path, r.status) for r in asked]
        assert "/news/minister" not in {r.path for r in asked}
        assert third.totals()["requests"] == third.totals()["not_modified"] == len(asked)
        assert not run_reindex(None, settings).published
