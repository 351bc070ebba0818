"""``kb eval``: ingest a BEIR collection, search its queries with each ranking method, score them.

Two kinds of collection:

- a BEIR folder (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``): each corpus record
  is a source whose document id is its ``_id``;
- queries and qrels over a folder of files (``files=``): the folder is ingested as ``kb ingest``
  reads it (PDF, Word, Markdown, ...), and each ranked source is scored as the *stem* of the file
  it came from (``dorset_2021-11-19`` for ``.../dorset_2021-11-19.pdf``), so judgements are
  written by file name and every source of one file counts as that file.

Usage::

    report = run_eval(Path("eval/csc-seeds"), settings)
    report = run_eval(Path("eval/csc-reports"), settings, files=Path("../shared/corpora"))
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
from index.evaluation import (
    CollectionError,
    Comparison,
    Run,
    Scores,
    evaluate,
    judged_queries,
    per_query_ndcg,
    read_qrels,
    read_queries,
    run_queries,
    strictly_decreasing,
    summary,
)
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
    methods: dict[str, Scores]
    summary: Comparison | None
    settings: dict[str, Any]
    failed_queries: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    files: str | None = None  # the folder of documents, in files mode
    unmatched_judgements: list[str] = field(default_factory=list)  # judged stems no indexed file has
    # {kind: {method: scores}} when queries.jsonl gives each query a "kind" (known-item, topic, ...)
    by_kind: dict[str, dict[str, Scores]] = field(default_factory=dict)
    # {method: {query id: nDCG@10}} over every judged query, for paired tests between runs
    # (benchmarks/compare_eval.py); and each judged query's kind, when queries.jsonl gives one.
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``kb eval --json``: each method's scores keyed by the measures' printed names, as before they were typed."""
        data = asdict(self)
        data["methods"] = {name: scores.to_dict() for name, scores in self.methods.items()}
        data["by_kind"] = {kind: {name: scores.to_dict() for name, scores in methods.items()}
                           for kind, methods in self.by_kind.items()}
        return data


def collection_files(dataset: Path, split: str, with_corpus: bool = True) -> tuple[Path | None, Path, Path]:
    """The corpus (None when ``with_corpus`` is false), queries and qrels files of a collection folder.

    :raises CollectionError: naming the missing file.
    """
    corpus = dataset / "corpus.jsonl" if with_corpus else None
    queries, qrels = dataset / "queries.jsonl", dataset / "qrels" / f"{split}.tsv"
    for path in (corpus, queries, qrels):
        if path is not None and not path.is_file():
            holds = "corpus.jsonl, queries.jsonl and" if with_corpus else "queries.jsonl and"
            raise CollectionError(f"{path} is missing; a collection folder holds {holds} qrels/{split}.tsv.")
    return corpus, queries, qrels


def file_stem(source: str) -> str:
    """The document id of a source in files mode: the stem of the file it came from (an entry of a
    feed or a page anchor, ``file.xml#3``, counts as its file)."""
    return Path(source.split("#", 1)[0]).stem


def by_file_stem(run: Run, stems: dict[str, list[str]]) -> Run:
    """A run of source ids as a run of file stems: each source becomes its stems (its own, then any
    byte-identical copies collapsed into it, so either copy counts), the first place a stem reaches
    is kept, and the scores are made strictly decreasing again."""
    out: Run = {}
    for qid, ranked in run.items():
        seen: set[str] = set()
        stemmed: list[tuple[str, float]] = []
        for source_id, score in ranked:
            for stem in stems.get(source_id, [source_id]):
                if stem not in seen:
                    seen.add(stem)
                    stemmed.append((stem, score))
        out[qid] = strictly_decreasing(stemmed)
    return out


def query_kinds(queries_file: Path) -> dict[str, str]:
    """``{query id: kind}`` from the optional ``"kind"`` field of a queries.jsonl (read_queries has
    already checked the file); empty when no query has one."""
    import json

    kinds: dict[str, str] = {}
    for line in queries_file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row.get("kind"):
                kinds[str(row["_id"])] = str(row["kind"])
    return kinds


def source_stems(store: Any, source_ids: set[str]) -> dict[str, list[str]]:
    from ingest.build import source_file

    records = store.get_sources(source_ids)
    return {sid: [file_stem(source_file(r))] + [file_stem(a.source) for a in r.alternates]
            for sid, r in records.items()}


