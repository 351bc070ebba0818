"""Every format the sector publishes in, from fixtures the tests generate, through the real pipeline."""

from __future__ import annotations

import pytest

from index.browse.catalogue import Browse
from index.search.searcher import Searcher
from index.storage import open_generation
from ingest.run import run_ingest
from tests.conftest import make_settings
from tests.helpers import failures_by_file_name, sources_by_file_name
from tests.ingest import fixtures

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def formats_settings(tmp_path_factory):
    return make_settings(tmp_path_factory.mktemp("formats") / "data")


@pytest.fixture(scope="module")
def formats_index(formats_settings):
    folder = formats_settings.data_dir.parent
    files = fixtures.write_all(folder / "in")
    bad = folder / "in" / "bad"
    bad.mkdir()
    fixtures.make_encrypted_pdf(files["report.pdf"], bad / "locked.pdf")
    fixtures.make_blank_pdf(bad / "scanned.pdf")
    (bad / "truncated.pdf").write_bytes(files["report.pdf"].read_bytes()[:400])
    fixtures.make_zip_bomb(bad / "bomb.docx")
    (bad / "laughs.rss").write_text(fixtures.BILLION_LAUGHS)
    (bad / "empty.docx").write_bytes(b"")
    report = run_ingest([folder / "in"], formats_settings)
    generation = open_generation(formats_settings)
    return report, generation, Searcher(formats_settings, generation)


def test_bad_files_are_reported_by_name_and_the_batch_lands(formats_index):
    report, generation, _ = formats_index
    failed = failures_by_file_name(report.failures)
    assert "encrypted" in failed["locked.pdf"]
    assert "no text layer" in failed["scanned.pdf"]
    assert "truncated.pdf" in failed
    assert "zip bomb" in failed["bomb.docx"]
    assert "entities" in failed["laughs.rss"]
    assert "empty" in failed["empty.docx"]
    assert "binary" in failed["junk.txt"]
    assert generation.store.count_sources() >= 12


def test_pdf_pages_and_metadata(formats_index):
    _, generation, searcher = formats_index
    record = sources_by_file_name(generation.store)["report.pdf"]
    assert record.title == "Evaluation of the Hertfordshire Family Safeguarding model"
    assert record.provenance["title"] == "embedded"
    # The PDF's Author field names an organisation the text never names: not cited as its author.
    assert record.authors == () and record.publisher is None
    assert "'Rees Centre' from the file's metadata: an organisation the text does not name" in \
        record.provenance["authors_rejected"]
    assert record.type == "report"
    response = searcher.search("days in care fell by almost half")
    top = response.results[0]
    assert top.source.endswith("report.pdf")
    assert top.passages[0].page in (1, 2)
    pages = {p.meta.get("page") for p in generation.store.source_passages(record.id)}
    assert pages <= {1, 2, 3} and 1 in pages


def test_docx_text_tables_and_properties(formats_index):
    _, generation, searcher = formats_index
    record = sources_by_file_name(generation.store)["mockingbird.docx"]
    assert record.title == "Mockingbird family model: interim report"
    # Word's creator names an organisation the document's text never names: refused, with the reason kept.
    assert record.authors == () and "'The Fostering Network'" in record.provenance["authors_rejected"]
    assert "Placement stability; Improved in constellations" in record.content
    assert searcher.search("hub home carer respite").results[0].document_id == record.id


def test_html_main_content_and_metadata(formats_index):
    _, generation, searcher = formats_index
    record = sources_by_file_name(generation.store)["article.html"]
    assert record.title == "Family group conferencing keeps teenagers at home"
    assert record.url == "https://news.example.org/fgc-teenagers"
    assert record.date == "2017-03-14" and record.publisher == "Example News"
    assert record.authors == ("Priya Shah",)
    assert "Leave a Reply" not in record.content and "Share this" not in record.content
    assert searcher.search("family group conferencing Leeds").results[0].document_id == record.id


