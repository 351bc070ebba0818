"""Two `kb serve` replicas over one PostgreSQL, 20 concurrent clients for 60 s, a re-index published in the middle
(benchmarks/bench_replicas.py on the tests' corpus): no failed request, the same answers from both."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.conftest import CORPUS, ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_replicas", ROOT / "benchmarks" / "bench_replicas.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_replicas"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_two_replicas_serve_through_a_live_reindex(tmp_path):
    result = _bench().run(CORPUS, duration=60, clients=20, workers=2, workdir=tmp_path)
    assert result.errors == 0, result.error_samples
    assert result.requests > 100
    assert len(result.generations_seen) == 2 and result.first_generation != result.published_generation
    assert result.by_phase["after"]["served"] > 0, "both generations were served"
    assert result.final_generations == [result.published_generation] * 2, "both replicas moved on, unrestarted"
    assert result.compared >= 10 and result.disagreements == 0, "the same answers from both for one generation"
