import pytest

from ingest.extract import extract_metadata, parse_date

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("text, expected", [
    ("Title\n\n26th Apr 2016\n\nBody text.", {"date": "2016-04-26"}),
    ("Jo Bloggs is a director. Originally posted  23rd September 2016 via ADCS News", {"date": "2016-09-23"}),
    ("2014-02-12\n\nCommunity Care\n\nText", {"date": "2014-02-12"}),
    ("Title\nBy Jane Smith\nPublished on: March 3, 2015\ntext", {"date": "2015-03-03", "authors": ["Jane Smith"]}),
    ("Body.\nWritten by Chief Executive Anthony Douglas at 00:00\nTags :", {"authors": ["Anthony Douglas"]}),
    ("Posted by admin at 10:00\nIn September 2016 we met.", {}),
    ("The 2016 plan had 53 projects.", {}),
])
def test_dates_and_bylines_from_text(text, expected):
    assert extract_metadata(text) == expected


def test_day_first_when_ambiguous():
    assert parse_date("03/04/2016") == "2016-04-03"
