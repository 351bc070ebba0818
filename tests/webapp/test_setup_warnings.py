"""Issue 26, deliverable 5 on the pages: an index built without its projects catalogue or its quality gate
says so on /status (and /api/status), and /projects says why it is empty, without a link to itself."""

from __future__ import annotations

import re

import pytest

from tests.conftest import CORPUS, make_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bare_app(tmp_path_factory):
    from ingest.run import run_ingest
    from webapp import create_app

    settings = make_settings(tmp_path_factory.mktemp("bare-index"), projects="", canaries="")
    assert run_ingest([CORPUS / "003_9ee0817c87de1d62.txt"], settings).ok
    return create_app({"TESTING": True, "KB_SETTINGS": settings})


def test_status_warns_of_what_the_index_was_built_without(bare_app):
    from webapp.service import NO_CATALOGUE, NO_GATE

    client = bare_app.test_client()
    assert client.get("/api/status").get_json()["warnings"] == [NO_CATALOGUE, NO_GATE]
    page = client.get("/status").get_data(as_text=True)
    assert page.count('class="govuk-warning-text app-setup-warning"') == 2
    assert "without a projects catalogue" in page and "without its quality check" in page
    assert "projects.yaml" not in page and "canaries" not in page  # no internals on a page


def test_the_sample_index_warns_only_of_its_gate(client):
    from webapp.service import NO_GATE

    # The tests' shared index is built with its catalogue and without canaries (tests/conftest.py, for speed).
    assert client.get("/api/status").get_json()["warnings"] == [NO_GATE]
    assert client.get("/status").get_data(as_text=True).count("app-setup-warning") == 1


def test_projects_without_a_catalogue_say_why_without_a_loop(bare_app):
    page = bare_app.test_client().get("/projects").get_data(as_text=True)
    assert 'id="no-catalogue"' in page and "built without a projects catalogue" in page
    assert "No project matches these filters" not in page
    main = page[page.index("<main"):page.index("</main>")]
    assert not re.search(r'href="/projects"', main), "a link back to the same page"


def test_projects_filtered_to_nothing_offer_all_of_them(client):
    page = client.get("/projects", query_string={"theme": "private-fostering"}).get_data(as_text=True)
    assert "No project matches these filters" in page
    assert re.search(r'<a class="govuk-link" href="/projects">Show all \d+ projects</a>', page)
