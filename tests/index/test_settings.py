import re
from pathlib import Path

import pytest

from index.errors import SettingsError
from index.settings import SETTINGS, Settings, load_settings

pytestmark = pytest.mark.unit
DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_every_setting_is_documented_with_its_default():
    text = DOCS.read_text(encoding="utf-8")
    for setting in SETTINGS:
        row = re.search(rf"^\| `{setting.name}` \| `([^`]*)` \|", text, re.M)
        assert row, f"docs/settings.md has no row for {setting.name}"
        assert row.group(1) == str(setting.default)
        assert setting.help


def test_table_and_dataclass_agree():
    assert [s.name for s in SETTINGS] == list(Settings.__dataclass_fields__)
    defaults = load_settings(env={})
    for s in SETTINGS:
        assert str(getattr(defaults, s.name)) == str(s.default)


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