def _indexed_stems(store: Any) -> set[str]:
    from ingest.build import source_file

    records = store.get_sources(store.source_ids())
    return {file_stem(source_file(r)) for r in records.values()}


@contextlib.contextmanager
def _index_dir(data_dir: Path | None) -> Iterator[Path]:
    if data_dir is not None:
        yield data_dir
        return
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        yield Path(tmp)


def run_eval(dataset: Path, settings: Settings, data_dir: Path | None = None, split: str = "test",
             methods: Sequence[str] = DEFAULT_METHODS, progress: bool = False, files: Path | None = None
             ) -> EvalReport:
    """Score each ranking method on a BEIR collection, or on queries and qrels over a folder of ``files``.

    With ``data_dir``, an index already there is used as it is (so repeated runs skip the
    ingest); an empty one is filled. Without, the collection is ingested into a temporary index.
    In files mode the qrels' document ids are file stems (see :func:`by_file_stem`).

    :raises CollectionError: for a missing or unreadable collection file, a missing folder of
        files, judgements naming no indexed file, or an unknown method.
    """
    from index.search.searcher import Searcher
    from index.storage import open_generation
    from ingest.run import run_ingest

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise CollectionError(f"Unknown method {unknown[0]!r}; use some of {', '.join(METHODS)}.")
    started = time.perf_counter()
    if files is not None and not files.is_dir():
        raise CollectionError(f"{files} is not a folder; --files names the folder of documents the qrels judge.")
    corpus, queries_file, qrels_file = collection_files(dataset, split, with_corpus=files is None)
    queries = read_queries(queries_file)
    qrels = read_qrels(qrels_file)
    judged = judged_queries(queries, qrels)
    kinds = query_kinds(queries_file)
    if not judged:
        raise CollectionError(f"No query in {queries_file} has a relevant judgement in {qrels_file}; "
                              "check that their query ids match.")
    with _index_dir(data_dir) as directory:
        index_settings = settings.replace(data_dir=directory, canaries="")
        try:
            generation = open_generation(index_settings)
        except IndexNotFoundError:
            if files is not None:
                run_ingest([files], index_settings, progress=progress, replace=True)
            elif corpus is not None:
                run_ingest([corpus], index_settings, progress=progress, replace=True, force_format="beir")
            generation = open_generation(index_settings)
        unmatched: list[str] = []
        if files is not None:
            indexed = _indexed_stems(generation.store)
            judged_ids = {doc for docs in qrels.values() for doc, grade in docs.items() if grade > 0}
            unmatched = sorted(judged_ids - indexed)
            if unmatched == sorted(judged_ids):
                generation.store.close()
                raise CollectionError(f"None of the documents {qrels_file} judges is a file of the index "
                                      f"(e.g. {unmatched[0]!r}); the qrels' corpus-id must be a file name without "
                                      "its extension, and --files the folder that holds those files.")
        searcher = Searcher(index_settings, generation)
        results: dict[str, Scores] = {}
        by_kind: dict[str, dict[str, Scores]] = {}
        per_query: dict[str, dict[str, float]] = {}
        failed: dict[str, str] = {}
        for name in methods:
            fusion, rerank = METHODS[name]
            run, failed_now = run_queries(searcher, judged, DEPTH, fusion=fusion, rerank=rerank, progress=progress)
            if files is not None:
                ids = {sid for ranked in run.values() for sid, _ in ranked}
                run = by_file_stem(run, source_stems(generation.store, ids))
            failed.update(failed_now)
            results[name] = evaluate(qrels, run, judged)
            per_query[name] = per_query_ndcg(qrels, run, judged)
            for kind in sorted({kinds[q] for q in judged if q in kinds}):
                by_kind.setdefault(kind, {})[name] = evaluate(qrels, run, [q for q in judged if kinds.get(q) == kind])
        generation.store.close()
    shown = ("fusion", "dense_weight", "rrf_k", "proximity_boost", "query_int8", "candidates", "rerank_model")
    return EvalReport(
        dataset=str(dataset), split=split, index=str(data_dir) if data_dir else "temporary", queries=len(queries),
        judged_queries=len(judged), methods=results, summary=summary(results),
        settings={k: settings.as_dict()[k] for k in shown}, failed_queries=failed,
        seconds=round(time.perf_counter() - started, 1), files=str(files) if files is not None else None,
        unmatched_judgements=unmatched, by_kind=by_kind, per_query=per_query,
        kinds={q: kinds[q] for q in judged if q in kinds},
    )
