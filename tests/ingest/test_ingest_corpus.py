"""Ingest of the sample corpus with the real model, FAISS and SQLite."""

import json

import pytest

from index.errors import IngestError
from index.storage import open_generation
from index.storage.local.datadir import DataDir
from ingest.run import run_ingest
from tests.conftest import CORPUS, make_settings
from tests.helpers import corpus_sources_by_number, failures_by_file_name, file_name, sources_by_file_name

pytestmark = pytest.mark.integration

# Lines of site chrome in the raw sample files that must never reach a passage.
BOILERPLATE = [
    "Register Now to Continue Reading", "Thank you for visiting Children & Young People Now", "Already have an account",
    "subscriber-only articles", "Email newsletter providing advice", "What's Included", "Fill in your details below",
    "You are commenting using", "Connecting to %s", "Akismet", "Twitter picture", "Facebook photo",
    "COMMENTS can be added here", "Home Page", "Tags :", "appeared first on Community Care", "Show more",
    "photo-credit", "cc-by-nc", "Written by Chief Executive", "Read Storify:", "To read at source", "Log Out",
    "Read: Evaluation summaries",
]


def test_sample_corpus_is_indexed_with_sidecar_metadata(corpus_settings):
    generation = open_generation(corpus_settings)
    store = generation.store
    assert generation.manifest.sources == store.count_sources() == 5
    assert generation.manifest.passages == store.count_documents() > 5
    assert generation.manifest.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    records = sources_by_file_name(store)
    minister = records["003_9ee0817c87de1d62.txt"]
    assert (minister.publisher, minister.date, minister.type) == ("Community Care", "2014-02-12", "article")
    assert minister.provenance["date"] == "sidecar"
    assert records["004_7b87d5ffdc1c3793.txt"].title.startswith("Innovation, Opportunities and Egos")
    assert records["000_63df589784a0696f.txt"].authors == ("Anthony Douglas",)


def test_passages_keep_offsets_into_the_cleaned_text(corpus_settings):
    store = open_generation(corpus_settings).store
    for source_id in store.source_ids():
        text = store.get_source(source_id).content
        passages = store.source_passages(source_id)
        assert passages
        for p in passages:
            assert text[p.meta["start"] : p.meta["end"]] == p.content
            assert p.meta["words"] <= corpus_settings.chunk_max_words


def test_vectors_are_normalised_and_searchable(corpus_settings):
    import numpy as np

    store = open_generation(corpus_settings).store
    docs = store.filter_documents()
    norms = np.linalg.norm(np.asarray([d.embedding for d in docs]), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-4)
    nearest = store.embedding_retrieval(docs[3].embedding, top_k=1)
    assert nearest[0].id == docs[3].id


def test_boilerplate_never_reaches_a_passage(corpus_settings):
    store = open_generation(corpus_settings).store
    passages = [d.content for d in store.filter_documents()]
    for phrase in BOILERPLATE:
        offenders = [p[:80] for p in passages if phrase.lower() in p.lower()]
        assert not offenders, f"{phrase!r} is in passages {offenders}"


def test_bad_files_are_reported_and_the_batch_still_lands(corpus_copy, tmp_path):
    (corpus_copy / "junk.txt").write_bytes(b"\x00\x01\x02binary\x00" * 50)
    (corpus_copy / "empty.txt").write_bytes(b"")
    (corpus_copy / "table.xyz").write_text("unsupported")
    (corpus_copy / "latin1.txt").write_bytes("Café culture in Kingston’s family hubs".encode("cp1252"))
    (corpus_copy / "latin1.txt.meta.json").write_text("{not json")
    settings = make_settings(tmp_path / "data")
    report = run_ingest([corpus_copy], settings)
    failed = failures_by_file_name(report.failures)
    assert set(failed) == {"junk.txt", "empty.txt", "table.xyz", "latin1.txt"}
    assert "binary" in failed["junk.txt"] and "empty" in failed["empty.txt"]
    assert "not valid JSON" in failed["latin1.txt"]
    assert report.sources == 5
    run_report = json.loads((DataDir(settings.data_dir).runs / f"{report.run_id}.json").read_text())
    assert len(run_report["failures"]) == 4


def test_nothing_already_indexed_is_lost(tmp_path, corpus_copy):
    settings = make_settings(tmp_path / "data")
    first = run_ingest([corpus_copy], settings)
    live = DataDir(settings.data_dir).current_id()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bad.txt").write_bytes(b"\x00" * 10)
    with pytest.raises(IngestError, match="Nothing could be indexed"):
        run_ingest([broken], settings)
    assert DataDir(settings.data_dir).current_id() == live
    (broken / "new.txt").write_text("Family group conferencing in Leeds helped teenagers stay at home. " * 5)
    second = run_ingest([broken], settings)
    assert second.sources == first.sources + 1
    assert second.carried_sources == first.sources
    # Only the new file's passage is embedded; the carried sources' passages count as reused.
    assert second.passages_embedded == 1 and second.passages_reused == first.passages
    third = run_ingest([corpus_copy / "003_9ee0817c87de1d62.txt"], settings)
    assert third.passages_embedded == 0, "unchanged text is not embedded again"


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(IngestError, match="does not exist"):
        run_ingest([tmp_path / "nope"], make_settings(tmp_path / "data"))


