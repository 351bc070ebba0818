"""Every page has its JSON, built from the same resource, in one vocabulary (over the sample corpus)."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from jinja2 import UndefinedError

pytestmark = pytest.mark.integration


def _source_id(client, query: str) -> str:
    return client.get("/api/search", query_string={"q": query}).get_json()["results"][0]["source_id"]


def test_document_json_is_what_the_page_shows(client, schema):
    source_id = _source_id(client, "Reclaiming Social Work Hackney")
    response = client.get(f"/api/documents/{source_id}")
    assert response.status_code == 200
    data = response.get_json()
    schema("Document", data)
    assert data["source_id"] == data["document_id"] == source_id and data["name"] == data["title"]
    page = unescape(client.get(data["page_url"]).get_data(as_text=True))
    assert data["title"] in page and data["text"][:200] in page
    assert [c["name"] for c in data["councils"]] and all(c["name"] in page for c in data["councils"])
    assert all(c["evidence"] for c in data["councils"])
    assert data["themes"] and all(t["reason"] and t["name"] == t["label"] for t in data["themes"])
    assert "reclaiming-social-work" in [p["slug"] for p in data["projects"]]
    assert set(data["provenance"]) and set(data["provenance"].values()) <= {"sidecar", "embedded", "text", "default"}
    assert source_id not in [r["source_id"] for r in data["related"]]


def test_document_passages_are_offsets_into_its_text(client, corpus_searcher):
    """What the page marks for ``?passage=N`` is the JSON's passage N."""
    source_id = _source_id(client, "power to innovate")
    data = client.get(f"/api/documents/{source_id}").get_json()
    stored = {p.id: p.content for p in corpus_searcher.store.source_passages(source_id)}
    assert [p["ordinal"] for p in data["passages"]] == list(range(len(stored))) and len(stored) > 1
    for passage in data["passages"]:
        assert data["text"][passage["start"]:passage["end"]] == stored[passage["passage_id"]]
    second = data["passages"][1]
    page = unescape(client.get(second["page_url"]).get_data(as_text=True))
    marked = re.search(r'<mark id="match"[^>]*>(.*?)</mark>', page, re.S).group(1)
    assert marked == data["text"][second["start"]:second["end"]]
    # A project's mention points at a passage that names it.
    for project in data["projects"]:
        assert project["passage_url"].startswith(f"/documents/{source_id}?passage={project['ordinal']}")


def test_a_copy_points_at_its_original_and_the_original_lists_it(tmp_path, schema):
    from ingest.run import run_ingest
    from tests.conftest import CORPUS, make_settings
    from webapp import create_app

    folder = tmp_path / "corpus"
    folder.mkdir()
    original = (CORPUS / "003_9ee0817c87de1d62.txt").read_text(encoding="utf-8")
    (folder / "003.txt").write_text(original, encoding="utf-8")
    (folder / "syndicated-copy.txt").write_text("Syndicated from Community Care\n\n" + original, encoding="utf-8")
    settings = make_settings(tmp_path / "data")
    assert run_ingest([folder], settings).duplicates == 1
    client = create_app({"TESTING": True, "KB_SETTINGS": settings}).test_client()
    shown = client.get("/api/search?q=reclaiming social work").get_json()["results"]
    assert len(shown) == 1
    first = client.get(f"/api/documents/{shown[0]['source_id']}").get_json()
    schema("Document", first)
    assert first["duplicate_of"] is None and len(first["alternates"]) == 1
    copy = client.get(first["alternates"][0]["page_url"].replace("/documents/", "/api/documents/")).get_json()
    schema("Document", copy)
    assert copy["duplicate_of"]["source_id"] == first["source_id"] and copy["alternates"] == []


def test_council_json_is_what_the_page_shows(client, schema):
    data = client.get("/api/councils/hackney").get_json()
    schema("CouncilDetail", data)
    assert (data["slug"], data["name"], data["page_url"]) == ("hackney", "Hackney", "/councils/hackney")
    assert [p["slug"] for p in data["led_projects"]] == data["projects"] == ["reclaiming-social-work"]
    assert data["source_count"] == len(data["sources"]) == 1 and data["sources"][0]["evidence"]
    page = unescape(client.get("/councils/hackney").get_data(as_text=True))
    assert all(s["title"] in page for s in data["sources"])
    assert all(p["name"] in page for p in data["led_projects"] + data["mentioned_projects"])


def test_theme_json_is_what_the_page_shows(client, schema):
    data = client.get("/api/themes/practice-models").get_json()
    schema("ThemeDetail", data)
    assert data["id"] == "practice-models" and data["name"] == data["label"]
    assert {"reclaiming-social-work", "signs-of-safety"} <= {p["slug"] for p in data["projects"]}
    assert data["source_count"] == len(data["sources"]) >= 1 and all(s["reason"] for s in data["sources"])
    assert sum(data["by_year"].values()) <= data["source_count"]
    page = unescape(client.get("/themes/practice-models").get_data(as_text=True))
    assert all(s["title"] in page for s in data["sources"])
    listed = next(t for t in client.get("/api/themes").get_json()["themes"] if t["id"] == "practice-models")
    assert listed["source_count"] == data["source_count"]


