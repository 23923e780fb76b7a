"""TAXII URL parameters: every malformed value is InvalidInput (a 400), never an exception."""

from __future__ import annotations

import base64

import pytest

from minga.errors import InvalidInput
from minga.intel.service import encode_cursor
from minga.taxii.params import parse_params


def parse(**args: str):
    return parse_params({k: [v] for k, v in args.items()}, default_limit=100, max_limit=1000)


def raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "value",
    ["0", "000", "-1", "+5", "1.5", "ten", "١٠", "²", "5\u0660", " ", "0x10", "1e3", "1_000"],
)
def test_limit_takes_only_ascii_digits(value: str):
    with pytest.raises(InvalidInput, match="limit must be a positive whole number"):
        parse(limit=value)


def test_limit_of_thousands_of_digits_is_the_largest_page():
    assert parse(limit="9" * 5000).limit == 1000
    assert parse(limit="0" * 4000 + "7").limit == 7
    assert parse(limit="37").limit == 37


@pytest.mark.parametrize(
    "cursor",
    [
        raw_cursor("a:99999999999999999999999:1"),  # past BIGINT: was a 500 from the database
        raw_cursor("a:1:9223372036854775808"),
        raw_cursor("d:-1:1"),
        raw_cursor("a:\u0661:1"),  # int() reads Arabic-Indic digits; no cursor of ours has them
        raw_cursor("a: 1:1"),
        raw_cursor("a:1_0:1"),
        raw_cursor("x:1:1"),
        raw_cursor("a:1"),
        "%%%",
        "é",
        "A" * 5000,
    ],
)
def test_a_next_this_node_did_not_issue_is_refused(cursor: str):
    with pytest.raises(InvalidInput, match="cursor is not one this node issued"):
        parse(next=cursor)


def test_a_next_this_node_issued_is_kept():
    cursor = encode_cursor(1_717_000_000_000_000, 42, False)
    assert parse(next=cursor).next == cursor


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("added_after", "0000-01-01T00:00:00Z"),
        ("added_after", "2024-02-30T00:00:00Z"),
        ("added_after", "2024-01-01T24:00:00Z"),
        ("added_after", "2024-01-01T00:00:00Z x"),
        ("match[version]", "2023-02-29T00:00:00Z"),
        ("match[spec_version]", "2.1.0"),
        ("match[spec_version]", "٢.١"),
        ("match[type]", "Indicator"),
        ("match[id]", "indicator--x"),
    ],
)
def test_impossible_dates_and_malformed_filters_are_refused(key: str, value: str):
    with pytest.raises(InvalidInput):
        parse(**{key: value})


def test_a_filter_may_name_any_id_shaped_value():
    # Filtering on an id that cannot be stored matches nothing; it is not malformed.
    ids = "indicator--00000000-0000-0000-0000-000000000001"
    assert parse(**{"match[id]": ids}).ids == [ids]
