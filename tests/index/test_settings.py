import re
from pathlib import Path

import pytest

from index.errors import SettingsError
from index.settings import SETTINGS, Settings, load_settings

pytestmark = pytest.mark.unit
DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_every_setting_is_documented_as_declared():
    text = DOCS.read_text(encoding="utf-8")
    documented = re.findall(r"^\| `(\w+)` \|", text, re.M)
    assert documented == [s.name for s in SETTINGS], "docs/settings.md lists the settings in declaration order"
    for setting in SETTINGS:
        assert setting.help
        row = f"| `{setting.name}` | `{setting.default}` | {setting.help} |"
        assert row in text, f"docs/settings.md: the row for {setting.name} must read {row}"


def test_defaults_load_as_declared():
    assert load_settings(env={}) == Settings()


@pytest.mark.parametrize("name, value, message", [
    ("rrf_k", 0, "'rrf_k' must be at least 1, got 0"),
    ("port", 70000, "'port' must be between 1 and 65535, got 70000"),
    ("proximity_boost", 1.5, "'proximity_boost' must be between 0 and 1, got 1.5"),
    ("fusion", "magic", "'fusion' must be one of weighted, rrf, dense, lexical, got 'magic'"),
    ("chunk_overlap_words", 150, "below 'chunk_min_words'"),
    ("embedding_backend", "cuda", "'embedding_backend' must be one of onnx, onnx-int8, torch, got 'cuda'"),
])
def test_declared_bounds_are_checked(name, value, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings().replace(**{name: value})


def test_precedence_file_then_env_then_flags(tmp_path):
    config = tmp_path / "kb.toml"
    config.write_text('top_k = 7\nfusion = "rrf"\ndense_weight = 0.3\n')
    s = load_settings(config, env={"KB_TOP_K": "8"}, overrides={"dense_weight": 0.9, "port": None})
    assert (s.top_k, s.fusion, s.dense_weight, s.port) == (8, "rrf", 0.9, 5000)


@pytest.mark.parametrize("env, message", [
    ({"KB_TOP_K": "ten"}, "must be int"),
    ({"KB_TOP_K": "0"}, "at least 1"),
    ({"KB_FUSION": "magic"}, "must be one of"),
    ({"KB_DENSE_WEIGHT": "1.5"}, "between 0 and 1"),
    ({"KB_CHUNK_MIN_WORDS": "300"}, "must not exceed"),
])
def test_bad_values_are_named(env, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(env=env)


def test_bad_config_file(tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("colour = 'blue'\n")
    with pytest.raises(SettingsError, match="unknown settings: colour"):
        load_settings(bad, env={})
