"""The optional cross-encoder stage: clear errors for a wrong directory, and a real re-ranking."""

from __future__ import annotations

import pytest

from index.errors import SettingsError
from index.search.ranking import RERANKED_FLOOR
from index.search.rerank import check_cross_encoder_dir
from tests.conftest import make_settings


@pytest.mark.unit
def test_wrong_directories_are_named(tmp_path):
    with pytest.raises(SettingsError, match=r"is not a directory.*or to '' to turn re-ranking off"):
        check_cross_encoder_dir(tmp_path / "nowhere")
    with pytest.raises(SettingsError, match=r"no config\.json"):
        check_cross_encoder_dir(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(SettingsError, match="no model weights"):
        check_cross_encoder_dir(tmp_path)


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory):
    """A real cross-encoder: the MiniLM weights with a fresh one-label head (its judgements are
    meaningless; the test checks the plumbing, that its scores decide the order)."""
    from sentence_transformers import CrossEncoder

    from index.embedding.encoders import model_dir

    target = tmp_path_factory.mktemp("cross-encoder")
    CrossEncoder(str(model_dir(make_settings(target))), num_labels=1).save(str(target))
    return target


@pytest.mark.integration
def test_searcher_orders_top_passages_by_the_cross_encoder(corpus_settings, cross_encoder_dir):
    from sentence_transformers import CrossEncoder

    from index.search.searcher import Searcher
    from index.storage import open_generation

    settings = corpus_settings.replace(rerank_model=str(cross_encoder_dir), rerank_depth=5)
    response = Searcher(settings, open_generation(settings)).search("adolescents edge of care", top_k=3)
    model = CrossEncoder(str(cross_encoder_dir))
    best = [r.passages[0] for r in response.results]
    # predict() applies the model's sigmoid, as the ranker does.
    expected = [RERANKED_FLOOR + float(s) for s in model.predict([("adolescents edge of care", p.text) for p in best])]
    assert [p.score for p in best] == pytest.approx(expected, abs=1e-4)
    assert [r.score for r in response.results] == sorted((r.score for r in response.results), reverse=True)


@pytest.mark.integration
def test_searcher_refuses_a_wrong_rerank_dir(corpus_settings, tmp_path):
    from index.search.searcher import Searcher
    from index.storage import open_generation

    settings = corpus_settings.replace(rerank_model=str(tmp_path))
    with pytest.raises(SettingsError, match=r"no config\.json"):
        Searcher(settings, open_generation(settings))
