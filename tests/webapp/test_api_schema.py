"""The JSON API against its OpenAPI document: every response validated, and a property-based
run (schemathesis) that finds no 5xx and no response outside the document."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from webapp.api import openapi_document

pytestmark = [pytest.mark.integration, pytest.mark.slow]

schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture(scope="module")
def api_app(corpus_settings):
    from webapp import create_app

    # The test client does not undo Content-Encoding, so responses go out uncompressed here.
    return create_app({"TESTING": True, "KB_SETTINGS": corpus_settings, "COMPRESS_REGISTER": False})


@schema.parametrize()
# Derandomized so that CI is repeatable; raise max_examples locally to explore further.
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_conforms_and_never_fails(case, api_app):
    response = case.call(app=api_app)
    assert response.status_code < 500, response.text
    # A query string can be well-formed and still have nothing to search for ("-care", "!!!"):
    # such requests get the documented 400, so "schema-valid means accepted" is not checked.
    case.validate_response(response, excluded_checks=[positive_data_acceptance])


@pytest.mark.parametrize("path, parameters", [
    ("/api/projects/{slug}", {"slug": "reclaiming-social-work"}),
    ("/api/councils/{slug}", {"slug": "hackney"}),
    ("/api/themes/{theme_id}", {"theme_id": "practice-models"}),
    ("/api/documents/{document_id}", None),
    ("/api/documents/{document_id}/related", None),
])
def test_every_page_resource_that_exists_is_as_documented(api_app, path, parameters):
    """The random run above mostly meets 404s on these paths; each one here exists."""
    if parameters is None:
        found = api_app.test_client().get("/api/search?q=Reclaiming Social Work Hackney").get_json()
        parameters = {"document_id": found["results"][0]["source_id"]}
    case = schema.make_case(operation=schema[path]["GET"], path_parameters=parameters)
    response = case.call(app=api_app)
    assert response.status_code == 200, response.text
    case.validate_response(response)
