"""The ingest pipelines (Haystack): files in, cleaned source documents and tagged, embedded passages out.

Two pipelines, because publisher boilerplate is learned across documents between them
(``ingest/boilerplate.py``): *read* converts files and re-reads their layout; *index* removes
the boilerplate, cleans, resolves metadata, splits, embeds and tags. They write nothing: the
build (``ingest/build.py``) derives each source's record from their outputs and writes the new
generation once.

Usage::

    read = build_read_pipeline().run({"router": {"sources": files}})["layout"]["documents"]
    result = build_index_pipeline(settings, learn(read)).run({"boilerplate": {"documents": read}},
                                                             include_outputs_from={"metadata", "tagger"})
    result["metadata"]["documents"]   # one per source: cleaned text and metadata
    result["tagger"]["documents"]     # its passages, embedded and tagged
"""

from __future__ import annotations

from haystack import Pipeline
from haystack.components.joiners import DocumentJoiner

from index.embedding.encoders import document_embedder, embedding_cache_id, model_dir
from index.settings import Settings
from index.storage.layout import DataLayout
from ingest.boilerplate import BoilerplateStripper, LearnedBoilerplate
from ingest.clean import BoilerplateCleaner
from ingest.embed_cache import CachedDocumentEmbedder
from ingest.extract import TextMetadataExtractor
from ingest.formats import FORMATS
from ingest.layout import LayoutReader
from ingest.metadata import MetadataResolver
from ingest.router import FormatRouter
from ingest.split import PassageSplitter
from ingest.tagging import PassageTagger
from ingest.templates import TemplateReader


def build_read_pipeline(force_format: str | None = None) -> Pipeline:
    """Read files: router → converters → joiner → extract → templates → layout.

    :param force_format: read every file as this format (``kb ingest --format``) instead of detecting it.
    """
    pipeline = Pipeline()
    pipeline.add_component("router", FormatRouter(force_format))
    pipeline.add_component("joiner", DocumentJoiner(join_mode="concatenate"))
    for name, fmt in FORMATS.items():
        pipeline.add_component(f"convert_{name}", fmt.converter())
        pipeline.connect(f"router.{name}", f"convert_{name}.sources")
        pipeline.connect(f"convert_{name}.documents", "joiner.documents")
    pipeline.add_component("extract", TextMetadataExtractor())
    pipeline.add_component("templates", TemplateReader())
    pipeline.add_component("layout", LayoutReader())
    pipeline.connect("joiner.documents", "extract.documents")
    pipeline.connect("extract.documents", "templates.documents")
    pipeline.connect("templates.documents", "layout.documents")
    return pipeline


def build_index_pipeline(settings: Settings, boilerplate: LearnedBoilerplate | None = None,
                         progress: bool = False) -> Pipeline:
    """Index read documents: boilerplate → cleaner → metadata → split → embed → tag.

    :param boilerplate: publisher boilerplate to remove (``ingest/boilerplate.py``).
    """
    layout = DataLayout.of(settings.data_dir)
    layout.cache.mkdir(parents=True, exist_ok=True)
    pipeline = Pipeline()
    pipeline.add_component("boilerplate", BoilerplateStripper((boilerplate or LearnedBoilerplate()).to_json()))
    pipeline.add_component("cleaner", BoilerplateCleaner())
    pipeline.add_component("metadata", MetadataResolver())
    pipeline.add_component("splitter", PassageSplitter(settings.chunk_min_words, settings.chunk_max_words,
                                                       settings.chunk_overlap_words))
    embedder = CachedDocumentEmbedder(document_embedder(settings, progress_bar=progress), layout.embedding_cache,
                                      embedding_cache_id(settings), dense_title=settings.dense_title)
    pipeline.add_component("embedder", embedder)
    tagger = PassageTagger(model=str(model_dir(settings)))
    # One model in the ingest (the cache's own counts stay the passages'); a pipeline loaded from YAML loads its own.
    tagger.use_embedder(embedder.embedder)
    pipeline.add_component("tagger", tagger)
    pipeline.connect("boilerplate.documents", "cleaner.documents")
    pipeline.connect("cleaner.documents", "metadata.documents")
    pipeline.connect("metadata.documents", "splitter.documents")
    pipeline.connect("splitter.documents", "embedder.documents")
    pipeline.connect("embedder.documents", "tagger.documents")
    return pipeline


def pipeline_modules() -> list[str]:
    """Modules whose components an ingest pipeline YAML may name (Haystack refuses others on load)."""
    converters = sorted({fmt.converter.__module__ for fmt in FORMATS.values()})
    return ["ingest.pipeline", "ingest.router", "ingest.clean", "ingest.extract", "ingest.metadata", "ingest.split",
            "ingest.embed_cache", "index.embedding.onnx_encoder", "ingest.tagging", "ingest.templates", "ingest.layout",
            "ingest.boilerplate", *converters]
