"""The request rules of index/params.py: one message for each, whoever calls it."""

from __future__ import annotations

import pytest

from index.errors import QueryError
from index.params import MAX_VALUE_CHARS, checked_paging, checked_value, checked_year, paging_args, single
from index.settings import Settings

pytestmark = pytest.mark.unit
SETTINGS = Settings()  # max_top_k 50, max_page 50, top_k 10


def test_paging_defaults_and_limits():
    assert checked_paging(None, 1, SETTINGS) == (10, 1)
    assert paging_args(None, "", SETTINGS) == (10, 1)
    assert paging_args("50", "50", SETTINGS) == (50, 50)


@pytest.mark.parametrize("top_k, page, message", [
    (0, 1, "top_k must be from 1 to 50, got 0."),
    (51, 1, "top_k must be from 1 to 50, got 51."),
    (10, 51, "page must be from 1 to 50, got 51."),
])
def test_paging_has_one_message_for_numbers_and_text(top_k, page, message):
    with pytest.raises(QueryError) as from_numbers:
        checked_paging(top_k, page, SETTINGS)
    with pytest.raises(QueryError) as from_text:
        paging_args(str(top_k), str(page), SETTINGS)
    assert str(from_numbers.value) == str(from_text.value) == message


def test_paging_text_must_be_a_whole_number():
    with pytest.raises(QueryError, match=r"^top_k must be a whole number from 1 to 50, got 'abc'\.$"):
        paging_args("abc", None, SETTINGS)


def test_values_years_and_repeats():
    assert checked_value("council", "x" * MAX_VALUE_CHARS) == "x" * MAX_VALUE_CHARS
    with pytest.raises(QueryError, match=f"^council must be at most {MAX_VALUE_CHARS} characters long"):
        checked_value("council", "x" * (MAX_VALUE_CHARS + 1))
    assert checked_year("year", "2016") == 2016
    for bad in ("16", "20166", "last year"):
        with pytest.raises(QueryError, match="year must be a four-digit year such as 2016"):
            checked_year("year", bad)
    assert single("sort", ["name"]) == "name" and single("sort", []) is None
    with pytest.raises(QueryError, match="Give sort once, not 2 times"):
        single("sort", ["name", "recent"])
