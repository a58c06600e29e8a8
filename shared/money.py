"""Money as a decimal string plus an ISO 4217 code, with each currency's minor units.

The exponents come from the `iso4217` package's versioned table (RWF 0, USD 2, CNY 2, UGX 0, KWD 3),
not from a hand-written list. Amounts are stored as integer minor units; conversions round half-even.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache
from typing import Annotated, Self

from iso4217 import Currency
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["CurrencyCode", "Money", "format_minor", "minor_units", "quantize", "to_minor"]

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"])]


@cache
def minor_units(currency: str) -> int:
    """The ISO 4217 exponent of `currency`; ValueError for an unknown code or one without minor units."""
    try:
        exponent = Currency(currency).exponent
    except ValueError:
        raise ValueError(f"{currency!r} is not an ISO 4217 currency code") from None
    if exponent is None:
        raise ValueError(f"{currency!r} is not a currency that can price goods")
    return int(exponent)


def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_EVEN)


def to_minor(amount: Decimal, currency: str) -> int:
    return int(quantize(amount, currency).scaleb(minor_units(currency)))


def format_minor(amount_minor: int, currency: str) -> str:
    """`1500, "USD"` → `"15.00"`; `1500, "RWF"` → `"1500"`."""
    exponent = minor_units(currency)
    return f"{Decimal(amount_minor).scaleb(-exponent):.{exponent}f}"


class Money(BaseModel):
    """`{"amount": "12.50", "currency": "USD"}`; never negative, never more places than the currency has."""

    model_config = ConfigDict(frozen=True)

    #: ASCII digits only: `\d` would take fullwidth or Arabic-Indic digits, which `Decimal` then reads.
    amount: Annotated[str, Field(pattern=r"^[0-9]{1,15}(\.[0-9]+)?$", max_length=64, examples=["12.50"])]
    currency: CurrencyCode = "USD"

    @model_validator(mode="after")
    def _check_places(self) -> Self:
        try:
            places = minor_units(self.currency)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        try:
            exponent = Decimal(self.amount).as_tuple().exponent
        except InvalidOperation:
            raise ValueError("amount is not a decimal number") from None
        if isinstance(exponent, int) and -exponent > places:
            raise ValueError(f"{self.currency} allows at most {places} decimal places")
        return self

    @property
    def minor(self) -> int:
        return to_minor(Decimal(self.amount), self.currency)

    @classmethod
    def from_minor(cls, amount_minor: int, currency: str) -> Money:
        return cls(amount=format_minor(amount_minor, currency), currency=currency)
