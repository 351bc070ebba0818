"""``kb harvest`` against a real HTTP server on the loopback: the sources file, politeness, limits, the mirror.

No model here: what reaches the index is tests/test_harvest_scenario.py.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from index.settings import load_settings
from ingest.discover import sidecar_for
from ingest.harvest.content import NotADocument, document_extension
from ingest.harvest.fetch import retry_after_seconds
from ingest.harvest.run import HarvestReport, run_harvest
from ingest.harvest.sources import SourcesError, load_sources
from tests.ingest.fixtures import make_pdf
from tests.ingest.harvest_site import Resource, Site, article, atom_feed, listing_page, sitemap

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]

TEXT_A = ("Family group conferencing brought wider family members together before care proceedings.\n"
          "Leeds said fewer adolescents entered residential care after the model was adopted across the city.")
TEXT_B = ("Mockingbird constellations link foster carers around a hub home that offers sleepovers and support.\n"
          "An evaluation found that carers felt less isolated and placements lasted longer.")


def settings_for(tmp_path: Path, **overrides):
    values = {"data_dir": tmp_path / "data", "harvest_contact": "kb-ops@example.org", "harvest_delay": 0.0,
              "harvest_timeout": 10.0, "canaries": "", **overrides}
    return load_settings(env={}, overrides=values)


def write_sources(tmp_path: Path, text: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def harvest(tmp_path: Path, site: Site, entries: str, **overrides) -> HarvestReport:
    specs = load_sources(write_sources(tmp_path, entries.replace("ORIGIN", site.origin)))
    return run_harvest(specs, tmp_path / "mirror", settings_for(tmp_path, **overrides))


def blog(site: Site, paths=("/posts/a", "/posts/b")) -> None:
    texts = {"/posts/a": ("Family group conferencing in Leeds", TEXT_A), "/posts/b": ("Mockingbird hubs", TEXT_B),
             "/private/c": ("Private notes", TEXT_B), "/posts/d": ("A new post on hubs", TEXT_B)}
    entries = [{"title": texts[p][0], "path": p, "date": "2024-03-0" + str(i + 1), "author": "Sam Lee",
                "category": "Practice"} for i, p in enumerate(paths)]
    site.put("/feed.xml", atom_feed("Practice Blog", entries, site.origin), "application/atom+xml")
    for path in paths:
        site.put(path, article(texts[path][0], texts[path][1]))


FEED = """sources:
  - name: Practice blog
    feed: ORIGIN/feed.xml
    type: blog
"""


@pytest.fixture
def site():
    with Site() as running:
        running.put("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
        yield running


# -- the sources file --------------------------------------------------------------------------------


def test_the_minimal_sources_file_of_the_issue_is_accepted(tmp_path):
    specs = load_sources(write_sources(tmp_path, """sources:
  - name: Example blog
    feed: https://example.org/feed.xml
  - name: Example publisher
    sitemap: https://example.org/sitemap.xml
