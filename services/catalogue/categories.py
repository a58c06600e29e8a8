"""The seeded category tree: each category with the HS headings its goods may be declared under and
the product attributes it takes (a child inherits its parent's attributes).

Data, not rules: the checks that use it live in `domain.py`. Changing the tree is a code change
reviewed like one, because listings already filed under a category depend on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from typing import Any

# --------------------------------------------------------------------------------------------------
# Product attributes


class AttributeKind(StrEnum):
    ENUM = "enum"
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"


#: As shared/types.py's Text: controls (C0 but tab and line breaks, DEL, C1), lone surrogates (orjson
#: cannot encode them: the attributes column is JSON text) and the two XML non-characters.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
#: A number written as a string: ASCII only (`Decimal("١٢٠٠")` is 1200), no `_` separators, no exponent.
_NUMBER = re.compile(r"-?[0-9]{1,30}(\.[0-9]{1,30})?", re.ASCII)


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
        if isinstance(value, str) and not _NUMBER.fullmatch(value.strip()):
            raise ValueError("must be a number written with ASCII digits")
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
