"""The theme taxonomy (``index/data/themes.json``): shared by the ingest, which tags passages with
it, and the web app, which shows the labels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Theme:
    id: str
    label: str
    description: str
    keywords: tuple[str, ...]
    # Phrases that hold a keyword but are not the theme ("child and adolescent mental health" is not
    # adolescents on the edge of care; "a position of trust" is not a children's trust).
    exclude: tuple[str, ...] = ()


@cache
def themes() -> tuple[Theme, ...]:
    data = json.loads(resources.files("index").joinpath("data", "themes.json").read_text(encoding="utf-8"))
    return tuple(Theme(t["id"], t["label"], t["description"], tuple(t["keywords"]), tuple(t.get("exclude", ())))
                 for t in data)


@cache
def theme_labels() -> dict[str, str]:
    return {t.id: t.label for t in themes()}