"""))
    assert [(s.name, s.kind, s.url, s.folder) for s in specs] == [
        ("Example blog", "feed", "https://example.org/feed.xml", "example-blog"),
        ("Example publisher", "sitemap", "https://example.org/sitemap.xml", "example-publisher")]


@pytest.mark.parametrize("entries, message", [
    ("  - feed: https://a.org/f.xml\n", "entry 1: 'name' is required"),
    ("  - name: A\n    feed: https://a.org/f.xml\n    sitemap: https://a.org/s.xml\n",
     "entry 1 (A): give exactly one of 'feed', 'sitemap' or 'page' (the address items are listed at); it has feed "
     "and sitemap"),
    ("  - name: A\n", "entry 1 (A): give exactly one of 'feed', 'sitemap' or 'page'"),
    ("  - name: A\n    feed: https://a.org/f.xml\n  - name: B\n    sitemap: example.org/sitemap.xml\n",
     "entry 2 (B): 'sitemap' must be an http or https address, got 'example.org/sitemap.xml'"),
    ("  - name: A\n    feed: https://a.org/f.xml\n    type: podcast\n",
     "entry 1 (A): 'type' must be one of report, inspection"),
    ("  - name: A\n    feed: https://a.org/f.xml\n    publsher: A Trust\n",
     "entry 1 (A): unknown field 'publsher'; did you mean 'publisher'?"),
    ("  - name: A\n    feed: https://a.org/f.xml\n    filters:\n      title: '(unclosed'\n",
     "entry 1 (A): 'filters.title' is not a valid regular expression"),
    ("  - name: A\n    feed: https://a.org/f.xml\n    filters:\n      author: x\n",
     "entry 1 (A): 'filters' has 'author'; filter on title, category, url"),
    ("  - name: A\n    page: https://a.org/publications\n",
     "entry 1 (A): 'filters' needs a 'url' pattern for a listing page"),
    ("  - name: A\n    feed: https://a.org/f.xml\n    max_items: 0\n",
     "entry 1 (A): 'max_items' must be a whole number of at least 1, got 0"),
    ("  - name: Blog A\n    feed: https://a.org/f.xml\n  - name: blog a\n    feed: https://b.org/f.xml\n",
     "entry 2 (blog a): 'name' gives the same mirror folder (blog-a) as 'Blog A'"),
    ("  - just a line\n", "entry 1 must be a mapping"),
])
def test_a_wrong_entry_is_named_with_its_field(tmp_path, entries, message):
    path = write_sources(tmp_path, "sources:\n" + entries)
    with pytest.raises(SourcesError) as caught:
        load_sources(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


@pytest.mark.parametrize("text, message", [
    ("sources: [\n", "is not valid YAML at line"),
    ("feeds:\n  - name: A\n", "must hold a list under 'sources:'"),
    ("sources: []\n", "lists no sources"),
])
def test_a_wrong_file_says_what_it_needs(tmp_path, text, message):
    with pytest.raises(SourcesError, match=message):
        load_sources(write_sources(tmp_path, text))
    with pytest.raises(SourcesError, match=r"does not exist\. Give the sources file with --sources FILE"):
        load_sources(tmp_path / "missing.yaml")


def test_the_example_sources_are_valid_and_marked_as_examples():
    path = ROOT / "docs" / "sources.example.yaml"
    specs = load_sources(path)
    names = " ".join(s.name for s in specs)
    for publisher in ("Department for Education", "Ofsted", "Foundations", "Community Care"):
        assert publisher in names
    assert all(s.notes and s.notes.startswith("Example") for s in specs)
    assert "EXAMPLES" in path.read_text(encoding="utf-8").split("\n", 1)[0]


# -- what an item is -------------------------------------------------------------------------------


def test_content_types_are_checked_against_the_bytes():
    assert document_extension("https://a.org/r.pdf", "application/pdf", b"%PDF-1.7\n...") == ".pdf"
    assert document_extension("https://a.org/r", "application/octet-stream", b"%PDF-1.4 x") == ".pdf"
    assert document_extension("https://a.org/post", "text/html", b"<!doctype html><html><body>x") == ".html"
    with pytest.raises(NotADocument, match=r"should be a PDF .* but is an HTML page; an error or sign-in page"):
        document_extension("https://a.org/r.pdf", "application/pdf", b"<!DOCTYPE html><html><body>Error</body>")
    with pytest.raises(NotADocument, match="should be a PDF"):
        document_extension("https://a.org/report.pdf", "text/html", b"<html><body>Sign in</body></html>")
    with pytest.raises(NotADocument, match="is image/png, not a document the ingest reads"):
        document_extension("https://a.org/chart", "image/png", b"\x89PNG\r\n")


def test_listings_read_gzip_sitemaps_refuse_xml_bombs_and_resolve_links():
    import gzip

    from ingest.harvest.listings import NotAListing, page_items, sitemap_items

    packed = gzip.compress(sitemap(["/a", "/b"], "https://x.org", lastmod="2024-01-02").encode())
    items, children = sitemap_items(packed)
    assert [(i.url, i.lastmod) for i in items] == [("https://x.org/a", "2024-01-02"), ("https://x.org/b", "2024-01-02")]
    assert children == []
    bomb = b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY a "aaaa">]><urlset><url><loc>&a;</loc></url></urlset>'
    with pytest.raises(NotAListing, match="uses XML entities"):
        sitemap_items(bomb)
    with pytest.raises(NotAListing, match="is an HTML page, not a sitemap"):
        sitemap_items(b"<!doctype html><html><body>Moved</body></html>")
    links = page_items(b'<html><body><a href="report.pdf">Report</a><a href="mailto:x@y.org">Mail</a>'
                       b'<a href="#top">Top</a><a href="/list/">Self</a></body></html>', "https://x.org/list/")
    assert [(i.url, i.title) for i in links] == [("https://x.org/list/report.pdf", "Report")]


def test_retry_after_is_read_as_seconds_or_a_date():
    from datetime import UTC, datetime

    assert retry_after_seconds("7") == 7.0
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Wed, 01 May 2024 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("") is None and retry_after_seconds("soon") is None


# -- harvesting --------------------------------------------------------------------------------------


def test_new_items_arrive_with_their_sidecars(tmp_path, site):
    blog(site)
    report = harvest(tmp_path, site, FEED)
    source = report.sources[0]
    assert report.ok and source.new == [site.url("/posts/a"), site.url("/posts/b")]
    files = sorted((tmp_path / "mirror" / "practice-blog").glob("*.html"))
    assert len(files) == 2
    sidecar = json.loads(sidecar_for(files[0]).read_text())
    assert sidecar["url"] == site.url("/posts/a") and sidecar["title"] == "Family group conferencing in Leeds"
    assert sidecar["publisher"] == "Practice Blog" and sidecar["type"] == "blog" and sidecar["date"] == "2024-03-01"
    assert sidecar["authors"] == ["Sam Lee"]
    assert sidecar["harvest"]["etag"] and sidecar["harvest"]["last_modified"] and sidecar["harvest"]["fetched"]
    assert TEXT_A.split("\n")[0] in files[0].read_text()
    # Every request said who is asking and how to reach them.
    assert all("innovation-kb/" in r.headers["user-agent"] and "mailto:kb-ops@example.org" in r.headers["user-agent"]
               for r in site.requests())
    saved = json.loads(Path(report.report_file).read_text())
    assert saved["totals"]["new"] == 2 and saved["sources"][0]["name"] == "Practice blog"


def test_unchanged_items_cost_a_304(tmp_path, site):
    blog(site)
    harvest(tmp_path, site, FEED)
    site.clear_log()
    report = harvest(tmp_path, site, FEED)
    source = report.sources[0]
    asked = site.requests()
    assert {r.path for r in asked} == {"/robots.txt", "/feed.xml", "/posts/a", "/posts/b"}
    assert [r.status for r in asked] == [304] * 4
    assert all("if-none-match" in r.headers for r in asked)
    assert (source.new, source.changed, source.unchanged) == ([], [], 2)
    assert source.requests == source.not_modified == 4 and source.bytes == 0


def test_a_changed_page_replaces_its_copy_under_the_same_name(tmp_path, site):
    blog(site)
    harvest(tmp_path, site, FEED)
    before = sorted((tmp_path / "mirror" / "practice-blog").glob("*.html"))
    site.put("/posts/b", article("Mockingbird hubs", TEXT_B + "\nA second evaluation followed in 2023."))
    report = harvest(tmp_path, site, FEED)
    assert report.sources[0].changed == [site.url("/posts/b")] and report.sources[0].unchanged == 1
    after = sorted((tmp_path / "mirror" / "practice-blog").glob("*.html"))
    assert after == before and "second evaluation" in after[1].read_text()


def test_robots_disallow_is_obeyed(tmp_path, site):
    blog(site, paths=("/posts/a", "/private/c"))
    report = harvest(tmp_path, site, FEED)
    source = report.sources[0]
    assert source.new == [site.url("/posts/a")]
    assert [(n.url, n.reason) for n in source.skipped] == [(site.url("/private/c"), "robots.txt disallows /private/c")]
    assert site.requests("/private/c") == []
    # A feed robots.txt disallows is a failed source, with the reason, and nothing is asked of it.
    site.put("/robots.txt", "User-agent: innovation-kb\nDisallow: /feed.xml\n", "text/plain")
    report = harvest(tmp_path / "again", site, FEED)
    assert report.sources[0].status == "failed"
    assert report.sources[0].reason == (f"the feed {site.url('/feed.xml')} is not fetched: robots.txt disallows "
                                        "/feed.xml")


def test_one_request_at_a_time_per_host_with_the_delay_between(tmp_path, site):
    paths = ("/posts/a", "/posts/b", "/posts/d")
    blog(site, paths=paths)
    second = FEED + "  - name: Same host\n    sitemap: ORIGIN/sitemap.xml\n"
    site.put("/sitemap.xml", sitemap(["/posts/a", "/posts/b"], site.origin), "application/xml")
    report = harvest(tmp_path, site, second, harvest_delay=0.2)
    assert report.ok
    asked = sorted(site.requests(), key=lambda r: r.started)
    assert len(asked) == 1 + 1 + 3 + 1 + 2  # robots, feed, posts; sitemap, its pages (two sources, one host)
    for before, after in itertools.pairwise(asked):
        assert after.started >= before.ended, "two requests to one host overlapped"
        assert after.started - before.started >= 0.2 - 0.01


def test_429_with_retry_after_is_waited_out_within_the_bound(tmp_path, site):
    blog(site)
    page_b = article("Mockingbird hubs", TEXT_B)
    site.answer_with("/posts/b", [Resource(b"", status=429, headers={"Retry-After": "1"}, validators=False),
                                  Resource(page_b.encode())])
    report = harvest(tmp_path, site, FEED)
    asked = site.requests("/posts/b")
    assert [r.status for r in asked] == [429, 200]
    assert asked[1].started - asked[0].started >= 1.0
    assert site.url("/posts/b") in report.sources[0].new and report.sources[0].waited_s >= 1.0


def test_a_retry_after_beyond_the_bound_is_reported_not_waited(tmp_path, site):
    blog(site)
    site.put("/posts/b", b"", status=503, headers={"Retry-After": "3600"}, validators=False)
    report = harvest(tmp_path, site, FEED, harvest_max_retry_after=5)
    source = report.sources[0]
    assert source.status == "partial" and source.new == [site.url("/posts/a")]
    assert [(n.url, n.reason) for n in source.failed] == [(site.url("/posts/b"), (
        "answered 503 Service Unavailable asking to wait 3600 s, more than harvest_max_retry_after (5 s); "
        "the next run asks again"))]
    assert report.seconds < 5
    assert "failed: " + site.url("/posts/b") + ": answered 503 Service Unavailable asking to wait 3600 s" \
        in report.summary()


def test_a_redirect_loop_and_too_many_redirects_are_refused_with_a_clear_line(tmp_path, site):
    blog(site)
    site.redirect("/posts/a", "/loop/1")
    site.redirect("/loop/1", "/posts/a")
    site.redirect("/posts/b", "/hop/1")
    for n in range(1, 5):
        site.redirect(f"/hop/{n}", f"/hop/{n + 1}")
    report = harvest(tmp_path, site, FEED, harvest_max_redirects=3)
    failed = {n.url: n.reason for n in report.sources[0].failed}
    assert failed[site.url("/posts/a")] == (f"redirect loop: {site.url('/posts/a')} → {site.url('/loop/1')} → "
                                            f"{site.url('/posts/a')}")
    assert failed[site.url("/posts/b")].startswith("more than 3 redirects (harvest_max_redirects): ")
    assert len(site.requests("/posts/a")) == 1 and not list((tmp_path / "mirror").glob("practice-blog/*.html"))


def test_an_oversized_file_is_refused_and_not_saved(tmp_path, site):
    pdf = tmp_path / "report.pdf"
    make_pdf(pdf)
    data = pdf.read_bytes()
    assert len(data) > 2048
    site.put("/feed.xml", atom_feed("Reports", [{"title": "Big", "path": "/big.pdf", "date": "2024-01-01"},
                                                {"title": "Streamed", "path": "/streamed.pdf", "date": "2024-01-02"}],
                                    site.origin), "application/atom+xml")
    site.put("/big.pdf", data, "application/pdf")
    site.put("/streamed.pdf", data, "application/pdf", declare_length=False)
    report = harvest(tmp_path, site, FEED, harvest_max_bytes=2048)
    failed = {n.url: n.reason for n in report.sources[0].failed}
    assert failed[site.url("/big.pdf")] == (f"is {len(data) / 1024:.1f} KiB, over the 2.0 KiB limit "
                                            "(harvest_max_bytes); not downloaded")
    assert failed[site.url("/streamed.pdf")] == "is over the 2.0 KiB limit (harvest_max_bytes); download stopped"
    assert not list((tmp_path / "mirror" / "practice-blog").glob("*.pdf"))
    # Within the limit, the same PDF is kept as a PDF.
    report = harvest(tmp_path, site, FEED)
    assert len(report.sources[0].new) == 2
    assert len(list((tmp_path / "mirror" / "practice-blog").glob("*.pdf"))) == 2


def test_an_html_error_page_served_as_a_pdf_is_refused(tmp_path, site):
    site.put("/feed.xml", atom_feed("Reports", [{"title": "Report", "path": "/report.pdf", "date": "2024-01-01"}],
                                    site.origin), "application/atom+xml")
    site.put("/report.pdf", "<!DOCTYPE html><html><body><h1>Sorry, something went wrong</h1></body></html>",
             "application/pdf")
    report = harvest(tmp_path, site, FEED)
    assert [n.reason for n in report.sources[0].failed] == [
        "refused: it should be a PDF (application/pdf) but is an HTML page; an error or sign-in page, not the document"]
    assert not list((tmp_path / "mirror" / "practice-blog").glob("*"))


def test_one_failing_source_never_stops_the_others(tmp_path, site):
    blog(site)
    site.put("/broken.xml", b"oops", status=500, validators=False)
    site.put("/not-a-feed.xml", "<!doctype html><html><body>Moved</body></html>")
    entries = ("sources:\n  - name: Broken\n    feed: ORIGIN/broken.xml\n"
               "  - name: Practice blog\n    feed: ORIGIN/feed.xml\n"
               "  - name: Moved\n    feed: ORIGIN/not-a-feed.xml\n  - name: Missing\n    sitemap: ORIGIN/gone.xml\n")
    report = harvest(tmp_path, site, entries)
    by_name = {s.name: s for s in report.sources}
    assert by_name["Broken"].status == "failed"
    assert by_name["Broken"].reason == f"the feed {site.url('/broken.xml')} answered 500 Internal Server Error"
    assert by_name["Moved"].reason == f"the feed {site.url('/not-a-feed.xml')} is an HTML page, not a feed (has the " \
                                      "feed moved?)"
    assert by_name["Missing"].reason.startswith(f"the sitemap {site.url('/gone.xml')} answers 404 Not Found")
    assert by_name["Practice blog"].status == "ok" and len(by_name["Practice blog"].new) == 2
    assert not report.ok and "Broken (feed " + site.url("/broken.xml") + "): FAILED: " in report.summary()


def test_a_vanished_page_keeps_its_copy_marked_gone(tmp_path, site):
    blog(site, paths=("/posts/a", "/posts/b", "/posts/d"))
    harvest(tmp_path, site, FEED)
    blog(site, paths=("/posts/a",))  # the feed no longer lists them, and
    site.remove("/posts/b", status=410)
    site.redirect("/posts/d", site.url("/"))  # "moved" to the home page: removed, in effect
    report = harvest(tmp_path, site, FEED)
    gone = {n.url: n.reason for n in report.sources[0].gone}
    assert gone[site.url("/posts/b")].startswith("answers 410 Gone; the copy stays searchable, marked as last seen ")
    assert gone[site.url("/posts/d")].startswith("redirects to the home page; ")
    assert site.requests("/") == []  # the home page itself is never fetched as the item
    copies = {json.loads(p.read_text())["url"]: json.loads(p.read_text())
              for p in (tmp_path / "mirror" / "practice-blog").glob("*.meta.json")}
    assert len(copies) == 3
    marked = copies[site.url("/posts/b")]["original_gone"]
    assert set(marked) == {"last_seen", "noticed", "reason"} and marked["reason"] == "answers 410 Gone"
    assert "original_gone" not in copies[site.url("/posts/a")]
    # A copy marked gone is not asked after again while no listing names it.
    site.clear_log()
    report = harvest(tmp_path, site, FEED)
    assert site.requests("/posts/b") == [] and len(report.sources[0].skipped) == 2
    assert all(r.status == 304 for r in site.requests())
    # Back in the feed and on the site: the mark goes.
    blog(site, paths=("/posts/a", "/posts/b"))
    report = harvest(tmp_path, site, FEED)
    assert report.sources[0].changed == [site.url("/posts/b")]
    assert "original_gone" not in json.loads(next(
        p for p in (tmp_path / "mirror" / "practice-blog").glob("*.meta.json")
        if json.loads(p.read_text())["url"] == site.url("/posts/b")).read_text())


def test_filters_and_max_items_choose_what_is_fetched(tmp_path, site):
    blog(site, paths=("/posts/a", "/posts/b", "/posts/d"))
    entries = FEED + "    filters:\n      title: hubs\n    max_items: 1\n"
    report = harvest(tmp_path, site, entries)
    source = report.sources[0]
    assert source.new == [site.url("/posts/b")]  # /posts/a's title does not match; /posts/d waits (max_items)
    assert [n.reason for n in source.skipped] == ["over this run's 1 new items (max_items); next run"]
    assert site.requests("/posts/a") == [] and site.requests("/posts/d") == []
    report = harvest(tmp_path, site, entries)
    assert report.sources[0].new == [site.url("/posts/d")]


def test_a_listing_page_is_followed_one_level_and_a_sitemap_index_too(tmp_path, site):
    blog(site)
    site.put("/publications", listing_page([("/posts/a", "Read more"), ("/posts/b", "Mockingbird"),
                                            ("/about", "About us")]))
    site.put("/sitemap-index.xml", '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/'
             f'sitemap/0.9"><sitemap><loc>{site.url("/sitemap-1.xml")}</loc></sitemap></sitemapindex>',
             "application/xml")
    site.put("/sitemap-1.xml", sitemap(["/posts/b"], site.origin, lastmod="2020-01-01"), "application/xml")
    entries = ("sources:\n  - name: Publications\n    page: ORIGIN/publications\n    filters:\n      url: /posts/\n"
               "  - name: Site map\n    sitemap: ORIGIN/sitemap-index.xml\n")
    report = harvest(tmp_path, site, entries)
    pages, mapped = report.sources
    assert pages.new == [site.url("/posts/a"), site.url("/posts/b")] and site.requests("/about") == []
    sidecar = json.loads(next((tmp_path / "mirror" / "publications").glob("*.meta.json")).read_text())
    assert "title" not in sidecar  # "Read more" is no title: the page's own is read at ingest
    assert mapped.new == [site.url("/posts/b")]
    # Next run: the sitemap's lastmod is older than the copy, so the page is not even asked for.
    site.clear_log()
    report = harvest(tmp_path, site, entries)
    assert report.sources[1].unchanged == 1
    assert [r.path for r in site.requests() if r.path == "/posts/b"] == ["/posts/b"]  # asked once: by Publications


def test_an_unreachable_robots_txt_fetches_nothing_from_that_host(tmp_path, site):
    blog(site)
    site.put("/robots.txt", b"", status=500, validators=False)
    report = harvest(tmp_path, site, FEED)
    assert report.sources[0].status == "failed"
    assert "its robots.txt could not be read (answered 500 Internal Server Error)" in report.sources[0].reason
    assert {r.path for r in site.requests()} == {"/robots.txt"}


def test_no_contact_address_no_harvest(tmp_path, site):
    from ingest.harvest.fetch import HarvestError

    with pytest.raises(HarvestError, match="Set harvest_contact"):
        harvest(tmp_path, site, FEED, harvest_contact="")
    assert site.requests() == []


# -- the command -----------------------------------------------------------------------------------


def test_kb_harvest_from_the_command_line(tmp_path, site):
    from click.testing import CliRunner

    from kbcli.main import cli

    blog(site)
    write_sources(tmp_path, FEED.replace("ORIGIN", site.origin))
    env = {"KB_HARVEST_CONTACT": "ops@example.org", "KB_HARVEST_DELAY": "0"}
    runner = CliRunner(env=env)
    args = ["harvest", "--sources", str(tmp_path / "sources.yaml"), "--mirror", str(tmp_path / "mirror")]
    checked = runner.invoke(cli, [*args, "--check"], obj={})
    assert checked.exit_code == 0, checked.output
    assert f"Practice blog: feed {site.url('/feed.xml')} → {tmp_path / 'mirror' / 'practice-blog'}" in checked.output
    assert site.requests() == []
    result = runner.invoke(cli, args, obj={})
    assert result.exit_code == 0, result.output
    assert "Practice blog (feed): 2 new, 0 changed, 0 unchanged, 0 gone, 0 failed, 0 skipped; 4 requests" \
        in result.output
    assert f"Next: kb reindex {tmp_path / 'mirror'}" in result.output
    site.put("/posts/b", b"", status=500, validators=False)
    again = runner.invoke(cli, [*args, "--json"], obj={})
    assert again.exit_code == 3
    data = json.loads(again.output.strip().splitlines()[-1])
    assert data["totals"]["failed"] == 1 and data["totals"]["not_modified"] == 3
    wrong = runner.invoke(cli, ["harvest", "--sources", str(tmp_path / "nope.yaml")], obj={})
    assert wrong.exit_code == 1 and "nope.yaml does not exist" in wrong.output and "Traceback" not in wrong.output
    nobody = runner.invoke(cli, args, obj={}, env={"KB_HARVEST_CONTACT": ""})
    assert nobody.exit_code == 1 and "Set harvest_contact" in nobody.output


def test_a_second_harvest_on_the_same_mirror_is_refused(tmp_path, site):
    from index.errors import LockHeldError
    from ingest.harvest.mirror import Mirror

    blog(site)
    with Mirror(tmp_path / "mirror").lock(), pytest.raises(LockHeldError, match="Another kb harvest is writing"):
        harvest(tmp_path, site, FEED)
