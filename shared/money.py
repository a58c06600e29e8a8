"""Money as a decimal string plus an ISO 4217 code, with each currency's minor units.

The exponents come from the `iso4217` package's versioned table (RWF 0, USD 2, CNY 2, UGX 0, KWD 3),
not from a hand-written list. Amounts are stored as integer minor units; conversions round half-even.

One meaning for places, everywhere money comes in (a request body, a query bound, an event): the
places as written count, trailing zeros included. "1.500 USD" is refused (three places, USD has two)
rather than read as 1.50, so a client that sends too many digits learns it instead of being silently
rounded or truncated; `check_places` is that rule and `MoneyIn` the request model that applies it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache
from typing import Annotated, Self

from iso4217 import Currency as _Iso4217
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.types import Code, Currency, RequestModel

__all__ = [
    "CurrencyCode",
    "DecimalText",
    "Money",
    "MoneyIn",
    "check_places",
    "format_minor",
    "minor_units",
    "quantize",
    "to_minor",
]

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"])]


@cache
def minor_units(currency: str) -> int:
    """The ISO 4217 exponent of `currency`; ValueError for an unknown code or one without minor units."""
    try:
        exponent = _Iso4217(currency).exponent
    except ValueError:
        raise ValueError(f"{currency!r} is not an ISO 4217 currency code") from None
    if exponent is None:
        raise ValueError(f"{currency!r} is not a currency that can price goods")
    return int(exponent)


def check_places(amount: Decimal | str, currency: str) -> None:
    """ValueError unless `amount`, as written, has no more decimal places than `currency` has.

    Trailing zeros count ("1.500" has three places): see the module docstring. Also a ValueError for a
    currency that cannot price goods (`minor_units`) or an amount that is not a decimal number.
    """
    places = minor_units(currency)
    try:
        exponent = (amount if isinstance(amount, Decimal) else Decimal(amount)).as_tuple().exponent
    except InvalidOperation:
        raise ValueError("amount is not a decimal number") from None
    if not isinstance(exponent, int):
        raise ValueError("amount is not a finite decimal number")
    if -exponent > places:
        raise ValueError(f"{currency} allows at most {places} decimal places")


def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_EVEN)


def to_minor(amount: Decimal, currency: str) -> int:
    return int(quantize(amount, currency).scaleb(minor_units(currency)))


def format_minor(amount_minor: int, currency: str) -> str:
    """`1500, "USD"` → `"15.00"`; `1500, "RWF"` → `"1500"`."""
    exponent = minor_units(currency)
    return f"{Decimal(amount_minor).scaleb(-exponent):.{exponent}f}"


#: A non-negative decimal string in ASCII digits, at most 15 whole digits and 6 places (NUMERIC(18, 6))
#: before the currency's own places are checked.
DecimalText = Annotated[
    str, Code(r"^[0-9]{1,15}(\.[0-9]{1,6})?$", description="Decimal string, ASCII digits.", examples=("12.50",))
]


class MoneyIn(RequestModel):
    """Money in a request body: `{"amount": "12.50", "currency": "USD"}`, unknown fields refused.

    The currency is a known ISO 4217 code (a 422 on `currency` otherwise) and must price goods; the
    amount has no more places than the currency has, trailing zeros included.
    """

    amount: DecimalText
    currency: Currency

    @model_validator(mode="after")
    def _check_places(self) -> Self:
        check_places(self.amount, self.currency)
        return self

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.amount)

    @property
    def minor(self) -> int:
        return to_minor(Decimal(self.amount), self.currency)


class Money(BaseModel):
    """`{"amount": "12.50", "currency": "USD"}`; never negative, never more places than the currency has.

    The response shape, and a request field where a service defaults the currency to USD; unknown
    fields are refused as `MoneyIn` refuses them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: ASCII digits only: `\d` would take fullwidth or Arabic-Indic digits, which `Decimal` then reads.
    amount: Annotated[str, Field(pattern=r"^[0-9]{1,15}(\.[0-9]+)?$", max_length=64, examples=["12.50"])]
    currency: CurrencyCode = "USD"

    @model_validator(mode="after")
    def _check_places(self) -> Self:
        check_places(self.amount, self.currency)
        return self

    @property
    def minor(self) -> int:
        return to_minor(Decimal(self.amount), self.currency)

    @classmethod
    def from_minor(cls, amount_minor: int, currency: str) -> Money:
        return cls(amount=format_minor(amount_minor, currency), currency=currency)
