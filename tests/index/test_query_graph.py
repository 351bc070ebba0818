"""The query encoder on ONNX Runtime: the graph a build exports, its vectors against sentence-transformers',
which graph a generation serves with, and a server process without torch."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.embedding import onnx_encoder
from index.embedding.encoders import QueryEmbedder, model_dir, query_embedder, query_graph_file
from index.storage import open_generation

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not onnx_encoder.available(), reason="onnxruntime is not installed")]

ROOT = Path(__file__).resolve().parents[2]


def real_texts() -> list[str]:
    """csc-seeds' queries and passages (real text), and short, long and empty texts."""
    seeds = ROOT / "eval" / "csc-seeds"
    queries = [json.loads(line)["text"] for line in (seeds / "queries.jsonl").read_text().splitlines() if line]
    passages = [json.loads(line)["text"] for line in (seeds / "corpus.jsonl").read_text().splitlines() if line]
    return [*queries[:20], *passages[:5], " ".join(passages[:4]), "LADO", "", "  edge  of care  "]


def test_built_generation_names_its_query_graph(local_corpus_settings):
    generation = open_generation(local_corpus_settings)
    graph, why_not = query_graph_file(local_corpus_settings, generation.manifest)
    assert graph is not None and why_not == ""
    assert graph.parent.name == generation.manifest.query_graph and graph.is_file()
    assert query_embedder(local_corpus_settings, generation.manifest).engine == "onnx"


def test_onnx_query_vectors_are_sentence_transformers_vectors(local_corpus_settings):
    """Queries must land where the passages were embedded (fp32, sentence-transformers' model)."""
    from sentence_transformers import SentenceTransformer

    generation = open_generation(local_corpus_settings)
    onnx = query_embedder(local_corpus_settings, generation.manifest)
    texts = real_texts()
    ours = np.asarray([onnx.embed(t) for t in texts], dtype=np.float32)
    reference = SentenceTransformer(str(model_dir(local_corpus_settings)), device="cpu").encode(
        texts, normalize_embeddings=True, convert_to_numpy=True, batch_size=1)
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() >= 0.999, dict(zip(texts, cosines.round(5).tolist(), strict=True))
    # The old torch int8 encoder, for contrast: what serving used to give (0.91 at worst in docs/ranking.md).
    int8 = QueryEmbedder(str(model_dir(local_corpus_settings)), quantize=True)
    assert min(float(np.dot(int8.embed(t), r)) for t, r in zip(texts, reference, strict=True)) < 0.999


def test_generations_without_a_usable_graph_fall_back_to_torch_and_say_why(local_corpus_settings, tmp_path):
    manifest = open_generation(local_corpus_settings).manifest
    old = dataclasses.replace(manifest, query_graph="")
    graph, why_not = query_graph_file(local_corpus_settings, old)
    assert graph is None and "built without an exported query graph" in why_not
    assert query_embedder(local_corpus_settings, old).engine == "torch"
    # A replica's (or a cleaned) data directory without the graph the generation names.
    elsewhere = local_corpus_settings.replace(data_dir=str(tmp_path))
    graph, why_not = query_graph_file(elsewhere, manifest)
    assert graph is None and "is missing from" in why_not
    # A damaged copy: its checksum no longer matches.
    folder = tmp_path / "cache" / "onnx" / manifest.query_graph
    folder.mkdir(parents=True)
    source = Path(local_corpus_settings.data_dir) / "cache" / "onnx" / manifest.query_graph
    (folder / "export.json").write_text((source / "export.json").read_text())
    (folder / "model.onnx").write_bytes(b"truncated")
    assert query_graph_file(elsewhere, manifest)[0] is None
    assert query_embedder(elsewhere, manifest).engine == "torch"


SERVE_A_SEARCH = """
import json, sys
from index.settings import load_settings
from webapp.server import keep_torch_out
settings = load_settings(env={}, overrides={"data_dir": sys.argv[1], "canaries": ""})
kept_out = keep_torch_out(settings)
from webapp import create_app
app = create_app({"KB_SETTINGS": settings})
answer = app.test_client().get("/api/search?q=adolescents+edge+of+care").get_json()
handle = app.extensions["kb_index"]
print(json.dumps({"kept_out": kept_out, "engine": handle.embedder.engine, "results": answer["total"],
                  "loaded": sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules)}))
"""


def test_serving_a_search_imports_neither_torch_nor_sentence_transformers(local_corpus_settings):
    done = subprocess.run([sys.executable, "-c", SERVE_A_SEARCH, str(local_corpus_settings.data_dir)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["kept_out"] and seen["engine"] == "onnx" and seen["results"] > 0
    assert seen["loaded"] == [], seen


def test_without_the_graph_a_server_lets_torch_in_and_still_answers(local_corpus_settings, tmp_path):
    """An older generation (no graph named) is served by the torch fallback, not refused."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(local_corpus_settings.data_dir, data, ignore=shutil.ignore_patterns("onnx"))
    done = subprocess.run([sys.executable, "-c", SERVE_A_SEARCH, str(data)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["engine"] == "torch" and seen["results"] > 0 and "torch" in seen["loaded"]
    assert "is missing from" in done.stderr
