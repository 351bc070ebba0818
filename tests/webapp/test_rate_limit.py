"""Per-client rate limits (webapp/ops.py): the API's budget, what a refusal looks like, what is never
limited, and whose address counts behind a proxy. Each test sets a tiny limit of its own; the
default settings limit nothing."""

from __future__ import annotations

import pytest
import schemathesis

from index.errors import SettingsError
from webapp import create_app
from webapp.api import openapi_document

pytestmark = pytest.mark.integration


def _app(settings, **changes):
    return create_app({"TESTING": True, "KB_SETTINGS": settings.replace(**changes)})


def _spend(client, n: int, path: str = "/api/themes", **kwargs) -> None:
    for _ in range(n):
        response = client.get(path, **kwargs)
        assert response.status_code == 200, response.get_data(as_text=True)


def test_the_default_settings_limit_nothing(client):
    assert "limiter" not in client.application.extensions
    response = client.get("/api/themes")
    assert response.status_code == 200 and "X-RateLimit-Limit" not in response.headers


def test_the_api_refuses_beyond_its_limit_with_json_and_retry_after(corpus_settings):
    client = _app(corpus_settings, api_rate_limit="3 per minute").test_client()
    first = client.get("/api/themes")
    assert first.headers["X-RateLimit-Limit"] == "3" and first.headers["X-RateLimit-Remaining"] == "2"
    assert "Retry-After" not in first.headers  # only a refusal says when to come back
    _spend(client, 2)
    refused = client.get("/api/themes")
    assert refused.status_code == 429
    assert refused.mimetype == "application/json"
    error = refused.get_json()["error"]
    wait = int(refused.headers["Retry-After"])
    assert error["code"] == "rate_limited" and 1 <= wait <= 61
    assert "3 per 1 minute" in error["message"] and f"Try again in {wait} seconds" in error["message"]
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-Content-Type-Options"] == "nosniff"  # still the site's own response
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'kb_http_rate_limited_total{endpoint="/api/themes"} 1.0' in metrics
    assert 'kb_http_requests_total{endpoint="/api/themes",status="4xx"} 1.0' in metrics


def test_one_budget_covers_every_api_path_exports_and_feeds(corpus_settings):
    client = _app(corpus_settings, api_rate_limit="4 per minute").test_client()
    _spend(client, 1, "/api/themes")
    _spend(client, 1, "/api/suggest?q=care")
    _spend(client, 1, "/api/search?q=care")
    _spend(client, 1, "/search.atom?q=care")
    assert client.get("/api/search?q=care").status_code == 429
    assert client.get("/api/documents/nosuch").status_code == 429
    export = client.get("/search/export?q=care&format=csv")
    assert export.status_code == 429 and "Retry-After" in export.headers
    feed = client.get("/search.atom?q=care")
    # Outside /api/ a refusal is the site's error page, as every other error there is.
    assert feed.status_code == 429 and feed.mimetype == "text/html"
    assert "Too many requests" in feed.get_data(as_text=True)


def test_health_description_metrics_static_and_pages_are_never_limited(corpus_settings):
    client = _app(corpus_settings, api_rate_limit="1 per minute").test_client()
    _spend(client, 1)
    assert client.get("/api/themes").status_code == 429
    for path in ("/healthz", "/api/status", "/api/openapi.json", "/metrics", "/static/build/app.css",
                 "/", "/search?q=care", "/themes", "/projects"):
        for _ in range(3):
            response = client.get(path)
            assert response.status_code == 200, path
            assert "X-RateLimit-Limit" not in response.headers, path


def test_pages_have_their_own_limit_when_one_is_set(corpus_settings):
    client = _app(corpus_settings, page_rate_limit="2 per minute").test_client()
    _spend(client, 1, "/themes")
    _spend(client, 1, "/search?q=care")
    refused = client.get("/projects")
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    page = refused.get_data(as_text=True)
    assert "Too many requests" in page and "this site&#39;s pages allows 2 per 1 minute" in page
    assert int(refused.headers["Retry-After"]) >= 1
    _spend(client, 3, "/api/themes")  # the API is not counted against the pages, nor limited here
    assert client.get("/healthz").status_code == 200


def test_each_client_address_has_its_own_budget(corpus_settings):
    client = _app(corpus_settings, api_rate_limit="1 per minute").test_client()
    _spend(client, 1, environ_base={"REMOTE_ADDR": "192.0.2.1"})
    assert client.get("/api/themes", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 429
    _spend(client, 1, environ_base={"REMOTE_ADDR": "192.0.2.2"})


def test_x_forwarded_for_is_ignored_unless_proxies_are_trusted(corpus_settings):
    client = _app(corpus_settings, api_rate_limit="1 per minute").test_client()
    _spend(client, 1, headers={"X-Forwarded-For": "203.0.113.1"})
    # A client that writes the header itself does not get a fresh budget.
    assert client.get("/api/themes", headers={"X-Forwarded-For": "203.0.113.2"}).status_code == 429


def test_behind_one_trusted_proxy_the_address_it_appended_counts(corpus_settings):
    client = _app(corpus_settings, api_rate_limit="1 per minute", trusted_proxies=1).test_client()
    # The load balancer (REMOTE_ADDR 127.0.0.1 here) appends the address it saw to the header.
    _spend(client, 1, headers={"X-Forwarded-For": "203.0.113.1"})
    assert client.get("/api/themes", headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 429
    _spend(client, 1, headers={"X-Forwarded-For": "203.0.113.2"})
    # What the client wrote before the proxy's entry is not believed: the proxy's last entry counts.
    spoofed = client.get("/api/themes", headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.2"})
    assert spoofed.status_code == 429


def test_a_refusal_is_as_the_openapi_document_says(corpus_settings):
    app = _app(corpus_settings, api_rate_limit="1 per minute")
    schema = schemathesis.openapi.from_dict(openapi_document())
    case = schema.make_case(operation=schema["/api/search"]["GET"], query={"q": "care"})
    assert case.call(app=app).status_code == 200
    refused = case.call(app=app)
    assert refused.status_code == 429
    case.validate_response(refused)


@pytest.mark.parametrize("changes, named", [
    ({"api_rate_limit": "lots"}, "api_rate_limit"),
    ({"page_rate_limit": "5 per fortnight"}, "page_rate_limit"),
    ({"api_rate_limit": "5/minute", "rate_limit_storage": "nosuch://somewhere"}, "rate_limit_storage"),
])
def test_a_wrong_limit_setting_is_named(corpus_settings, changes, named):
    with pytest.raises(SettingsError, match=named):
        _app(corpus_settings, **changes)