def test_pipeline_round_trips_through_yaml(tmp_path):
    from haystack import Pipeline

    from ingest.boilerplate import learn
    from ingest.pipeline import build_index_pipeline, build_read_pipeline, pipeline_modules

    read = Pipeline.loads(build_read_pipeline().dumps(), allowed_modules=pipeline_modules())
    documents = read.run({"router": {"sources": [CORPUS / "004_7b87d5ffdc1c3793.txt"]}})["layout"]["documents"]
    index = build_index_pipeline(make_settings(tmp_path / "data"), learn(documents))
    loaded = Pipeline.loads(index.dumps(), allowed_modules=pipeline_modules())
    result = loaded.run({"boilerplate": {"documents": documents}}, include_outputs_from={"metadata", "tagger"})
    assert len(result["metadata"]["documents"]) == 1
    passages = result["tagger"]["documents"]
    assert len(passages) > 1
    assert all(len(d.embedding) == 384 and "themes" in d.meta for d in passages)


def test_without_sidecars_dates_and_authors_come_from_the_text(tmp_path, corpus_copy):
    for sidecar in corpus_copy.glob("*.meta.json"):
        sidecar.unlink()
    settings = make_settings(tmp_path / "data")
    run_ingest([corpus_copy], settings)
    store = open_generation(settings).store
    records = corpus_sources_by_number(store)
    assert records["004"].date == "2016-04-26" and records["004"].provenance["date"] == "text"
    assert records["001"].date == "2016-09-23"
    assert records["003"].date == "2014-02-12"
    assert records["000"].authors == ("Anthony Douglas",)
    assert records["004"].title.startswith("Innovation, Opportunities and Egos")


def test_sources_and_passages_carry_council_and_theme_tags(corpus_settings):
    store = open_generation(corpus_settings).store
    records = corpus_sources_by_number(store)
    minister = records["003"]
    assert {"Hackney", "Staffordshire", "Doncaster", "Richmond upon Thames"} <= set(minister.council_names)
    assert "adolescents-edge-of-care" in minister.theme_ids
    tag = next(t for t in minister.tags.themes if t.id == "adolescents-edge-of-care")
    assert tag.reason == "1 paragraph about it"
    # The evidence is the opening of that paragraph, and the passage it names holds it.
    assert tag.evidence.startswith("We also have an opportunity to make a big difference with adolescents")
    held = next(p for p in store.source_passages(minister.id) if p.meta["ordinal"] == tag.passage)
    assert tag.evidence.rstrip("…") in " ".join(held.content.split())
    assert records["004"].council_names == ("Trafford",)
    assert "Reading" not in records["002"].council_names
    passage = next(p for p in store.source_passages(minister.id) if "Hackney" in p.content)
    assert "Hackney" in passage.meta["councils"]


def test_syndicated_copy_is_folded_into_the_original(tmp_path, corpus_copy):
    original = (corpus_copy / "003_9ee0817c87de1d62.txt").read_text(encoding="utf-8")
    copy = "Syndicated from Community Care\n\n" + original.replace("I urge you", "We urge you")
    (corpus_copy / "syndicated-copy.txt").write_text(copy, encoding="utf-8")
    settings = make_settings(tmp_path / "data")
    report = run_ingest([corpus_copy], settings)
    assert report.duplicates == 1
    generation = open_generation(settings)
    from index.search.searcher import Searcher

    response = Searcher(settings, generation).search("reclaiming social work Hackney")
    names = [file_name(r.source) for r in response.results]
    assert sum(n.startswith(("003_", "syndicated")) for n in names) == 1
    canonical = next(r for r in response.results if file_name(r.source).startswith("003_"))
    record = generation.store.get_source(canonical.document_id)
    assert [file_name(a.source) for a in record.alternates] == ["syndicated-copy.txt"]


def test_test_collections_are_never_folded(tmp_path):
    collection = tmp_path / "corpus.jsonl"
    text = "Family group conferences bring the wider family together to plan for a child's safety and care. " * 3
    collection.write_text("\n".join(json.dumps({"_id": str(i), "title": "", "text": text}) for i in range(3)))
    settings = make_settings(tmp_path / "data")
    report = run_ingest([collection], settings)
    assert report.duplicates == 0
    assert report.sources == 3 and report.passages == 3
