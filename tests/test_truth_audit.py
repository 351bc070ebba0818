"""The truth audit (benchmarks/audit_truth.py, issue 23) on the tests' corpus: every set, facet count, "why"
statement and label the search gives is true of the sources' text, read back through the API."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

_AUDIT = Path(__file__).parents[1] / "benchmarks" / "audit_truth.py"
_SPEC = importlib.util.spec_from_file_location("audit_truth", _AUDIT)
assert _SPEC and _SPEC.loader
audit_truth = importlib.util.module_from_spec(_SPEC)
sys.modules["audit_truth"] = audit_truth  # its dataclasses look their module up
_SPEC.loader.exec_module(audit_truth)


def test_what_the_search_says_holds_for_the_sources(client):
    def get(path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        response = client.get(path, query_string=params)
        return response.status_code, response.get_json() or {}

    checks = audit_truth.audit(get, words=12, queries=("adolescents edge of care", "what works for children in care",
                                           "teenagers at risk of going into care", "LAC outcomes"), page_size=2)
    for check in checks.values():
        assert check.total > 0, check.name
        assert not check.failures, (check.name, check.failures[:5])