@pytest.mark.parametrize("url", ["/api/documents/nope", "/api/councils/nowhere", "/api/themes/nothing",
                                 "/api/projects/nope", "/api/documents/nope/related"])
def test_unknown_things_are_json_404(client, schema, url):
    response = client.get(url)
    assert response.status_code == 404
    schema("Error", response.get_json())


def _objects(value, path=""):
    """Every JSON object inside ``value``, with where it is."""
    if isinstance(value, dict):
        yield path, value
        for key, inner in value.items():
            yield from _objects(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _objects(inner, f"{path}[{i}]")


def test_one_vocabulary_across_the_api(client):
    """``url`` is the original publication or null, ``page_url`` ours, counts are numbers, ``sources``
    lists, and anything with a ``title`` or ``label`` has the same ``name``."""
    source_id = _source_id(client, "Reclaiming Social Work Hackney")
    urls = ["/api/search?q=social work", "/api/search?council=hackney", "/api/suggest?q=reclaim",
            "/api/projects", "/api/projects/reclaiming-social-work", "/api/councils", "/api/councils/hackney",
            "/api/themes", "/api/themes/practice-models", f"/api/documents/{source_id}",
            f"/api/documents/{source_id}/related"]
    seen: set[str] = set()
    for url in urls:
        for path, obj in _objects(client.get(url).get_json()):
            seen.update(obj)
            where = (url, path)
            if not re.search(r"\.(links|facets|provenance|by_year)\b", path):  # external links; maps of figures
                assert obj.get("url") is None or re.match(r"https?://", obj["url"]), where
                for name in ("title", "label"):
                    if name in obj and "citation" not in path:
                        assert obj.get("name") == obj[name], where
            for key in ("page_url", "passage_url"):
                if obj.get(key) is not None:
                    assert obj[key].startswith("/") and client.get(obj[key]).status_code == 200, where
            if "source_count" in obj:
                assert isinstance(obj["source_count"], int), where
            if "sources" in obj and ".facets" not in path:
                assert isinstance(obj["sources"], list), where
    assert {"source_id", "passage_id", "page_url", "source_count", "score", "ordinal"} <= seen
    assert "similarity" in seen  # the published alias of score in /related is kept


def test_search_keeps_the_contract_names_beside_the_new_ones(client):
    data = client.get("/api/search", query_string={"q": "power to innovate"}).get_json()
    result = data["results"][0]
    assert result["source_id"] == result["document_id"] and result["name"] == result["title"]
    passage = result["passages"][0]
    assert passage["passage_id"] == passage["chunk_id"] and "ordinal" in passage
    assert passage["page_url"].startswith(f"/documents/{result['source_id']}?passage={passage['ordinal']}")


def test_project_sources_use_ordinal_and_keep_passage(client, schema):
    data = client.get("/api/projects/reclaiming-social-work").get_json()
    schema("ProjectDetail", data)
    source = data["sources"][0]
    assert source["ordinal"] == source["passage"] is not None
    assert source["url"] is None or source["url"].startswith("http")
    assert source["page_url"] == f"/documents/{source['source_id']}"
    assert data["source_count"] == len(data["sources"])


def test_a_misspelt_template_variable_fails_loudly(app):
    from flask import render_template_string

    with app.test_request_context("/"):
        with pytest.raises(UndefinedError):
            render_template_string("{{ recrod.title }}")
        # GOV.UK's macros read optional parameters that are absent; that stays allowed inside them.
        html = render_template_string('{% from "govuk_frontend_jinja/components/back-link/macro.html" '
                                      'import govukBackLink %}{{ govukBackLink({"text": "Back", "href": "/"}) }}')
        assert 'href="/"' in html


def test_a_theme_says_why_each_source_has_it_and_the_passage_shows_it(client, schema):
    """"tagged because: …" on the theme page and the source page: the opening of a paragraph about the theme,
    read back through the API from the passage it links to."""
    data = client.get("/api/themes/funding-commissioning").get_json()
    schema("ThemeDetail", data)
    assert data["source_count"] == len(data["sources"]) >= 2
    page = unescape(client.get("/themes/funding-commissioning").get_data(as_text=True))
    words = re.sub(r"<[^>]+>", "", page)
    for source in data["sources"]:
        assert source["evidence"] and f"tagged because: “{source['evidence']}”" in words
        assert f'href="{source["evidence_url"]}"' in page, "the quote links to its passage"
        ordinal = int(parse_qs(urlsplit(source["evidence_url"]).query)["passage"][0])
        document = client.get(f"/api/documents/{source['document_id']}").get_json()
        held = next(p for p in document["passages"] if p["ordinal"] == ordinal)
        assert source["evidence"].rstrip("…") in " ".join(document["text"][held["start"]:held["end"]].split())
        tag = next(t for t in document["themes"] if t["id"] == "funding-commissioning")
        assert (tag["evidence"], tag["evidence_url"]) == (source["evidence"], source["evidence_url"])
        assert source["evidence"] in unescape(client.get(source["page_url"]).get_data(as_text=True))
