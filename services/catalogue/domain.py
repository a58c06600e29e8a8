"""Catalogue rules that need no database.

- (the seeded category tree they check against is data, in `categories.py`);
- the cross-field checks of a listing (HS code against category, national tariff code against HS
  code, attributes against the category's schema, GTIN check digit, product identifiers) and the
  completeness a marketplace feed needs before publication;
- the listing lifecycle and availability derived from available (not on-hand) stock;
- indicative FX conversion: direct, inverse or crossed through USD, rounded half-even once; no rate
  means no price, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, localcontext
from enum import StrEnum
from typing import Any

from services.catalogue.categories import (
    CATEGORIES,
    allowed_hs_prefixes,
    attribute_specs,
)
from shared.errors import FieldError
from shared.money import minor_units, quantize
from shared.state_machine import StateMachine

# --------------------------------------------------------------------------------------------------
# Enumerations


class ListingStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"
    DELETED = "deleted"


class WithdrawReason(StrEnum):
    """Why a listing left the marketplaces; carried by tombstones and `listing.withdrawn`."""

    SELLER = "withdrawn_by_seller"
    SELLER_SUSPENDED = "seller_suspended"
    DELETED = "deleted"


class Condition(StrEnum):
    NEW = "new"
    REFURBISHED = "refurbished"
    USED = "used"


class Availability(StrEnum):
    """Google Merchant Center availability values."""

    IN_STOCK = "in_stock"
    OUT_OF_STOCK = "out_of_stock"
    PREORDER = "preorder"
    BACKORDER = "backorder"


class OutOfStockPolicy(StrEnum):
    """What a listing shows when nothing is available: sold out, back-orderable, or pre-orderable."""

    OUT_OF_STOCK = "out_of_stock"
    BACKORDER = "backorder"
    PREORDER = "preorder"


class StockReason(StrEnum):
    """Why a seller changed its stock on hand (kept in the adjustment history)."""

    RECEIVED = "received"
    STOCK_COUNT = "stock_count"
    CORRECTION = "correction"
    DAMAGED = "damaged"
    LOST = "lost"
    RETURNED = "returned"
    SOLD_ELSEWHERE = "sold_elsewhere"


class Certification(StrEnum):
    ORGANIC_EU = "organic_eu"
    ORGANIC_USDA = "organic_usda"
    ORGANIC_CHINA = "organic_china"
    FAIRTRADE = "fairtrade"
    RAINFOREST_ALLIANCE = "rainforest_alliance"
    UTZ = "utz"
    CAFE_PRACTICES = "cafe_practices"
    FOUR_C = "4c"
    NAEB_QUALITY = "naeb_quality_certificate"
    RSB_S_MARK = "rsb_s_mark"
    CUP_OF_EXCELLENCE = "cup_of_excellence"


class ChangeOp(StrEnum):
    UPSERT = "upsert"
    DELETE = "delete"


class RejectReason(StrEnum):
    UNKNOWN_LISTING = "unknown_listing"
    NOT_PUBLISHED = "not_published"
    INSUFFICIENT_STOCK = "insufficient_stock"


class ReservationStatus(StrEnum):
    RESERVED = "reserved"
    REJECTED = "rejected"
    RELEASED = "released"
    #: The order shipped: the reserved units left the warehouse (on hand and reserved both dropped).
    SOLD = "sold"


class SellerStatus(StrEnum):
    """The catalogue's copy of a seller's verification status (from `sellers.events`)."""

    PENDING_VERIFICATION = "pending_verification"
    VERIFIED = "verified"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


ORIGIN_COUNTRY = "RW"


def _dotted(prefix: str) -> str:
    return prefix if len(prefix) == 4 else f"{prefix[:4]}.{prefix[4:]}"


# --------------------------------------------------------------------------------------------------
# Listing checks


@dataclass(frozen=True)
class ListingFacts:
    """What the cross-field checks look at, after a create or a merged update."""

    category: str
    hs_code: str
    national_tariff_code: str | None
    attributes: Mapping[str, Any]
    gtin: str | None
    mpn: str | None
    brand: str | None
    identifier_exists: bool
    out_of_stock_policy: OutOfStockPolicy
    availability_date: date | None
    images: list[str]
    description: str


def gtin_valid(gtin: str) -> bool:
    """GS1 mod-10 check digit of a GTIN-8/12/13/14."""
    if len(gtin) not in (8, 12, 13, 14) or not (gtin.isascii() and gtin.isdigit()):  # isdigit alone takes "١"
        return False
    digits = [int(d) for d in gtin]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def normalize_attributes(category_id: str, attributes: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    specs = attribute_specs(category_id)
    clean: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, value in attributes.items():
        spec = specs.get(name)
        if spec is None:
            known = ", ".join(sorted(specs)) or "none"
            errors.append({"field": f"attributes.{name}", "reason": f"not an attribute of {category_id} ({known})"})
            continue
        try:
            clean[name] = spec.normalize(value)
        except ValueError as exc:
            errors.append({"field": f"attributes.{name}", "reason": str(exc)})
    for name, spec in specs.items():
        if spec.required and name not in attributes:
            errors.append({"field": f"attributes.{name}", "reason": f"required for {category_id}"})
    return clean, errors


def check_listing(facts: ListingFacts) -> tuple[dict[str, Any], list[FieldError]]:
    """The normalized attributes and every cross-field problem of a listing (empty when valid)."""
    errors: list[FieldError] = []
    node = CATEGORIES.get(facts.category)
    if node is None:
        return {}, [{"field": "category", "reason": "unknown category; see GET /v1/categories"}]
    if not node.is_leaf:
        children = ", ".join(node.children)
        return {}, [{"field": "category", "reason": f"choose a leaf category ({children})"}]
    prefixes = allowed_hs_prefixes(facts.category)
    if prefixes and not facts.hs_code.startswith(prefixes):
        allowed = ", ".join(_dotted(p) for p in prefixes)
        errors.append(
            {
                "field": "hs_code",
                "reason": f"HS {_dotted(facts.hs_code)} is not allowed for {facts.category} (allowed: {allowed})",
            }
        )
    if facts.national_tariff_code and not facts.national_tariff_code.startswith(facts.hs_code):
        errors.append({"field": "national_tariff_code", "reason": f"must start with the HS code {facts.hs_code}"})
    attributes, attribute_errors = normalize_attributes(facts.category, facts.attributes)
    errors += attribute_errors
    if facts.gtin is not None and not gtin_valid(facts.gtin):
        errors.append({"field": "gtin", "reason": "not a valid GTIN-8/12/13/14 (check digit)"})
    if not facts.identifier_exists and (facts.gtin or facts.mpn):
        errors.append({"field": "identifier_exists", "reason": "false contradicts the gtin or mpn given"})
    if facts.out_of_stock_policy is OutOfStockPolicy.PREORDER and facts.availability_date is None:
        errors.append({"field": "availability_date", "reason": "required when out_of_stock_policy is preorder"})
    return attributes, errors


def publication_problems(facts: ListingFacts) -> list[FieldError]:
    """What a marketplace feed requires before a listing may go out (GMC required attributes)."""
    problems: list[FieldError] = []
    if not facts.images:
        problems.append({"field": "images", "reason": "at least one image is required to publish (image_link)"})
    if not facts.description.strip():
        problems.append({"field": "description", "reason": "required to publish"})
    if facts.identifier_exists and not facts.gtin and not (facts.brand and facts.mpn):
        problems.append(
            {
                "field": "gtin",
                "reason": "give a gtin, or brand and mpn, or set identifier_exists=false for handmade goods",
            }
        )
    return problems


# --------------------------------------------------------------------------------------------------
# Lifecycle and availability

#: action → (statuses it may start from, status it leads to)
LIFECYCLE: StateMachine[str, ListingStatus] = StateMachine(
    "listing",
    {
        "publish": (frozenset({ListingStatus.DRAFT, ListingStatus.WITHDRAWN}), ListingStatus.PUBLISHED),
        "withdraw": (frozenset({ListingStatus.PUBLISHED}), ListingStatus.WITHDRAWN),
        "delete": (
            frozenset({ListingStatus.DRAFT, ListingStatus.PUBLISHED, ListingStatus.WITHDRAWN}),
            ListingStatus.DELETED,
        ),
    },
)


def next_status(current: ListingStatus, action: str) -> ListingStatus:
    return LIFECYCLE.next(current, action)


def availability(on_hand: int, reserved: int, policy: str) -> Availability:
    """Derived from *available* stock: anything available is in stock, otherwise the seller's policy."""
    if on_hand - reserved > 0:
        return Availability.IN_STOCK
    return Availability(policy)


