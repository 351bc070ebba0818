"""Fixtures of the web app's tests."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from jsonschema import Draft202012Validator


@pytest.fixture(scope="module")
def schema():
    """``schema(name, data)`` validates ``data`` against the OpenAPI document's component ``name``."""
    spec = json.loads(resources.files("webapp").joinpath("openapi.json").read_text())

    def validate(name, data):
        Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": spec["components"]}).validate(data)

    return validate
