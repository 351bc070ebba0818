"""Haystack filter syntax compiled to SQL over the passages table (``chunks``), so filtering happens before ranking.

Usage::

    sql, params = compile_filters({"field": "meta.type", "operator": "==", "value": "report"})
    conn.execute(f"SELECT id FROM chunks WHERE {sql}", params)

Semantics follow ``haystack.utils.filters.document_matches_filter``: comparisons with ``None``
match only ``==``/``!=``; ordering comparisons take numbers or ISO 8601 dates; ``in``/``not in``
take lists; ``NOT`` negates the conjunction of its conditions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from haystack.errors import FilterError

# meta.source_id is also a column of its own, indexed: facet filters select sources by it.
_COLUMNS = {"id": "c.id", "content": "c.content", "meta.source_id": "c.source_id"}
_ORDERING = {">": ">", ">=": ">=", "<": "<", "<=": "<="}


def compile_filters(filters: dict[str, Any] | None) -> tuple[str, list[Any]]:
    """Compile a Haystack filter to a SQL boolean expression and its parameters.

    :param filters: a Haystack filter dict, or None/empty for "everything".
    :returns: ``(sql, params)``; ``sql`` refers to the passages table as ``c``.
    :raises FilterError: for a malformed filter or a comparison the syntax does not allow.
    """
    if not filters:
        return "1", []
    if not isinstance(filters, dict):
        raise FilterError("Filters must be a dictionary.")
    params: list[Any] = []
    return _node(filters, params), params


def _node(node: dict[str, Any], params: list[Any],
          comparison: Callable[[dict[str, Any], list[Any]], str] | None = None, true: str = "1") -> str:
    """A logical node or a comparison (SQLite's by default; PostgreSQL's from :func:`compile_pg_filters`)."""
    comparison = comparison or _comparison
    if "field" in node:
        return comparison(node, params)
    if "operator" not in node:
        raise FilterError(f"Filter {node!r} has neither 'field' nor 'operator'.")
    if "conditions" not in node:
        raise FilterError(f"Logical filter {node!r} needs 'conditions'.")
    operator, conditions = node["operator"], node["conditions"]
    if not isinstance(conditions, list):
        raise FilterError("'conditions' must be a list.")
    parts = [_node(c, params, comparison, true) for c in conditions] or [true]
    if operator == "AND":
        return "(" + " AND ".join(parts) + ")"
    if operator == "OR":
        return "(" + " OR ".join(parts) + ")"
    if operator == "NOT":
        return "(NOT (" + " AND ".join(parts) + "))"
    raise FilterError(f"Unknown logical operator {operator!r}; use AND, OR or NOT.")


def _field_sql(field: str) -> str:
    if field in _COLUMNS:
        return _COLUMNS[field]
    name = field[5:] if field.startswith("meta.") else field
    path = "$." + ".".join(json.dumps(part) for part in name.split("."))
    return f"json_extract(c.meta, '{_escape_sql_string(path)}')"


def _escape_sql_string(text: str) -> str:
    return text.replace("'", "''")


def _compared(node: dict[str, Any]) -> tuple[str, Any, Any]:
    """A comparison's field, operator and value, checked the same way for both dialects."""
    for key in ("field", "operator", "value"):
        if key not in node:
            raise FilterError(f"Comparison filter {node!r} needs '{key}'.")
    field, operator, value = node["field"], node["operator"], node["value"]
    if not isinstance(field, str):
        raise FilterError(f"Filter field must be a string, got {field!r}.")
    return field, operator, value


def _comparison(node: dict[str, Any], params: list[Any]) -> str:
    field, operator, value = _compared(node)
    column = _field_sql(field)
    if operator == "==":
        if value is None:
            return f"({column} IS NULL)"
        params.append(_sql_value(value))
        return f"({column} IS ?)"
    if operator == "!=":
        if value is None:
            return f"({column} IS NOT NULL)"
        params.append(_sql_value(value))
        return f"({column} IS NOT ?)"
    if operator in _ORDERING:
        return _ordering(column, _ORDERING[operator], value, params)
    if operator in ("in", "not in"):
        if not isinstance(value, list):
            raise FilterError(f"Filter operator {operator!r} needs a list value, got {type(value).__name__}.")
        if not value:
            return "0" if operator == "in" else "1"
        params.extend(_sql_value(v) for v in value)
        marks = ", ".join("?" for _ in value)
        if operator == "in":
            return f"({column} IN ({marks}))"
        return f"({column} IS NULL OR {column} NOT IN ({marks}))"
    raise FilterError(f"Unknown comparison operator {operator!r}.")


def _ordering(column: str, op: str, value: Any, params: list[Any]) -> str:
    if value is None:
        return "0"
    if isinstance(value, (bool, list, dict, tuple)):
        raise FilterError(f"Filter operator {op!r} needs a number or an ISO 8601 date, got {value!r}.")
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise FilterError(f"Filter operator {op!r} needs a number or an ISO 8601 date, got {value!r}.") from None
        params.append(value)
        return f"(typeof({column}) = 'text' AND {column} {op} ?)"
    if isinstance(value, (int, float)):
        params.append(value)
        return f"(typeof({column}) IN ('integer', 'real') AND {column} {op} ?)"
    raise FilterError(f"Filter operator {op!r} cannot compare with {value!r}.")


def _sql_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, (str, int, float)):
        return value
    raise FilterError(f"Filter value {value!r} of type {type(value).__name__} is not supported.")


