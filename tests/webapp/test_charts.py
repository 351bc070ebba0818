"""The SVG charts' axes (issue 26): real date ticks, every year in range, names placed apart."""

from __future__ import annotations

import re

import pytest

from index.browse.catalogue import YearCounts
from webapp.charts import grade_chart, year_chart

pytestmark = pytest.mark.unit


def _year_ticks(svg: str) -> dict[int, float]:
    """Year → x of its 1 January tick (the short solid line under the axis), read back from the label bands."""
    tick = r'<line x1="([\d.]+)" x2="[\d.]+" y1="[\d.]+" y2="[\d.]+" stroke="#505a5f"'
    xs = [float(x) for x in re.findall(tick, svg)]
    labels = [int(y) for y in re.findall(r">(\d{4})</text>", svg)]
    return dict(zip(range(labels[0], labels[0] + len(xs)), xs, strict=True))


def test_a_january_inspection_sits_in_its_own_year():
    svg = grade_chart({"Leicester": [("2019-06-01", "good"), ("2023-01-10", "inadequate")],
                       "Dorset": [("2021-11-19", "good"), ("2023-01-20", "inadequate")]}, "t")
    ticks = _year_ticks(svg)
    assert [int(y) for y in re.findall(r">(\d{4})</text>", svg)] == [2019, 2020, 2021, 2022, 2023]  # every year
    points = {m[2]: float(m[0]) for m in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="[\d.]+" fill="#[0-9a-f]+">'
                                                     r'<title>[^,]+, ([\d-]+):', svg)}
    assert ticks[2023] < points["2023-01-20"] < ticks[2023] + (ticks[2023] - ticks[2022]) / 6
    assert ticks[2023] < points["2023-01-10"] < ticks[2024]  # set beside Dorset's, still within 2023
    assert ticks[2021] < points["2021-11-19"] < ticks[2022]
    # Two councils judged inadequate ten days apart: both points drawn, side by side, not one on the other.
    centres = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', svg)
    assert len(centres) == len(set(centres)) == 4
    # Both names are drawn (placed apart, or in the key under the chart).
    assert svg.count(">Leicester</text>") == 1 and svg.count(">Dorset</text>") == 1


def test_the_year_chart_gives_an_empty_year_its_place():
    counts = YearCounts(["2014", "2017"], {"2014": {"blog": 2}, "2017": {"report": 1}}, {}, {"blog": "Blog"})
    svg = str(year_chart(counts, "t"))
    assert [int(y) for y in re.findall(r">(\d{4})</text>", svg)] == [2014, 2015, 2016, 2017]
    assert "No source is from 2015 or 2016." in svg
