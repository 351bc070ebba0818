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
