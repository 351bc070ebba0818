"""Dense retrieval against the plain model: a sentence-transformers-style encode of each whole document
("title text", truncated by the model at 256 word pieces) in a FAISS flat index, beside the dense units
our ingest could make (passages with or without their title, windows, smaller passages).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_plain_dense.py \
        [--collections cisi,scifact,msmarco-5k] [--cache /work/eval-data/plain-cache] \
        [--ours /work/eval-logs] [--timing 200]

Every vector is made by our ONNX fp32 embedder (the same vectors as sentence-transformers to about 1e-6,
docs/benchmarks.md) and kept in ``<cache>/embeddings.sqlite`` by text, so a rerun embeds nothing new.
Passage variants are scored as the serving path scores a source (index/ranking.py step 7): the best
``candidates`` passages by inner product, a source's score its best passage + 0.1 × its second.
``--ours DIR`` prints the dense figure of ``kb eval`` read from ``DIR/base-<name>.json`` beside them.
A collection name is looked for in ../shared/eval/ first, then in eval/. Figures: docs/ranking.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from haystack import Document

from index import offline  # noqa: F401
from index.embedding.encoders import QueryEmbedder, model_dir
from index.embedding.onnx_encoder import OnnxDocumentEmbedder
from index.evaluation import evaluate, judged_queries, read_qrels, read_queries
from index.search import query as query_module
from index.search.ranking import SECOND_PASSAGE_WEIGHT
from index.settings import load_settings
from ingest.dense_text import dense_text
from ingest.embed_cache import CachedDocumentEmbedder
from ingest.split import split_passages

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = 100


def parsed(text: str) -> str:
    """The text the serving path embeds for a query (its words and phrases), without the length limits the
    serving path has today (another change lifts them): the figures are about the model, not the limits."""
    limit = query_module.MAX_TERMS
    query_module.MAX_TERMS = 10**6  # type: ignore[misc]
    try:
        return query_module.parse_query(text, max_chars=10**6).dense_text()
    finally:
        query_module.MAX_TERMS = limit  # type: ignore[misc]


def find_collection(name: str) -> Path:
    for base in (ROOT.parent / "shared" / "eval", Path("/work/shared/eval"), ROOT / "eval"):
        if (base / name / "corpus.jsonl").is_file():
            return base / name
    raise SystemExit(f"No collection {name!r} in ../shared/eval or eval/; give one of their folder names.")


class Vectors:
    """Normalised vectors of texts, embedded once by ONNX fp32 and kept on disk by text."""

    def __init__(self, cache: Path, model: str, tag: str = "fp32") -> None:
        inner = OnnxDocumentEmbedder(model, cache_dir=str(cache / "onnx"), variant="fp32", batch_size=32)
        self.cached = CachedDocumentEmbedder(inner, cache / "embeddings.sqlite", f"plain-dense/{tag}")

    def __call__(self, texts: list[str]) -> np.ndarray:
        unique = list(dict.fromkeys(texts))
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(unique), 2000):
            docs = self.cached.run(documents=[Document(content=t) for t in unique[start : start + 2000]])["documents"]
            out.update((d.content or "", np.asarray(d.embedding, dtype=np.float32)) for d in docs)
        return np.stack([out[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)


def search(doc_vectors: np.ndarray, owners: list[str], queries: np.ndarray, qids: list[str], depth: int,
           grouped: bool) -> dict[str, list[tuple[str, float]]]:
    """A FAISS flat inner-product search; ``grouped`` scores each source by best + 0.1 × second passage."""
    import faiss

    index = faiss.IndexFlatIP(doc_vectors.shape[1])
    index.add(doc_vectors)
    scores, rows = index.search(queries, depth)
    run: dict[str, list[tuple[str, float]]] = {}
    for qid, srow, rrow in zip(qids, scores, rows, strict=True):
        best: dict[str, list[float]] = {}
        for score, row in zip(srow, rrow, strict=True):
            if row >= 0:
                best.setdefault(owners[row], []).append(float(score))
        ranked = [(doc, s[0] + (SECOND_PASSAGE_WEIGHT * s[1] if grouped and len(s) > 1 else 0.0))
                  for doc, s in best.items()]
        ranked.sort(key=lambda x: -x[1])
        run[qid] = ranked[:100]
    return run


def windows(text: str, size: int) -> list[str]:
    words = text.split()
    return [" ".join(words[i : i + size]) for i in range(0, max(len(words), 1), size)]


def passage_units(records: list[dict[str, str]], min_words: int, max_words: int, overlap: int, title: bool,
                  window: int = 0, fit: bool = False, separator: str = ": ") -> tuple[list[list[str]], list[str]]:
    """Per passage the texts whose vectors make it (one, or its windows), and the passage's source id."""
    units: list[list[str]] = []
    owners: list[str] = []
    for rec in records:
        text = rec["text"]
        for span in split_passages(text, min_words, max_words, overlap, fit_rest=fit):
            passage = text[span.start : span.end]
            pieces = windows(passage, window) if window else [passage]
            units.append([dense_text(p, rec["title"] if title else "", separator) for p in pieces])
            owners.append(rec["_id"])
    return units, owners


