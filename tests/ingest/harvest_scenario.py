"""The done-when scenario of issue 27 as a publisher's site: three feeds (Atom, RSS, JSON Feed), a sitemap and a
listing page, over the tests' sample texts; and what changes on it between two harvests.

Shared by tests/test_harvest_scenario.py and benchmarks/bench_harvest.py (the figures in docs/benchmarks.md).

Usage::

    with Site() as site:
        publish(site, pdf_bytes)
        sources_yaml(site.origin)       # the sources file naming the five listings
        change(site)                    # a new post, a removed article, a revised report
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.ingest.fixtures import ARTICLE_HTML
from tests.ingest.harvest_site import Site, article, atom_feed, listing_page, rss_feed, sitemap

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"


def corpus_text(number: str) -> tuple[str, str]:
    """The title and text of one of the sample corpus's texts ("000" … "004")."""
    path = next(CORPUS.glob(f"{number}_*.txt"))
    meta = json.loads((path.parent / (path.name + ".meta.json")).read_text(encoding="utf-8"))
    return meta["title"], path.read_text(encoding="utf-8")


NEW_POST = ("Mockingbird constellations: what hub homes do for foster carers",
            "The Mockingbird family model groups six to ten foster families into a constellation around a hub "
            "home, whose experienced carer offers planned and emergency sleepovers, peer support and help with "
            "the paperwork of care.\nCarers in the first constellations told evaluators that they felt less alone "
            "and more confident, and that the children in their care saw the hub carer as part of their extended "
            "family.\nPlacements in constellations broke down less often than placements outside them, and fewer "
            "carers left fostering during the two years the evaluation followed them.")
REVISION = ("Update: the Department published its response to the consultation on the power to innovate, "
            "keeping the exemptions time-limited and subject to the Secretary of State's consent.")

SOURCES = """sources:
  - name: Practice blog
    feed: ORIGIN/blog/feed.atom
    type: blog
  - name: Sector news
    feed: ORIGIN/news/rss.xml
    publisher: Sector News
    type: news
  - name: Notes
    feed: ORIGIN/notes/feed.json
    type: article
  - name: Reports
    sitemap: ORIGIN/sitemap.xml
    publisher: Example Research Centre
    type: report
    licence: OGL-3.0
  - name: Publications
    page: ORIGIN/publications
    type: article
    filters:
      url: /publications/.
"""


def sources_yaml(origin: str) -> str:
    return SOURCES.replace("ORIGIN", origin)


def publish(site: Site, pdf: bytes) -> None:
    """The site as the first harvest finds it."""
    origin = site.origin
    site.put("/robots.txt", "User-agent: *\nDisallow: /drafts/\n", "text/plain")
    for number, path in (("000", "/blog/power-to-innovate"), ("004", "/blog/egos"), ("003", "/news/minister"),
                         ("002", "/notes/government-document"), ("001", "/reports/power")):
        title, text = corpus_text(number)
        site.put(path, article(title, text))
    _blog_feed(site, with_new_post=False)
    _news_feed(site, with_minister=True)
    title, _ = corpus_text("002")
    site.put("/notes/feed.json", json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "Policy notes", "items": [
            {"id": "1", "url": f"{origin}/notes/government-document", "title": title,
             "date_published": "2016-05-04T10:00:00Z", "content_text": title}]}), "application/feed+json")
    site.put("/reports/family-safeguarding.pdf", pdf, "application/pdf")
    site.put("/sitemap.xml", sitemap(["/reports/family-safeguarding.pdf", "/reports/power"], origin),
             "application/xml")
    site.put("/publications", listing_page([("/", "Home"), ("/about", "About us"),
                                            ("/publications/fgc-leeds", "Family group conferencing in Leeds")]))
    site.put("/publications/fgc-leeds", ARTICLE_HTML)


def change(site: Site) -> None:
    """Between the harvests: a new post in the Atom feed, the news article removed (404, and gone from its feed),
    and the report at /reports/power revised."""
    title, text = NEW_POST
    site.put("/blog/mockingbird-hubs", article(title, text))
    _blog_feed(site, with_new_post=True)
    site.remove("/news/minister")
    _news_feed(site, with_minister=False)
    title, text = corpus_text("001")
    site.put("/reports/power", article(title, REVISION + "\n" + text))  # the scraped text ends in comment boilerplate


def _blog_feed(site: Site, with_new_post: bool) -> None:
    entries = [{"title": corpus_text("000")[0], "path": "/blog/power-to-innovate", "date": "2016-06-01",
                "author": "Anthony Douglas"},
               {"title": corpus_text("004")[0], "path": "/blog/egos", "date": "2017-02-10"}]
    if with_new_post:
        entries.insert(0, {"title": NEW_POST[0], "path": "/blog/mockingbird-hubs", "date": "2024-05-02",
                           "author": "Sam Lee"})
    site.put("/blog/feed.atom", atom_feed("Practice Blog", entries, site.origin), "application/atom+xml")


def _news_feed(site: Site, with_minister: bool) -> None:
    entries = [{"title": corpus_text("003")[0], "path": "/news/minister"}] if with_minister else []
    entries.append({"title": "Drafts are not for harvesting", "path": "/drafts/embargoed"})
    site.put("/news/rss.xml", rss_feed("Sector News", entries, site.origin), "application/rss+xml")
