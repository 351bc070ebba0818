"""The leaders' inspection views in a real browser: the project page's councils using a model (table and
chart) and the council page's inspections and statistical neighbours, axe-clean with ordered headings."""

from __future__ import annotations

import itertools
import threading

import pytest

from tests.browser.conftest import axe_violations
from tests.browser.test_pages import HEADINGS
from tests.webapp.test_leaders_inspections import NWD, leaders_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def leaders_server(tmp_path_factory):
    from werkzeug.serving import make_server

    from webapp import create_app

    app = create_app({"KB_SETTINGS": leaders_settings(tmp_path_factory.mktemp("leaders-browser"))})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.parametrize("path", [f"/projects/{NWD}", "/councils/north-yorkshire", "/councils/dorset"])
def test_inspection_views_are_accessible(browser, leaders_server, path):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(leaders_server + path)
        levels = page.evaluate(HEADINGS)
        assert levels.count(1) == 1 and all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
        assert page.locator("table caption").count() >= 1
        violations = axe_violations(page)
        assert violations == [], "\n".join(violations)
    finally:
        context.close()


# Issue 26, deliverable 3: inspection views a director reads at a glance.
OVERLAPS = """(selector) => {
  const boxes = [...document.querySelectorAll(selector)].map((el) => {
    const r = el.getBoundingClientRect();
    return {text: el.textContent, left: r.left, top: r.top, right: r.right, bottom: r.bottom};
  });
  const out = [];
  boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b) => {
    if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) out.push([a.text, b.text]);
  }));
  return {count: boxes.length, overlaps: out};
}"""


@pytest.mark.parametrize("path", [f"/projects/{NWD}", "/councils/north-yorkshire", "/councils/dorset"])
def test_every_judgement_column_shows_at_1280_without_scrolling(browser, leaders_server, path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(leaders_server + path)
        table = page.locator("table.app-inspections")
        assert table.count() == 1
        headers = table.locator("thead th")
        assert headers.count() >= 6  # the date and every judgement area the reports give (and the council)
        for i in range(headers.count()):
            box = headers.nth(i).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 1280, headers.nth(i).inner_text()
        wide = page.evaluate("""() => [...document.querySelectorAll('table.app-inspections')].map((t) => {
            let el = t, scrolls = false;
            while (el) { if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible')
                           scrolls = true; el = el.parentElement; }
            return {scrolls, page: document.documentElement.scrollWidth};
        })""")
        assert wide == [{"scrolls": False, "page": 1280}]
        assert "Care leavers" in headers.all_inner_texts()
    finally:
        context.close()


def test_joint_judgements_show_as_joint(browser, leaders_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(leaders_server + "/councils/north-yorkshire")
        joint = page.locator("table.app-inspections td[colspan='2']")
        assert joint.count() >= 1 and "judged together" in joint.first.inner_text()
        # On a phone the same table is a block of "Area: grade" lines, nothing to scroll.
        page.set_viewport_size({"width": 375, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert page.locator("table.app-inspections thead").first.bounding_box()["height"] <= 2
    finally:
        context.close()


@pytest.mark.parametrize("path", [f"/projects/{NWD}", "/councils/north-yorkshire", "/themes"])
def test_chart_labels_never_overlap(browser, leaders_server, path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(leaders_server + path)
        charts = page.locator("svg.app-chart")
        assert charts.count() >= 1
        for i in range(charts.count()):
            chart_id = charts.nth(i).get_attribute("aria-labelledby").split()[0]
            found = page.evaluate(OVERLAPS, f'svg[aria-labelledby^="{chart_id} "] text')
            assert found["count"] >= 3 and found["overlaps"] == [], found
            centres = page.evaluate("""(id) => [...document.querySelectorAll(`svg[aria-labelledby^="${id} "] circle`)]
                                       .map((c) => c.getAttribute('cx') + ',' + c.getAttribute('cy'))""", chart_id)
            assert len(centres) == len(set(centres)), "one point hides another"
    finally:
        context.close()


def test_a_director_reaches_the_councils_judged_so_with_their_models_in_two_clicks(browser, leaders_server):
    grade = next(c["overall_effectiveness"] for c in _judged(leaders_server) if c["slug"] == "north-yorkshire")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(leaders_server + "/")
        page.locator(".govuk-service-navigation").get_by_role("link", name="Councils").click()  # 1
        page.locator("#judgement-links").get_by_role("link", name=grade.capitalize(), exact=True).click()  # 2
        page.wait_for_url(f"**/councils?judged={grade.replace(' ', '-')}")
        row = page.locator("#judged-councils tbody tr").filter(has=page.locator("th", has_text="North Yorkshire"))
        assert row.locator(f'a[href="/projects/{NWD}"]').count() == 1  # No Wrong Door, the model it uses
        assert page.locator("h1").inner_text() == f"Councils judged {grade}"
        # The reports themselves, without typing a query.
        page.get_by_role("link", name=f"Every inspection report here judged {grade} overall").click()
        page.wait_for_url("**/search?q=&judgement=overall-effectiveness-*")
        assert int(page.locator("#results-count").inner_text().split()[0]) >= 1
    finally:
        context.close()


def _judged(server: str) -> list[dict]:
    import json
    import urllib.request

    out = []
    for grade in ("outstanding", "good", "requires-improvement", "inadequate"):
        with urllib.request.urlopen(f"{server}/api/councils?judged={grade}", timeout=30) as response:
            out += json.loads(response.read())["councils"]
    return out
