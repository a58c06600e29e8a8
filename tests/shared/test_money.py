from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.money import Money, MoneyIn, check_places, format_minor, minor_units, quantize, to_minor


def test_minor_units_follow_iso_4217() -> None:
    assert (minor_units("RWF"), minor_units("USD"), minor_units("CNY"), minor_units("UGX")) == (0, 2, 2, 0)


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        minor_units("XYZ")
    with pytest.raises(ValidationError, match="ISO 4217"):
        Money(amount="1.00", currency="XYZ")


@pytest.mark.parametrize(("amount", "currency"), [("1.005", "USD"), ("10.5", "RWF"), ("0.001", "CNY")])
def test_more_places_than_the_currency_has_are_refused(amount: str, currency: str) -> None:
    with pytest.raises(ValidationError, match="decimal places"):
        Money(amount=amount, currency=currency)


@pytest.mark.parametrize("amount", ["-1.00", "1e3", "abc", "", "1.2.3"])
def test_malformed_or_negative_amounts_are_refused(amount: str) -> None:
    with pytest.raises(ValidationError):
        Money(amount=amount, currency="USD")


def test_minor_round_trip() -> None:
    assert Money(amount="15.5", currency="USD").minor == 1550
    assert Money.from_minor(1550, "USD") == Money(amount="15.50", currency="USD")
    assert format_minor(1500, "RWF") == "1500"
    assert format_minor(7, "CNY") == "0.07"


def test_conversion_rounds_half_even() -> None:
    assert quantize(Decimal("2.345"), "USD") == Decimal("2.34")
    assert quantize(Decimal("2.355"), "USD") == Decimal("2.36")
    assert to_minor(Decimal("1234.5"), "RWF") == 1234
    assert to_minor(Decimal("1235.5"), "RWF") == 1236


@pytest.mark.parametrize("amount", ["１５.００", "١٥.٠٠", "१५", "15.٠٠", "1_5.00", " 15.00"])
def test_amounts_are_written_with_ascii_digits(amount: str) -> None:
    # `\d` in the pattern took any Unicode digit, and Decimal() then read it as a number.
    with pytest.raises(ValidationError):
        Money(amount=amount, currency="USD")


@pytest.mark.parametrize(("amount", "currency"), [("1.500", "USD"), ("1.0", "RWF"), ("12.5", "UGX"), ("0.0001", "KWD")])
def test_places_as_written_count_trailing_zeros_included(amount: str, currency: str) -> None:
    with pytest.raises(ValueError, match="decimal places"):
        check_places(amount, currency)
    with pytest.raises(ValidationError):
        MoneyIn(amount=amount, currency=currency)


def test_money_in_is_strict_and_names_the_field() -> None:
    assert MoneyIn(amount="12.50", currency="USD").minor == 1250
    with pytest.raises(ValidationError) as extra:
        MoneyIn.model_validate({"amount": "1", "currency": "USD", "rate": "2"})
    assert extra.value.errors()[0]["loc"] == ("rate",)
    with pytest.raises(ValidationError) as digits:
        MoneyIn(amount="\uff11", currency="USD")
    assert digits.value.errors()[0]["loc"] == ("amount",)
    with pytest.raises(ValidationError) as unknown:
        MoneyIn(amount="1", currency="ZZZ")
    assert unknown.value.errors()[0]["loc"] == ("currency",)
