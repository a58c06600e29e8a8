"""Catalogue rules that need no database: HS codes by category, attributes, GTINs, availability, FX."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.catalogue.categories import CATEGORIES, allowed_hs_prefixes
from services.catalogue.domain import (
    ListingFacts,
    OutOfStockPolicy,
    Rate,
    availability,
    check_listing,
    convert,
    gtin_valid,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 2, 1, tzinfo=UTC)


def facts(**overrides: object) -> ListingFacts:
    values: dict[str, object] = {
        "category": "coffee.green",
        "hs_code": "090111",
        "national_tariff_code": None,
        "attributes": {"process": "fully_washed"},
        "gtin": None,
        "mpn": None,
        "brand": None,
        "identifier_exists": False,
        "out_of_stock_policy": OutOfStockPolicy.OUT_OF_STOCK,
        "availability_date": None,
        "images": [],
        "description": "x",
    }
    values.update(overrides)
    return ListingFacts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("category", "hs_code", "ok"),
    [
        ("coffee.green", "090111", True),
        ("coffee.green", "090112", True),
        ("coffee.green", "090121", False),  # roasted coffee is not green coffee
        ("coffee.roasted", "090122", True),
        ("tea.black", "090230", True),
        ("tea.black", "090210", False),
        ("handicrafts.baskets", "460219", True),
        ("handicrafts.baskets", "460120", False),
        ("horticulture.spices", "090421", True),
    ],
)
def test_hs_codes_must_belong_to_the_category(category: str, hs_code: str, ok: bool) -> None:
    attributes = {
        "coffee.green": {"process": "natural"},
        "coffee.roasted": {"process": "natural"},
        "tea.black": {"grade": "PF1"},
        "handicrafts.baskets": {"material": "sisal"},
        "horticulture.spices": {},
    }[category]
    _, errors = check_listing(facts(category=category, hs_code=hs_code, attributes=attributes))
    assert (not errors) is ok, errors
    if not ok:
        assert errors[0]["field"] == "hs_code"


def test_every_leaf_category_has_hs_headings() -> None:
    for node in CATEGORIES.values():
        if node.is_leaf:
            assert allowed_hs_prefixes(node.id), node.id


def test_attributes_are_normalized_and_checked() -> None:
    attributes, errors = check_listing(
        facts(attributes={"process": "honey", "cupping_score": "87.25", "altitude_m": 1850, "variety": " Bourbon "})
    )
    assert errors == []
    assert attributes == {"process": "honey", "cupping_score": 87.25, "altitude_m": 1850, "variety": "Bourbon"}
    _, errors = check_listing(facts(attributes={"process": "honey", "altitude_m": True, "screen_size": 25}))
    assert {e["field"] for e in errors} == {"attributes.altitude_m", "attributes.screen_size"}


def test_national_codes_extend_the_hs_code() -> None:
    assert check_listing(facts(national_tariff_code="0901110000"))[1] == []
    assert check_listing(facts(national_tariff_code="0901120000"))[1][0]["field"] == "national_tariff_code"


@pytest.mark.parametrize(
    ("gtin", "ok"),
    [("4006381333931", True), ("4006381333932", False), ("96385074", True), ("036000291452", True), ("12345", False)],
)
def test_gtin_check_digits(gtin: str, ok: bool) -> None:
    assert gtin_valid(gtin) is ok


def test_availability_is_derived_from_available_stock() -> None:
    assert availability(10, 3, "out_of_stock").value == "in_stock"
    assert availability(10, 10, "out_of_stock").value == "out_of_stock"
    assert availability(10, 10, "backorder").value == "backorder"
    assert availability(0, 0, "preorder").value == "preorder"


RATES = {
    ("USD", "CNY"): Rate("USD", "CNY", Decimal("7.2345"), "PBoC", T1),
    ("USD", "RWF"): Rate("USD", "RWF", Decimal("1300.5"), "BNR", T0),
    ("KES", "USD"): Rate("KES", "USD", Decimal("0.0077"), "CBK", T1),
}


def test_fx_direct_inverse_and_cross_rates_round_half_even_once() -> None:
    direct = convert(1500, "USD", "CNY", RATES)
    assert direct is not None
    assert (direct.amount_minor, direct.source, direct.as_of) == (10852, "PBoC", T1)  # 108.5175 -> 108.52
    half = convert(1500, "USD", "RWF", RATES)
    assert half is not None and half.amount_minor == 19508  # 19507.5 -> 19508 (even)
    inverse = convert(130050, "RWF", "USD", RATES)
    assert inverse is not None and inverse.amount_minor == 10000  # 1300.50 RWF... is 130050 RWF = 100.00 USD
    cross = convert(100000, "KES", "CNY", RATES)  # 1000.00 KES -> 7.70 USD -> 55.71 CNY
    assert cross is not None
    assert cross.amount_minor == 5571
    assert (cross.source, cross.as_of) == ("CBK+PBoC", T1)
    stamped = convert(100000, "KES", "RWF", RATES)
    assert stamped is not None and stamped.as_of == T0  # the older of the two legs


def test_no_rate_means_no_price() -> None:
    assert convert(1000, "TZS", "CNY", RATES) is None
    assert convert(1000, "USD", "EUR", RATES) is None
    same = convert(1000, "CNY", "CNY", RATES)
    assert same is not None and same.amount_minor == 1000
