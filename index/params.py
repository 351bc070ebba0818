"""The rules for what a user may send, each written once with one message: paging, the length
of a filter value, a year, a parameter given twice. The web app, the API, the CLI and the
:class:`~index.search.searcher.Searcher` all call these, so a limit and its wording change in one place.

Usage::

    top_k, page = checked_paging(top_k, page, settings)     # QueryError naming the parameter
    top_k, page = paging_args("20", None, settings)         # the same, from a request's text
    year = checked_year("year", "2016")
    sort = checked_sort("date")                             # "relevance" or "date"
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.errors import QueryError
from index.settings import Settings

# Longest filter value (a facet slug, a council or theme filter) a user may send: slugs are
# short, so this only stops abuse.
MAX_VALUE_CHARS = 100
_YEAR = re.compile(r"\d{4}")
# How a list of results may be ordered: by the ranking (the default) or by date, newest first.
SORTS = ("relevance", "date")


def checked_range(name: str, value: int, low: int, high: int) -> int:
    """``value`` if ``low <= value <= high``.

    :raises QueryError: naming the parameter and its range.
    """
    if not low <= value <= high:
        raise QueryError(f"{name} must be from {low} to {high}, got {value}.")
    return value


def whole_number(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    """A whole-number parameter as sent (``default`` when absent or empty), within [low, high].

    :raises QueryError: naming the parameter and its range.
    """
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"{name} must be a whole number from {low} to {high}, got {raw[:20]!r}.") from None
    return checked_range(name, value, low, high)


def _paging_limits(settings: Settings) -> dict[str, tuple[int, int]]:
    return {"top_k": (1, settings.max_top_k), "page": (1, settings.max_page)}


def checked_paging(top_k: int | None, page: int, settings: Settings) -> tuple[int, int]:
    """``(top_k, page)``, ``top_k`` the setting's when None, both within the settings' limits.

    :raises QueryError: naming the parameter and its range.
    """
    limits = _paging_limits(settings)
    top_k = settings.top_k if top_k is None else top_k
    return checked_range("top_k", top_k, *limits["top_k"]), checked_range("page", page, *limits["page"])


def paging_args(top_k: str | None, page: str | None, settings: Settings) -> tuple[int, int]:
    """``(top_k, page)`` from the text of a request's parameters (defaults when absent), checked as
    :func:`checked_paging` checks them.

    :raises QueryError: naming the parameter and its range.
    """
    limits = _paging_limits(settings)
    return (whole_number("top_k", top_k, settings.top_k, *limits["top_k"]),
            whole_number("page", page, 1, *limits["page"]))


def single(name: str, values: Sequence[str]) -> str | None:
    """The one value of a parameter that may be given once (None when absent).

    :raises QueryError: when it was given more than once.
    """
    if len(values) > 1:
        raise QueryError(f"Give {name} once, not {len(values)} times.")
    return values[0] if values else None


def checked_value(name: str, value: str) -> str:
    """A filter value, if it is at most :data:`MAX_VALUE_CHARS` long.

    :raises QueryError: naming the parameter and the limit.
    """
    if len(value) > MAX_VALUE_CHARS:
        raise QueryError(f"{name} must be at most {MAX_VALUE_CHARS} characters long.")
    return value


def checked_year(name: str, value: str) -> int:
    """A four-digit year.

    :raises QueryError: naming the parameter, with an example.
    """
    if not _YEAR.fullmatch(value):
        raise QueryError(f"{name} must be a four-digit year such as 2016, got {value[:20]!r}.")
    return int(value)


def checked_sort(value: str | None) -> str:
    """The order of the results: ``relevance`` when absent or empty, else ``relevance`` or ``date``.

    :raises QueryError: naming the parameter and the values it may take.
    """
    if value is None or not value.strip():
        return SORTS[0]
    chosen = value.strip().lower()
    if chosen not in SORTS:
        raise QueryError(f"sort must be relevance or date (newest first), got {value[:20]!r}.")
    return chosen


def checked_year_range(year_from: str | None, year_to: str | None) -> tuple[int | None, int | None]:
    """``(from, to)`` years of a date range, either open (None); empty values are ignored.

    :raises QueryError: for a malformed year, or a range that ends before it starts.
    """
    low = checked_year("from", year_from.strip()) if year_from and year_from.strip() else None
    high = checked_year("to", year_to.strip()) if year_to and year_to.strip() else None
    if low is not None and high is not None and low > high:
        raise QueryError(f"The date range starts after it ends: from {low} is later than to {high}. "
                         "Swap the years or leave one empty.")
    return low, high
