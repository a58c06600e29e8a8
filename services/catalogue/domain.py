"""Catalogue rules that need no database.

- the seeded category tree, each category with the HS headings its goods may be declared under and
  the product attributes it takes (a child inherits its parent's attributes);
- the cross-field checks of a listing (HS code against category, national tariff code against HS
  code, attributes against the category's schema, GTIN check digit, product identifiers) and the
  completeness a marketplace feed needs before publication;
- the listing lifecycle and availability derived from available (not on-hand) stock;
- indicative FX conversion: direct, inverse or crossed through USD, rounded half-even once; no rate
  means no price, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation, localcontext
from enum import StrEnum
from functools import cache
from typing import Any

from shared.errors import Conflict, FieldError
from shared.money import minor_units, quantize

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


class SellerStatus(StrEnum):
    """The catalogue's copy of a seller's verification status (from `sellers.events`)."""

    PENDING_VERIFICATION = "pending_verification"
    VERIFIED = "verified"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


ORIGIN_COUNTRY = "RW"

# --------------------------------------------------------------------------------------------------
# Product attributes


class AttributeKind(StrEnum):
    ENUM = "enum"
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    kind: AttributeKind
    description: str
    choices: tuple[str, ...] = ()
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    places: int = 0
    max_length: int = 100
    required: bool = False

    def normalize(self, value: Any) -> Any:
        """The value as stored, or ValueError with the reason it is refused."""
        if self.kind is AttributeKind.ENUM:
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(f"must be one of: {', '.join(self.choices)}")
            return value
        if self.kind is AttributeKind.TEXT:
            if not isinstance(value, str) or not value.strip():
                raise ValueError("must be a non-empty string")
            text = value.strip()
            if len(text) > self.max_length:
                raise ValueError(f"must be at most {self.max_length} characters")
            if _CONTROL.search(text):
                raise ValueError("must not contain control characters")
            return text
        if self.kind is AttributeKind.BOOLEAN:
            if not isinstance(value, bool):
                raise ValueError("must be true or false")
            return value
        # integer / decimal
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError("must be a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("must be a number") from None
        if not number.is_finite():
            raise ValueError("must be a finite number")
        exponent = number.normalize().as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if places > self.places:
            raise ValueError("must be a whole number" if self.places == 0 else f"at most {self.places} decimal places")
        if self.minimum is not None and number < self.minimum:
            raise ValueError(f"must be at least {self.minimum}")
        if self.maximum is not None and number > self.maximum:
            raise ValueError(f"must be at most {self.maximum}")
        return int(number) if self.kind is AttributeKind.INTEGER else float(number)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.kind.value, "description": self.description}
        if self.required:
            out["required"] = True
        if self.choices:
            out["choices"] = list(self.choices)
        if self.minimum is not None:
            out["minimum"] = int(self.minimum) if self.kind is AttributeKind.INTEGER else str(self.minimum)
        if self.maximum is not None:
            out["maximum"] = int(self.maximum) if self.kind is AttributeKind.INTEGER else str(self.maximum)
        if self.kind is AttributeKind.TEXT:
            out["max_length"] = self.max_length
        if self.kind is AttributeKind.DECIMAL:
            out["decimal_places"] = self.places
        return out


def _text(name: str, description: str, max_length: int = 100, required: bool = False) -> AttributeSpec:
    return AttributeSpec(name, AttributeKind.TEXT, description, max_length=max_length, required=required)


def _enum(name: str, description: str, choices: Iterable[str], required: bool = False) -> AttributeSpec:
    return AttributeSpec(name, AttributeKind.ENUM, description, choices=tuple(choices), required=required)


def _int(name: str, description: str, low: int, high: int) -> AttributeSpec:
    return AttributeSpec(name, AttributeKind.INTEGER, description, minimum=Decimal(low), maximum=Decimal(high))


COFFEE_PROCESSES = ("fully_washed", "natural", "honey")
#: CTC grades of Rwandan black tea (BP1 top, then PF1, PD, D1) and the secondary grades.
TEA_GRADES = ("BP1", "PF1", "PD", "D1", "BP", "PF", "FNGS1", "DUST1", "BMF")
BASKET_MATERIALS = ("sisal", "sweetgrass", "banana_leaf", "papyrus", "raffia", "other")

_COFFEE_ATTRIBUTES = (
    _enum("process", "Post-harvest process.", COFFEE_PROCESSES, required=True),
    _text("variety", "Botanical variety, e.g. Red Bourbon.", 50),
    _int("altitude_m", "Growing altitude in metres above sea level.", 0, 3000),
    _int("screen_size", "Bean screen size (1/64 inch), e.g. 15.", 8, 20),
    AttributeSpec(
        "cupping_score",
        AttributeKind.DECIMAL,
        "SCA cupping score (0-100; 80 and above is specialty).",
        minimum=Decimal(0),
        maximum=Decimal(100),
        places=2,
    ),
    _text("grade", "Exporter's grade (free form; Rwanda has no confirmed official codes).", 20),
    _text("washing_station", "Washing station or cooperative.", 100),
    _int("harvest_year", "Crop year.", 2000, 2100),
)

_HORTICULTURE_ATTRIBUTES = (
    _text("variety", "Variety or cultivar, e.g. Hass.", 50),
    _text("grade", "Quality grade or class.", 20),
    _text("packaging", "Packaging, e.g. 4 kg carton.", 50),
)

_HANDICRAFT_ATTRIBUTES = (
    _text("cooperative", "Maker or cooperative.", 100),
    AttributeSpec("handmade", AttributeKind.BOOLEAN, "Made by hand."),
)


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    parent: str | None = None
    #: HS prefixes (4-digit headings or 6-digit subheadings) the category's goods may be declared under.
    hs_prefixes: tuple[str, ...] = ()
    attributes: tuple[AttributeSpec, ...] = ()
    children: list[str] = field(default_factory=list)

    @property
    def is_leaf(self) -> bool:
        return not self.children


def _build_tree(categories: Iterable[Category]) -> dict[str, Category]:
    tree = {c.id: c for c in categories}
    for c in tree.values():
        if c.parent is not None:
            tree[c.parent].children.append(c.id)
    return tree


#: The seeded category tree (sources: DOMAIN.md section 3, the ASYCUDA HS nomenclature).
CATEGORIES: dict[str, Category] = _build_tree(
    [
        Category("coffee", "Coffee", hs_prefixes=("0901",), attributes=_COFFEE_ATTRIBUTES),
        Category("coffee.green", "Green coffee", "coffee", ("090111", "090112")),
        Category(
            "coffee.roasted",
            "Roasted coffee",
            "coffee",
            ("090121", "090122"),
            (
                _enum("roast_level", "Roast level.", ("light", "medium", "medium_dark", "dark")),
                _enum("form", "Whole bean or ground.", ("whole_bean", "ground")),
            ),
        ),
        Category("tea", "Tea", hs_prefixes=("0902",), attributes=(_text("estate", "Tea estate or factory.", 100),)),
        Category(
            "tea.black",
            "Black tea",
            "tea",
            ("090230", "090240"),
            (
                _enum("grade", "CTC grade (BP1 top, PF1, PD, D1...).", TEA_GRADES, required=True),
                _enum("manufacture", "Manufacturing method.", ("ctc", "orthodox")),
            ),
        ),
        Category("tea.green", "Green tea", "tea", ("090210", "090220"), (_text("grade", "Leaf grade.", 20),)),
        Category("handicrafts", "Handicrafts", attributes=_HANDICRAFT_ATTRIBUTES),
        Category(
            "handicrafts.baskets",
            "Baskets (agaseke)",
            "handicrafts",
            ("4602",),
            (
                _enum("material", "Main plaiting material.", BASKET_MATERIALS, required=True),
                _text("technique", "Weaving technique or pattern.", 100),
            ),
        ),
        Category("handicrafts.imigongo", "Imigongo art", "handicrafts", ("4420", "9701")),
        Category("handicrafts.textiles", "Textiles", "handicrafts", ("6211", "6214", "6304")),
        Category("handicrafts.jewellery", "Jewellery", "handicrafts", ("7113", "7117")),
        Category("horticulture", "Horticulture", attributes=_HORTICULTURE_ATTRIBUTES),
        Category("horticulture.flowers", "Cut flowers", "horticulture", ("0603",)),
        Category("horticulture.fruit", "Fresh fruit", "horticulture", ("0803", "0804", "0810")),
        Category("horticulture.vegetables", "Fresh vegetables", "horticulture", ("0708", "0709")),
        Category("horticulture.spices", "Chili and spices", "horticulture", ("0904", "0910")),
    ]
)


def category_path(category_id: str) -> list[Category]:
    """Root first: `coffee.green` → [coffee, coffee.green]."""
    path: list[Category] = []
    current: str | None = category_id
    while current is not None:
        node = CATEGORIES[current]
        path.append(node)
        current = node.parent
    return path[::-1]


@cache
def category_label(category_id: str) -> str:
    """`Coffee > Green coffee`, the GMC `product_type` text."""
    return " > ".join(c.name for c in category_path(category_id))


def attribute_specs(category_id: str) -> dict[str, AttributeSpec]:
    specs: dict[str, AttributeSpec] = {}
    for node in category_path(category_id):
        specs.update({a.name: a for a in node.attributes})
    return specs


def allowed_hs_prefixes(category_id: str) -> tuple[str, ...]:
    """The most specific HS prefixes declared on the category or, failing that, its ancestors."""
    for node in reversed(category_path(category_id)):
        if node.hs_prefixes:
            return node.hs_prefixes
    return ()


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
    if len(gtin) not in (8, 12, 13, 14) or not gtin.isdigit():
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
TRANSITIONS: dict[str, tuple[frozenset[ListingStatus], ListingStatus]] = {
    "publish": (frozenset({ListingStatus.DRAFT, ListingStatus.WITHDRAWN}), ListingStatus.PUBLISHED),
    "withdraw": (frozenset({ListingStatus.PUBLISHED}), ListingStatus.WITHDRAWN),
    "delete": (
        frozenset({ListingStatus.DRAFT, ListingStatus.PUBLISHED, ListingStatus.WITHDRAWN}),
        ListingStatus.DELETED,
    ),
}


def next_status(current: ListingStatus, action: str) -> ListingStatus:
    sources, target = TRANSITIONS[action]
    if current not in sources:
        allowed = ", ".join(sorted(s.value for s in sources))
        raise Conflict(
            f"Cannot {action} a listing that is {current.value}; it must be {allowed}.", current_status=current.value
        )
    return target


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