def pooled(vectors: Vectors, units: list[list[str]]) -> np.ndarray:
    flat = vectors([t for unit in units for t in unit])
    out = np.zeros((len(units), flat.shape[1]), dtype=np.float32)
    i = 0
    for n, unit in enumerate(units):
        mean = flat[i : i + len(unit)].mean(axis=0)
        out[n] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        i += len(unit)
    return out


def median_ms(encode: Callable[[str], object], texts: list[str]) -> float:
    for text in texts[:5]:
        encode(text + " warm")
    times = []
    for text in texts:
        start = time.perf_counter()
        encode(text)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def sizes(name: str, records: list[dict[str, str]], tokenizer: object) -> None:
    """Passage sizes and overlap under the old and the new packing, and how many the model truncates."""
    median = statistics.median(len(r["text"].split()) for r in records)
    print(f"\n{name}: docs {len(records)}, median words {median:.0f}")
    print("| packing | passages | per doc | median words | overlap words / passage words | over 256 word pieces |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, fit in (("150-250, overlap 40 (before)", False),
                       ("150-250, overlap 40, rest kept whole if it fits", True)):
        words: list[int] = []
        overlap = 0
        texts: list[str] = []
        for rec in records:
            spans = split_passages(rec["text"], 150, 250, 40, fit_rest=fit)
            words += [s.words for s in spans]
            overlap += sum(max(0, len(rec["text"][b.start : a.end].split())) for a, b in itertools.pairwise(spans)
                           if b.start < a.end)
            texts += [dense_text(rec["text"][s.start : s.end], rec["title"], " ") for s in spans]
        pieces = tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]  # type: ignore[operator]
        long = sum(len(p) > 256 for p in pieces)
        print(f"| {label} | {len(words)} | {len(words) / len(records):.2f} | {statistics.median(words):.0f} | "
              f"{overlap / sum(words):.3f} | {long} ({long / len(words):.1%}) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections", default="cisi,scifact,msmarco-5k")
    parser.add_argument("--cache", default="/work/eval-data/plain-cache")
    parser.add_argument("--ours", default="", help="folder of base-<name>.json written by kb eval --json")
    parser.add_argument("--variants", default="", help="variant names separated by semicolons (default: all)")
    parser.add_argument("--sizes", action="store_true", help="only print passage sizes (no embedding)")
    parser.add_argument("--timing", type=int, default=0, help="time the query encoders on this many queries")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    settings = load_settings(env={})
    model = str(model_dir(settings))
    cache = Path(args.cache)
    vectors = Vectors(cache, model)
    onnx_query = OnnxDocumentEmbedder(model, cache_dir=str(cache / "onnx"), variant="fp32", threads=1)
    int8 = QueryEmbedder(model, quantize=True, threads=1, cache_size=0)
    # name → (min words, max words, overlap, title in the dense text, window words (0: whole passage),
    # the rest of a text kept whole when it fits in max words, what joins title and text)
    variants: dict[str, tuple[int, int, int, bool, int, bool, str]] = {
        "passages, no title (before)": (150, 250, 40, False, 0, False, ""),
        "passages, title: text": (150, 250, 40, True, 0, False, ": "),
        "passages, title, mean of 128-word windows": (150, 250, 40, True, 128, False, ": "),
        "passages 80-128 words, title": (80, 128, 20, True, 0, False, ": "),
        "passages 250-400 words, title (whole abstract)": (250, 400, 40, True, 0, False, ": "),
        "passages, rest kept whole when it fits, title: text": (150, 250, 40, True, 0, True, ": "),
        "passages, rest kept whole when it fits, title text": (150, 250, 40, True, 0, True, " "),
        "passages, rest kept whole when it fits, no title": (150, 250, 40, False, 0, True, ""),
    }
    wanted = [v.strip() for v in args.variants.split(";") if v.strip()] or list(variants)
    for name in args.collections.split(","):
        folder = find_collection(name)
        records = []
        for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").split("\n"):
            if line.strip():
                row = json.loads(line)
                records.append({"_id": str(row["_id"]), "title": str(row.get("title") or ""),
                                "text": str(row.get("text") or "")})
        if args.sizes:
            from transformers import AutoTokenizer

            sizes(name, records, AutoTokenizer.from_pretrained(model, local_files_only=True))
            continue
        qrels = read_qrels(folder / "qrels" / "test.tsv")
        queries = judged_queries(read_queries(folder / "queries.jsonl"), qrels)
        qids = list(queries)
        started = time.perf_counter()
        q_raw = vectors([queries[q] for q in qids])
        q_parsed = vectors([parsed(queries[q]) for q in qids])
        q_int8 = np.stack([np.asarray(int8.embed(parsed(queries[q])),
                                      dtype=np.float32) for q in qids])
        rows: list[tuple[str, dict[str, float]]] = []
        plain = vectors([f"{r['title']} {r['text']}".strip() for r in records])
        owners = [r["_id"] for r in records]
        rows.append(("plain: whole doc \"title text\", flat index", evaluate(qrels, search(
            plain, owners, q_raw, qids, 100, grouped=False), qids)))
        if args.ours:
            ours_file = Path(args.ours) / f"base-{name}.json"
            if ours_file.is_file() and ours_file.stat().st_size:
                ours = json.loads(ours_file.read_text(encoding="utf-8"))
                rows.append((f"kb eval dense (before; {len(ours.get('failed_queries') or {})} queries refused)",
                             ours["methods"]["dense"]))
        for variant in wanted:
            lo, hi, overlap, title, window, fit, separator = variants[variant]
            units, powners = passage_units(records, lo, hi, overlap, title, window, fit, separator)
            pv = pooled(vectors, units)
            if variant == wanted[0]:
                words = [len(u[0].split()) for u in units]
                print(f"{name}: {len(records)} docs, {len(units)} passages of {lo}-{hi} words "
                      f"(median {statistics.median(words):.0f}, max {max(words)})")
            for label, qv in (("query fp32", q_raw), ("parsed query fp32", q_parsed), ("parsed query int8", q_int8)):
                if label != "query fp32" and variant != wanted[0]:
                    continue
                rows.append((f"{variant}; {label}", evaluate(qrels, search(pv, powners, qv, qids, CANDIDATES,
                                                                          grouped=True), qids)))
        print(f"\n### {name} ({len(qids)} judged queries; {time.perf_counter() - started:.0f} s)\n")
        print("| dense | nDCG@10 | Recall@100 |\n| --- | ---: | ---: |")
        for label, scores in rows:
            print(f"| {label} | {scores.ndcg10:.4f} | {scores.recall100:.4f} |")
        sys.stdout.flush()
        if args.timing:
            texts = [parsed(queries[q]) for q in qids][: args.timing]
            fp32_torch = QueryEmbedder(model, quantize=False, threads=1, cache_size=0)
            t_int8 = median_ms(int8.embed, texts)
            t_fp32 = median_ms(fp32_torch.embed, texts)
            t_onnx = median_ms(lambda t: onnx_query.embed([t]), texts)
            print(f"\nquery encoder, median ms per query over {len(texts)} {name} queries, 1 thread: torch int8 "
                  f"{t_int8:.2f}, torch fp32 {t_fp32:.2f} ({t_fp32 / t_int8:.2f}x), ONNX fp32 {t_onnx:.2f} "
                  f"({t_onnx / t_int8:.2f}x)")


if __name__ == "__main__":
    main()