# -- PostgreSQL ------------------------------------------------------------------------------
# The same semantics over a generation's ``chunks`` table in PostgreSQL (``meta`` is jsonb): a meta
# field is compared as JSON, so 1 and "1" differ there as they do in Haystack's own matching.

_PG_COLUMNS = {"id": "c.id", "content": "c.content", "meta.source_id": "c.source_id"}


def compile_pg_filters(filters: dict[str, Any] | None) -> tuple[str, list[Any]]:
    """:func:`compile_filters` for PostgreSQL: ``(sql, params)`` with ``%s`` placeholders, passages as ``c``.

    :raises FilterError: as :func:`compile_filters`.
    """
    if not filters:
        return "TRUE", []
    if not isinstance(filters, dict):
        raise FilterError("Filters must be a dictionary.")
    params: list[Any] = []
    return _node(filters, params, _pg_comparison, "TRUE"), params


def _pg_comparison(node: dict[str, Any], params: list[Any]) -> str:
    # A comparison with a missing field is false, never unknown: NOT must turn it true, as in Haystack's matching.
    return f"COALESCE({_pg_compare(node, params)}, FALSE)"


def _pg_compare(node: dict[str, Any], params: list[Any]) -> str:
    field, operator, value = _compared(node)
    if operator not in ("==", "!=", "in", "not in", *_ORDERING):
        raise FilterError(f"Unknown comparison operator {operator!r}.")
    if operator in ("in", "not in") and not isinstance(value, list):
        raise FilterError(f"Filter operator {operator!r} needs a list value, got {type(value).__name__}.")
    values = value if isinstance(value, list) and operator in ("in", "not in") else [value]
    for v in values:
        if v is not None:
            _sql_value(v)  # the same refusals as SQLite's
    if field in _PG_COLUMNS:
        return _pg_text_column(_PG_COLUMNS[field], operator, value, params)
    name = field[5:] if field.startswith("meta.") else field
    params.append(name.split("."))
    column = "(c.meta #> %s::text[])"
    if operator in ("==", "!="):
        if value is None:
            null = f"({column} IS NULL OR {column} = 'null'::jsonb)"
            params.append(params[-1])
            return null if operator == "==" else f"(NOT {null})"
        if operator == "!=":
            params.append(params[-1])
        params.append(json.dumps(value))
        return f"({column} = %s::jsonb)" if operator == "==" else f"({column} IS NULL OR {column} <> %s::jsonb)"
    if operator in _ORDERING:
        return _pg_ordering(column, _ORDERING[operator], value, params)
    if not value:
        params.pop()
        return "FALSE" if operator == "in" else "TRUE"
    params.append([json.dumps(v) for v in value])
    if operator == "in":
        return f"({column} = ANY(%s::jsonb[]))"
    params.insert(len(params) - 1, params[-2])
    return f"({column} IS NULL OR NOT ({column} = ANY(%s::jsonb[])))"


def _pg_text_column(column: str, operator: str, value: Any, params: list[Any]) -> str:
    if operator in ("==", "!="):
        if value is None:
            return f"({column} IS NULL)" if operator == "==" else f"({column} IS NOT NULL)"
        params.append(str(value))
        return f"({column} = %s)" if operator == "==" else f"({column} IS DISTINCT FROM %s)"
    if operator in ("in", "not in"):
        if not value:
            return "FALSE" if operator == "in" else "TRUE"
        params.append([str(v) for v in value])
        return f"({column} = ANY(%s))" if operator == "in" else f"({column} IS NULL OR NOT ({column} = ANY(%s)))"
    if value is None:
        return "FALSE"
    if not isinstance(value, str):
        raise FilterError(f"Filter operator {operator!r} on {column} needs a string, got {value!r}.")
    params.append(value)
    return f"({column} {_ORDERING[operator]} %s)"


def _pg_ordering(column: str, op: str, value: Any, params: list[Any]) -> str:
    if value is None:
        params.pop()
        return "FALSE"
    if isinstance(value, (bool, list, dict, tuple)):
        raise FilterError(f"Filter operator {op!r} needs a number or an ISO 8601 date, got {value!r}.")
    path = params[-1]
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise FilterError(f"Filter operator {op!r} needs a number or an ISO 8601 date, got {value!r}.") from None
        params.extend([path, value])
        return f"(jsonb_typeof({column}) = 'string' AND (c.meta #>> %s::text[]) {op} %s)"
    if isinstance(value, (int, float)):
        params.extend([path, value])
        return f"(jsonb_typeof({column}) = 'number' AND (c.meta #>> %s::text[])::float8 {op} %s)"
    raise FilterError(f"Filter operator {op!r} cannot compare with {value!r}.")


def source_ids_of(filters: dict[str, Any] | None) -> set[str] | None:
    """The sources a filter allows when it only selects sources (the facets' narrowing); None otherwise.

    Such a filter is applied inside each engine as a set of sources (tantivy's term set, FAISS's rowid
    ranges, PostgreSQL's ``= ANY``) rather than compiled to SQL over passages.
    """
    if not filters:
        return None
    if filters.get("field") == "meta.source_id":
        value = filters.get("value")
        if filters.get("operator") == "in" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            return set(value)
        if filters.get("operator") == "==" and isinstance(value, str):
            return {value}
        return None
    if filters.get("operator") == "AND" and isinstance(filters.get("conditions"), list) and filters["conditions"]:
        parts = [source_ids_of(c) if isinstance(c, dict) else None for c in filters["conditions"]]
        if any(p is None for p in parts):
            return None
        return set.intersection(*parts)  # type: ignore[arg-type]  # no None left
    return None