# --------------------------------------------------------------------------------------------------
# Indicative FX prices


@dataclass(frozen=True)
class Rate:
    base: str
    quote: str
    rate: Decimal
    source: str
    as_of: datetime


@dataclass(frozen=True)
class Converted:
    amount_minor: int
    currency: str
    rate: Decimal
    source: str
    as_of: datetime | None


def _leg(rates: Mapping[tuple[str, str], Rate], base: str, quote: str) -> tuple[Decimal, str, datetime] | None:
    direct = rates.get((base, quote))
    if direct is not None:
        return direct.rate, direct.source, direct.as_of
    inverse = rates.get((quote, base))
    if inverse is not None:
        return Decimal(1) / inverse.rate, inverse.source, inverse.as_of
    return None


CROSS_CURRENCY = "USD"


def convert(amount_minor: int, currency: str, target: str, rates: Mapping[tuple[str, str], Rate]) -> Converted | None:
    """`amount_minor` in `currency` shown in `target`, or None when no rate gives it.

    A direct rate wins, then the inverse of the opposite pair, then a cross through USD (stamped with
    the older of the two dates). The result is rounded once, half-even, to the target's minor units.
    """
    if currency == target:
        return Converted(amount_minor, target, Decimal(1), "listing_price", None)
    with localcontext() as ctx:
        ctx.prec = 34
        leg = _leg(rates, currency, target)
        if leg is not None:
            rate, source, as_of = leg
        elif CROSS_CURRENCY not in (currency, target):
            first, second = _leg(rates, currency, CROSS_CURRENCY), _leg(rates, CROSS_CURRENCY, target)
            if first is None or second is None:
                return None
            rate = first[0] * second[0]
            source = first[1] if first[1] == second[1] else f"{first[1]}+{second[1]}"
            as_of = min(first[2], second[2])
        else:
            return None
        amount = Decimal(amount_minor).scaleb(-minor_units(currency)) * rate
        shown = quantize(amount, target)
        minor = int(shown.scaleb(minor_units(target)))
        display_rate = +rate
    return Converted(minor, target, display_rate.normalize(), source, as_of)
