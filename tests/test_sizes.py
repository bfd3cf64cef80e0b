"""The size normaliser and style matching used to link SKUs to StockX variants."""

from __future__ import annotations

import pytest

from stackknack_cli.channels.base import RemoteListing
from stackknack_cli.channels.sizes import (
    SizeError,
    matching,
    normalise_size,
    parse_size,
    same_size,
    same_style,
    size_from_title,
    split_sku,
)
from stackknack_cli.channels.stockx_catalog import match_listing, propose_links


@pytest.mark.parametrize("text", ["10", "US 10", "US M 10", "10M", "us m 10", "M10"])
def test_plain_us_and_mens_spellings_are_one_size(text: str) -> None:
    assert normalise_size(text) == "10"
    assert same_size(text, "US M 10")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10W", "10W"), ("US W 10", "10W"), ("WMNS 10", "10W"), ("10Y", "10Y")],
)
def test_womens_and_youth_sizes_keep_their_category(text: str, expected: str) -> None:
    assert normalise_size(text) == expected
    assert not same_size(text, "10")


def test_youth_child_and_womens_differ_from_each_other() -> None:
    assert not same_size("10Y", "10C")
    assert not same_size("10W", "10Y")
    assert normalise_size("5.5 GS") == "5.5Y"
    assert normalise_size("10C") == "10C"


def test_half_sizes_in_any_spelling() -> None:
    assert {normalise_size(t) for t in ("9.5", "9,5", "9½", "US 9 1/2")} == {"9.5"}


@pytest.mark.parametrize(
    ("text", "brand", "us"),
    [
        ("UK 9", "Nike", "10"),
        ("EU 44", "Jordan", "10"),
        ("44 EU", "nike", "10"),
        ("UK 12", "Nike", "13"),
        ("UK 12.5", "adidas", "13"),
        ("EU 42 2/3", "adidas", "9"),
        ("EU 42.67", "Yeezy", "9"),
        ("EUR 48", "adidas", "13"),
    ],
)
def test_uk_and_eu_convert_through_the_brand_chart(
    text: str, brand: str, us: str
) -> None:
    assert normalise_size(text, brand=brand) == us


def test_uk_size_without_a_known_brand_chart_is_refused_with_the_way_out() -> None:
    with pytest.raises(SizeError, match="no UK-to-US chart for New Balance"):
        parse_size("UK 9", brand="New Balance")
    with pytest.raises(SizeError, match="use the US size instead"):
        parse_size("EU 44")


def test_uk_size_the_chart_maps_to_two_us_sizes_is_refused() -> None:
    # Nike's chart gives UK 6 for both US 6.5 and US 7.
    with pytest.raises(SizeError, match="more than one US size"):
        parse_size("UK 6", brand="Nike")


@pytest.mark.parametrize("text", ["banana", "10.25", "UK 9 W", "10XL", ""])
def test_unreadable_sizes_are_refused(text: str) -> None:
    with pytest.raises(SizeError):
        parse_size(text, brand="Nike")
    assert not same_size(text, "10")


def test_a_double_style_id_matches_either_part() -> None:
    assert same_style("AAA-111/BBB-222", "AAA-111")
    assert same_style("AAA-111/BBB-222", "bbb 222")
    assert not same_style("AAA-111/BBB-222", "AAA-112")
    assert not same_style(None, "AAA-111")


def test_sku_and_title_split_into_style_and_size() -> None:
    assert split_sku("DZ5485-612-9.5") == ("DZ5485-612", "9.5")
    assert split_sku("1201A019-107-8") == ("1201A019-107", "8")
    assert split_sku("NOSIZE") is None
    assert size_from_title('Air Jordan 1 "Chicago" / US 9.5') == "US 9.5"
    assert size_from_title("No size here") is None


def test_matching_finds_the_variant_of_style_and_size() -> None:
    candidates = [
        ("v10", "DZ5485-612", "10"),
        ("v10w", "DZ5485-612", "10W"),
        ("other", "DD1391-100", "10"),
    ]
    assert matching("DZ5485-612", "US M 10", candidates) == ["v10"]
    assert matching("DZ5485-612", "10W", candidates) == ["v10w"]
    assert matching("DZ5485-612", "UK 9", candidates, brand="Jordan") == ["v10"]


def test_match_listing_and_proposals_use_listing_details() -> None:
    listings = [
        RemoteListing(
            "v95", None, 2, details={"style_id": "DZ5485-612", "size": "9.5"}
        ),
        RemoteListing("v10", None, 1, details={"style_id": "DZ5485-612", "size": "10"}),
    ]
    assert match_listing("DZ5485-612", "US 9.5", listings) == "v95"

    proposals = propose_links(
        [
            ("DZ5485-612-10", ""),
            ("CHICAGO-LOW", "Jordan 1 / US 9.5"),
            ("DZ5485-612-11", ""),
            ("JUNK", "no size"),
        ],
        listings,
    )

    found = {p.sku: (p.variant_id, p.source) for p in proposals}
    assert found["DZ5485-612-10"] == ("v10", "listings")
    assert found["CHICAGO-LOW"] == (None, "")
    assert found["DZ5485-612-11"] == (None, "")
    assert proposals[3].reason == "no style and size in SKU or title"
