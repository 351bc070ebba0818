"""What the embedding model reads for a passage: "title text" for a real title, never a placeholder."""

from __future__ import annotations

import json

import pytest
from haystack import Document, component

from ingest.converters.beir import BeirConverter
from ingest.dense_text import dense_text, real_title
from ingest.embed_cache import CachedDocumentEmbedder
from ingest.metadata import MetadataResolver
from ingest.split import PassageSplitter

pytestmark = pytest.mark.unit


@component
class RecordingEmbedder:
    """Records the texts it is given; the vector only tells texts apart (no meaning needed here)."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def warm_up(self) -> None:
        pass

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        self.texts += [d.content or "" for d in documents]
        return {"documents": [Document(content=d.content, embedding=[float(len(d.content or "")), 1.0])
                              for d in documents]}


def passages_of(tmp_path, rows: list[dict[str, str]]) -> list[Document]:
    corpus = tmp_path / "scifacts" / "corpus.jsonl"
    corpus.parent.mkdir()
    corpus.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    read = BeirConverter().run(sources=[corpus])["documents"]
    resolved = MetadataResolver().run(documents=read)["documents"]
    return PassageSplitter(150, 250, 40).run(documents=resolved)["documents"]


def test_title_prefix_and_its_exceptions():
    assert dense_text("Placements were stable.", "Fostering in England") == \
        "Fostering in England Placements were stable."
    assert dense_text("Placements were stable.", "") == "Placements were stable."
    assert dense_text("Placements were stable.", None) == "Placements were stable."
    # A first passage that opens with its title (a title read from the text) does not repeat it.
    assert dense_text("Fostering in England\nPlacements were stable.", "fostering  in England") == \
        "Fostering in England\nPlacements were stable."


def test_only_a_title_a_person_wrote_is_real():
    assert real_title({"title": "Edge of care", "provenance": {"title": "embedded"}}) == "Edge of care"
    assert real_title({"title": "Edge of care", "provenance": {"title": "sidecar"}}) == "Edge of care"
    assert real_title({"title": "report-2019", "provenance": {"title": "default"}}) == ""
    assert real_title({"title": "scifact 12", "provenance": {"title": "embedded"}, "title_placeholder": True}) == ""


def test_beir_placeholder_title_is_never_searched_or_embedded(tmp_path):
    passages = passages_of(tmp_path, [
        {"_id": "1", "title": "Microglia in ageing", "text": "Cells were counted in every sample."},
        {"_id": "2", "title": "", "text": "Resistance falls as the temperature rises."},
    ])
    by_id = {p.meta["source_id"]: p for p in passages}
    assert by_id["1"].meta["title"] == by_id["1"].meta["dense_title"] == "Microglia in ageing"
    # The untitled record is listed under a placeholder name, but its passages carry no title to search
    # (the lexical index reads a passage's title from this field) and none to embed.
    assert by_id["2"].meta["title"] == ""
    assert "dense_title" not in by_id["2"].meta


def test_embedder_reads_title_and_text_only_when_asked(tmp_path):
    passages = passages_of(tmp_path, [
        {"_id": "1", "title": "Microglia in ageing", "text": "Cells were counted in every sample."},
        {"_id": "2", "title": "", "text": "Resistance falls as the temperature rises."},
    ])
    inner = RecordingEmbedder()
    titled = CachedDocumentEmbedder(inner, tmp_path / "cache.sqlite", "m", dense_title=True)
    out = titled.run(documents=passages)["documents"]
    assert sorted(inner.texts) == ["Microglia in ageing Cells were counted in every sample.",
                                   "Resistance falls as the temperature rises."]
    # The passages keep their own text; only the vector saw the title.
    assert [d.content for d in out] == [p.content for p in passages]
    vectors = {d.meta["source_id"]: d.embedding for d in out}
    assert vectors["1"] == [float(len("Microglia in ageing Cells were counted in every sample.")), 1.0]
    assert vectors["2"] == [float(len("Resistance falls as the temperature rises.")), 1.0]

    inner_plain = RecordingEmbedder()
    plain = CachedDocumentEmbedder(inner_plain, tmp_path / "cache.sqlite", "m", dense_title=False)
    plain.run(documents=passages)
    # Without the title the text differs, so the cached "title text" vector is not reused for it.
    assert inner_plain.texts == ["Cells were counted in every sample."]
    assert (plain.hits, plain.misses) == (1, 1)
    again = CachedDocumentEmbedder(RecordingEmbedder(), tmp_path / "cache.sqlite", "m", dense_title=True)
    again.run(documents=passages)
    assert (again.hits, again.misses) == (2, 0)


def test_only_a_short_sources_passages_carry_its_title(tmp_path):
    """A long report's passages all share its title: embedded with each, it made them (and every similarly
    titled report) alike, so only a source of at most DENSE_TITLE_MAX_PASSAGES passages carries it."""
    from ingest.split import DENSE_TITLE_MAX_PASSAGES

    sentence = "Social workers visited the family each week and wrote down what changed. "
    long_text = sentence * (25 * (DENSE_TITLE_MAX_PASSAGES + 1))
    passages = passages_of(tmp_path, [
        {"_id": "short", "title": "Fostering in Dorset", "text": sentence * 3},
        {"_id": "long", "title": "Inspection of children's services", "text": long_text},
    ])
    short = [p for p in passages if p.meta["source_id"] == "short"]
    long = [p for p in passages if p.meta["source_id"] == "long"]
    assert len(short) == 1 and short[0].meta["dense_title"] == "Fostering in Dorset"
    assert len(long) > DENSE_TITLE_MAX_PASSAGES
    assert all("dense_title" not in p.meta for p in long)
    assert all(p.meta["title"] == "Inspection of children's services" for p in long), "still searched by title"
