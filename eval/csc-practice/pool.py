"""Pool the top documents of several systems for every query of eval/csc-practice, for judging.

Run from the repository root, after ``eval/csc-reports/extract.py`` has written the plain texts::

    PYTHONPATH=$PWD .venv/bin/python eval/csc-practice/pool.py /tmp/qset-data /tmp/qset-texts \
        eval/csc-practice/pool.json

Systems (each gives its top ``DEPTH`` file stems per query):

- ``lexical``, ``dense``, ``production``: the project's own methods, run exactly as ``kb eval`` runs
  them (``kbcli.evaluate.METHODS``: fusion method and whether the cross-encoder runs), over the
  index in DATA_DIR (a copy of the whole-corpora index; read only), each ranked source mapped to the
  stems of its file and of any byte-identical copies (``kbcli.evaluate.by_file_stem``), as kb eval
  scores it.
- ``bm25``: plain BM25 (bm25s, k1 1.2, b 0.75, English stopwords, Snowball stemmer) over the whole
  extracted text of each document, one document per file stem; independent of our index.

The output is ``{query id: {system: [stem, ...]}}``; the pool of a query is the union of its lists.
The methods' order is not used in judging (the judging reads the documents, not the ranks).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DEPTH = 20


def project_runs(data_dir: Path, queries: dict[str, str]) -> dict[str, dict[str, list[str]]]:
    from index.evaluation import run_queries
    from index.search.searcher import Searcher
    from index.settings import load_settings
    from index.storage import open_generation
    from kbcli.evaluate import METHODS, by_file_stem, source_stems

    settings = load_settings(overrides={"data_dir": data_dir}).replace(data_dir=data_dir, canaries="")
    generation = open_generation(settings)
    searcher = Searcher(settings, generation)
    out: dict[str, dict[str, list[str]]] = {}
    try:
        for name in ("lexical", "dense", "production"):
            fusion, rerank = METHODS[name]
            # Deeper than DEPTH: several sources of one file collapse into one stem.
            run, failed = run_queries(searcher, queries, 100, fusion=fusion, rerank=rerank)
            for qid, reason in failed.items():
                print(f"{name} {qid}: could not search ({reason})", file=sys.stderr)
            ids = {sid for ranked in run.values() for sid, _ in ranked}
            stemmed = by_file_stem(run, source_stems(generation.store, ids))
            for qid in queries:
                out.setdefault(qid, {})[name] = [stem for stem, _ in stemmed.get(qid, [])[:DEPTH]]
            print(f"{name}: done", file=sys.stderr)
    finally:
        generation.store.close()
    return out


def bm25_runs(texts_dir: Path, queries: dict[str, str]) -> dict[str, list[str]]:
    import bm25s
    import Stemmer

    paths = sorted(texts_dir.glob("*.txt"))
    stems = [p.stem for p in paths]
    texts = [p.read_text(encoding="utf-8") for p in paths]
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25(k1=1.2, b=0.75)
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    out: dict[str, list[str]] = {}
    for qid, text in queries.items():
        tokens = bm25s.tokenize([text], stopwords="en", stemmer=stemmer, show_progress=False)
        found, scores = retriever.retrieve(tokens, k=DEPTH, show_progress=False, n_threads=1)
        out[qid] = [stems[i] for i, s in zip(found[0], scores[0], strict=True) if s > 0]
    return out


def main(data_dir: Path, texts_dir: Path, target: Path) -> None:
    here = Path(__file__).resolve().parent
    queries = {}
    for line in (here / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            queries[row["_id"]] = row["text"]
    pool = project_runs(data_dir, queries)
    for qid, ranked in bm25_runs(texts_dir, queries).items():
        pool[qid]["bm25"] = ranked
    target.write_text(json.dumps(pool, indent=1) + "\n", encoding="utf-8")
    sizes = [len({s for ranked in systems.values() for s in ranked}) for systems in pool.values()]
    print(f"{len(pool)} queries; {sum(sizes)} pooled (query, document) pairs; written to {target}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: pool.py DATA_DIR TEXTS_DIR OUTPUT_JSON")
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