def test_feed_entries_are_sources_with_links(formats_index):
    _, generation, searcher = formats_index
    sources = sources_by_file_name(generation.store)
    entry = sources["https://blog.example.org/reclaiming"]
    assert entry.title == "Reclaiming social work in Hackney, ten years on"
    assert entry.date == "2016-07-05" and entry.url == "https://blog.example.org/reclaiming"
    assert "consultant social worker" in entry.content
    signs = sources["https://blog.example.org/signs-of-safety"]
    assert "strengths-based" in signs.content, "the saved entry page replaces the teaser"
    atom = sources["https://research.example.org/no-wrong-door"]
    assert atom.authors == ("Sam Lee",) and atom.date == "2017-06-01"
    assert searcher.search("No Wrong Door hubs").results[0].document_id == atom.id


@pytest.mark.parametrize("name", ["story-v1.json", "story-page.json", "story-list.json", "story-old.json",
                                  "story-saved.html"])
def test_storify_every_shape_cites_tweets(formats_index, name):
    _, generation, _ = formats_index
    record = sources_by_file_name(generation.store)[name]
    assert record.type == "storify"
    # The same thread exported twice is a near-duplicate: its passages live with the original.
    passages = generation.store.source_passages(record.duplicate_of or record.id)
    citations = [c for p in passages for c in p.meta.get("citations", [])]
    by_url = {c["url"]: c for c in citations}
    tweet = by_url["https://twitter.com/socialworktutor/status/1002"]
    assert tweet["author"] == "@socialworktutor"
    assert tweet["date"].startswith("2016-10-05")
    assert all(p.meta.get("citation") for p in passages)


def test_storify_search_result_carries_citation(formats_index):
    _, _, searcher = formats_index
    response = searcher.search("care leavers were not asked about the innovation clause")
    top = response.results[0]
    assert top.type == "storify"
    citation = top.passages[0].citation
    assert citation["author"].startswith("@") and citation["url"].startswith("https://twitter.com/")


def test_markdown_front_matter_and_windows_text(formats_index):
    _, generation, _ = formats_index
    sources = sources_by_file_name(generation.store)
    notes = sources["notes.md"]
    assert (notes.title, notes.date, notes.type) == ("Practice notes on kinship care", "2018-02-01", "blog")
    assert notes.authors == ("Ali Khan",) and "---" not in notes.content
    assert "Café meetings in Kingston’s family hubs" in sources["windows.txt"].content


def test_the_same_thread_in_two_exports_is_one_result(formats_index):
    _, generation, searcher = formats_index
    sources = sources_by_file_name(generation.store)
    page, bare = sources["story-page.json"], sources["story-list.json"]
    assert {page.duplicate_of, bare.duplicate_of} - {None}, "one is marked a copy"
    response = searcher.search("care leavers were not asked about the innovation clause", top_k=20)
    ids = [r.document_id for r in response.results]
    assert not (page.id in ids and bare.id in ids)


def test_result_page_shows_pdf_page_and_tweet_citation(formats_index, formats_settings):
    from webapp import create_app

    client = create_app({"TESTING": True, "KB_SETTINGS": formats_settings}).test_client()
    page = client.get("/search", query_string={"q": "days in care fell by almost half"}).get_data(as_text=True)
    assert '<p class="govuk-body-s app-result__meta">Page ' in page
    page = client.get("/search", query_string={"q": "care leavers were not asked"}).get_data(as_text=True)
    assert "@CareLeaverVoice, <time" in page and "5 Oct 2016" in page
    assert 'href="https://twitter.com/CareLeaverVoice/status/1003"' in page
    api = client.get("/api/search", query_string={"q": "care leavers were not asked"}).get_json()
    assert api["results"][0]["passages"][0]["citation"]["url"].startswith("https://twitter.com/")


def test_related_documents_leave_out_copies(formats_index):
    _, generation, _ = formats_index
    sources = sources_by_file_name(generation.store)
    page, bare = sources["story-page.json"], sources["story-list.json"]
    for one, other in ((page, bare), (bare, page)):
        related = [record.id for record, _ in Browse(generation).related_documents(one.id, k=50)]
        assert one.id not in related and other.id not in related
        assert related, "other sources are still related"
