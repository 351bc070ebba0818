"""``kb eval``: ingest a BEIR collection, search its queries with each ranking method, score them.

Usage::

    report = run_eval(Path("eval/csc-seeds"), settings)
    print(scores_table(report.methods))
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from index.errors import IndexNotFoundError
from index.evaluation import CollectionError, evaluate, judged_queries, read_qrels, read_queries, run_queries, summary
from index.settings import Settings

# name → (fusion method, or None for the production setting; whether the cross-encoder runs)
METHODS: dict[str, tuple[str | None, bool]] = {
    "lexical": ("lexical", False),
    "dense": ("dense", False),
    "rrf": ("rrf", False),
    "weighted": ("weighted", False),
    "production": (None, True),
}
DEFAULT_METHODS = ("lexical", "dense", "production")
# Deep enough for Recall@100.
DEPTH = 100


@dataclass
class EvalReport:
    dataset: str
    split: str
    index: str
    queries: int
    judged_queries: int
    methods: dict[str, dict[str, float]]
    summary: dict[str, Any]
    settings: dict[str, Any]
    failed_queries: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def collection_files(dataset: Path, split: str) -> tuple[Path, Path, Path]:
    """The corpus, queries and qrels files of a BEIR folder.

    :raises CollectionError: naming the missing file.
    """
    files = (dataset / "corpus.jsonl", dataset / "queries.jsonl", dataset / "qrels" / f"{split}.tsv")
    for path in files:
        if not path.is_file():
            raise CollectionError(f"{path} is missing; a BEIR folder holds corpus.jsonl, queries.jsonl and "
                                  f"qrels/{split}.tsv.")
    return files


@contextlib.contextmanager
def _index_dir(data_dir: Path | None) -> Iterator[Path]:
    if data_dir is not None:
        yield data_dir
        return
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        yield Path(tmp)


def run_eval(dataset: Path, settings: Settings, data_dir: Path | None = None, split: str = "test",
             methods: Sequence[str] = DEFAULT_METHODS, progress: bool = False) -> EvalReport:
    """Score each ranking method on a BEIR collection.

    With ``data_dir``, an index already there is used as it is (so repeated runs skip the
    ingest); an empty one is filled. Without, the collection is ingested into a temporary index.

    :raises CollectionError: for a missing or unreadable collection file or an unknown method.
    """
    from index.generations import open_generation
    from index.search import Searcher
    from ingest.run import run_ingest

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise CollectionError(f"Unknown method {unknown[0]!r}; use some of {', '.join(METHODS)}.")
    started = time.perf_counter()
    corpus, queries_file, qrels_file = collection_files(dataset, split)
    queries = read_queries(queries_file)
    qrels = read_qrels(qrels_file)
    judged = judged_queries(queries, qrels)
    if not judged:
        raise CollectionError(f"No query in {queries_file} has a relevant judgement in {qrels_file}; "
                              "check that their query ids match.")
    with _index_dir(data_dir) as directory:
        index_settings = settings.replace(data_dir=directory, canaries="")
        try:
            generation = open_generation(index_settings)
        except IndexNotFoundError:
            run_ingest([corpus], index_settings, progress=progress, replace=True, force_format="beir")
            generation = open_generation(index_settings)
        searcher = Searcher(index_settings, generation)
        results: dict[str, dict[str, float]] = {}
        failed: dict[str, str] = {}
        for name in methods:
            fusion, rerank = METHODS[name]
            run, failed_now = run_queries(searcher, judged, DEPTH, fusion=fusion, rerank=rerank, progress=progress)
            failed.update(failed_now)
            results[name] = evaluate(qrels, run, judged)
        generation.store.close()
    shown = ("fusion", "dense_weight", "rrf_k", "proximity_boost", "query_int8", "candidates", "rerank_model")
    return EvalReport(
        dataset=str(dataset), split=split, index=str(data_dir) if data_dir else "temporary", queries=len(queries),
        judged_queries=len(judged), methods=results, summary=summary(results),
        settings={k: settings.as_dict()[k] for k in shown}, failed_queries=failed,
        seconds=round(time.perf_counter() - started, 1),
    )
