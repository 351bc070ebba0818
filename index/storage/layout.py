"""Where things are on disk, declared once: a data directory and the files of one generation.

Layout::

    <data dir>/generations/<id>/      one published generation (local backend): the files below
    <data dir>/CURRENT                id of the live generation (written to a temp file, then renamed)
    <data dir>/lock                   one writer at a time (flock)
    <data dir>/cache/embeddings.sqlite (model, sha256 of text) -> vector
    <data dir>/cache/onnx/            the ONNX export of the embedding model
    <data dir>/runs/<id>.json         what each run did (local backend)
    <data dir>/builds/                a PostgreSQL writer's scratch builds
    <data dir>/postgresql-mirror/<id>/ a PostgreSQL writer's copy of the live generation it published (the files
                                      below), from which its next build and schema are derived

A generation's files (the PostgreSQL backend keeps the small ones in its ``files`` table)::

    chunks.sqlite  vectors.faiss  lexical/  manifest.json
    projects.json  councils.json  pages.json  source_vectors.npy  vocabulary.json  boilerplate.json
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CHUNKS_FILE = "chunks.sqlite"
VECTORS_FILE = "vectors.faiss"
# The tantivy index of passages (index/storage/local/lexical.py); generations without it search with FTS5.
LEXICAL_DIR = "lexical"
MANIFEST_FILE = "manifest.json"
PROJECTS_FILE = "projects.json"
COUNCILS_FILE = "councils.json"
# What the browse and search pages need from all sources, computed when the generation is built (index/browse/pages.py).
PAGES_FILE = "pages.json"
SOURCE_VECTORS_FILE = "source_vectors.npy"
# The generation's own words, for spelling suggestions (index/search/vocabulary.py).
VOCABULARY_FILE = "vocabulary.json"
# Text each publisher repeats, learned at build time (ingest/boilerplate.py).
BOILERPLATE_FILE = "boilerplate.json"


@dataclass(frozen=True)
class DataLayout:
    """The paths of one data directory."""

    root: Path

    @classmethod
    def of(cls, root: str | Path) -> DataLayout:
        return cls(Path(root))

    @property
    def generations(self) -> Path:
        return self.root / "generations"

    @property
    def current_file(self) -> Path:
        return self.root / "CURRENT"

    @property
    def lock_file(self) -> Path:
        return self.root / "lock"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def embedding_cache(self) -> Path:
        return self.cache / "embeddings.sqlite"

    @property
    def onnx_cache(self) -> Path:
        return self.cache / "onnx"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def builds(self) -> Path:
        return self.root / "builds"

    @property
    def mirror(self) -> Path:
        return self.root / "postgresql-mirror"
