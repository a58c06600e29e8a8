"""Reusable pydantic v2 field types that close whole classes of bad input at the edge.

Each type exists because a looser one let something through that later broke a database, a feed or a
uniqueness rule (issue 7):

- Text refuses NUL (PostgreSQL cannot store it; SQLite can, so the two databases disagreed), lone
  surrogates (they cannot be encoded to UTF-8, so the driver raised a 500) and control characters
  (XML 1.0 feeds cannot carry them).
- Codes are ASCII only and checked with ASCII-only patterns: `\\d` matches every Unicode digit, so a
  TIN written with fullwidth or Arabic-Indic digits was a second seller beside the ASCII one.
- Integers fit their column (PostgreSQL INTEGER is 32-bit, BIGINT 64-bit) and JSON booleans are not
  numbers (pydantic's lax mode reads `true` as 1).
- Datetimes are aware, normalised to UTC and bounded so that converting them cannot overflow
  (`0001-01-01T00:00:00+14:00` is a valid ISO string whose UTC form is before year 1).
- `PatchModel` makes an explicit `null` for a field that cannot be cleared a 422 naming the field.

Every failure is a `ValueError` (or pydantic's own error), so FastAPI turns it into a 422 problem that
names the field (see `shared.errors.validation_problem`); nothing here can raise anything else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Final, TypeVar

from annotated_types import GroupedMetadata
from iso4217 import Currency as _Iso4217
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

__all__ = [
    "DATETIME_MAX",
    "DATETIME_MIN",
    "DATE_MAX",
    "DATE_MIN",
    "INT32_MAX",
    "INT32_MIN",
    "INT64_MAX",
    "INT64_MIN",
    "ISO_COUNTRIES",
    "Amount",
    "Bool",
    "BoundedDate",
    "Code",
    "Country",
    "Currency",
    "DecimalAmount",
    "Email",
    "Gtin",
    "HsCode",
    "Id",
    "Int32",
    "Int64",
    "IntRange",
    "Line",
    "NationalTariffCode",
    "NonNegativeInt32",
    "Nullable",
    "PatchModel",
    "Phone",
    "PositiveInt32",
    "RequestModel",
    "Sku",
    "Text",
    "Tin",
    "UnLocode",
    "Url",
    "UtcDatetime",
]

T = TypeVar("T")

# --------------------------------------------------------------------------------------------------
# Text

# Refused everywhere: C0 controls, DEL, C1 controls, lone surrogates and the two non-characters that
# XML and many decoders reject. Multi-line text keeps tab, line feed and carriage return (XML 1.0
# allows exactly those three); a single line keeps none of them.
_BAD_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_BAD_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _refuse(pattern: re.Pattern[str], what: str) -> Any:
    def check(value: str) -> str:
        found = pattern.search(value)
        if found is not None:
            raise ValueError(f"must not contain {what} (U+{ord(found.group()):04X} at position {found.start()})")
        return value

    return check


def _must_be_str(value: Any) -> Any:
    """Refuse a lone surrogate before pydantic-core sees it: its own error for that is a bare 'not a string'."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        if found is not None:
            raise ValueError(f"must not contain a lone surrogate (U+{ord(found.group()):04X} at {found.start()})")
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Text(GroupedMetadata):
    """Free text (a description, a note): stripped, bounded, tab and line breaks allowed, no other controls.

    Usage: `Description = Annotated[str, Text(5000)]`.
    """

    max_length: int
    min_length: int = 1

    def __iter__(self) -> Iterator[object]:
        # The constraints come first so that they make one native str schema (strip, then lengths);
        # a validator before them would make pydantic check the lengths before stripping ("   " passed).
        yield StringConstraints(strip_whitespace=True, min_length=self.min_length, max_length=self.max_length)
        yield BeforeValidator(_must_be_str)
        yield AfterValidator(_refuse(_BAD_IN_TEXT, "control characters"))


@dataclass(frozen=True)
class Line(GroupedMetadata):
    """A single line (a name, a title): stripped, bounded, no control characters or line breaks at all.

    Usage: `LegalName = Annotated[str, Line(200, min_length=2)]`.
    """

    max_length: int
    min_length: int = 1

    def __iter__(self) -> Iterator[object]:
        # The constraints come first so that they make one native str schema (strip, then lengths);
        # a validator before them would make pydantic check the lengths before stripping ("   " passed).
        yield StringConstraints(strip_whitespace=True, min_length=self.min_length, max_length=self.max_length)
        yield BeforeValidator(_must_be_str)
        yield AfterValidator(_refuse(_BAD_IN_LINE, "control characters or line breaks"))


Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    BeforeValidator(_must_be_str),
    AfterValidator(_refuse(_BAD_IN_LINE, "control characters")),
]
"""An opaque id in a path, a query or a body (a uuid, a marketplace id): 1-64 characters, no controls.

Not stripped: an id is compared as given. Usage: `seller_id: Id` (a path parameter too).
"""

Email = Annotated[
    EmailStr,
    StringConstraints(max_length=254),
    BeforeValidator(_must_be_str),
    AfterValidator(_refuse(_BAD_IN_LINE, "control characters")),
]
"""An e-mail address (RFC 5321 caps a path at 254 octets), never NUL or a lone surrogate."""


def _no_controls_in_url(value: Any) -> Any:
    """A URL parser percent-encodes a NUL or a control it finds (`/a%00b`); a client that sent one
    made a mistake, so it is refused, as a lone surrogate is, before parsing."""
    if isinstance(value, str):
        found = _BAD_IN_LINE.search(value)
        if found is not None:
            raise ValueError(f"must not contain control characters (U+{ord(found.group()):04X} at {found.start()})")
    return value


Url = Annotated[HttpUrl, Field(max_length=2000), BeforeValidator(_no_controls_in_url)]
"""An http(s) URL of at most 2000 characters, refused if the raw text has controls or lone surrogates."""


# --------------------------------------------------------------------------------------------------
# ASCII codes

#: Pattern escapes whose meaning is Unicode-wide in Rust regex (pydantic's engine) and in Python `re`.
_UNICODE_CLASSES = re.compile(r"\\[dDwWsSbB]")


def _ascii_only(value: Any) -> Any:
    if isinstance(value, str) and not value.isascii():
        raise ValueError("must contain ASCII characters only")
    return value


@dataclass(frozen=True)
class Code(GroupedMetadata):
    """A code (TIN, HS code, GTIN...): ASCII only, whole-string match of an ASCII-only pattern.

    Non-ASCII input is refused before matching, with its own message, so a fullwidth or Arabic-Indic
    digit can never reach the pattern. The pattern must be anchored and must not use `\\d`, `\\w`,
    `\\s` or `\\b` (Unicode-wide): write `[0-9]`; a bad pattern fails at import, not at request time.
    `check` is an optional extra `str -> str` (a check digit, a lookup) raising ValueError.

    Usage: `Tin = Annotated[str, Code(r"^[0-9]{9}$", description="Rwanda TIN: 9 digits.")]`.
    """

    pattern: str
    description: str
    examples: tuple[str, ...] = ()
    max_length: int | None = None
    check: Callable[[str], str] | None = None

    def __post_init__(self) -> None:
        if not (self.pattern.startswith("^") and self.pattern.endswith("$")):
            raise ValueError(f"code pattern {self.pattern!r} must be anchored with ^ and $")
        if _UNICODE_CLASSES.search(self.pattern):
            raise ValueError(f"code pattern {self.pattern!r} uses a Unicode-wide class; write [0-9], [A-Za-z]")
        re.compile(self.pattern, re.ASCII)  # fails here for a pattern that is not a regular expression

    def __iter__(self) -> Iterator[object]:
        yield StringConstraints(strip_whitespace=True, pattern=self.pattern, max_length=self.max_length)
        yield BeforeValidator(_ascii_only)  # after the constraints, so it runs before them (see Line)
        yield Field(
            description=self.description,
            examples=list(self.examples) or None,
            json_schema_extra={"pattern": self.pattern},
        )
        if self.check is not None:
            yield AfterValidator(self.check)


def _gtin_check_digit(value: str) -> str:
    """GS1 mod-10: weights 3,1,3,1... from the digit left of the check digit."""
    body, check = value[:-1], int(value[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    if (10 - total % 10) % 10 != check:
        raise ValueError("has a wrong check digit")
    return value


#: ISO 3166-1 alpha-2, officially assigned codes (249), as in tzdata's iso3166.tab. A frozen list rather
#: than a dependency: pycountry is not one, and the set changes about once a decade.
ISO_COUNTRIES: Final = frozenset(
    """
        AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE
        BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD
        CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
        DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF
        GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU
        ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
        KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
        MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
        NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
        PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI
        SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK
        TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
        VN VU WF WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 (one line of codes is easier to compare with the standard than 249 strings)
)


def _known_country(value: str) -> str:
    if value not in ISO_COUNTRIES:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return value


def _known_currency(value: str) -> str:
    try:
        _Iso4217(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code") from None
    return value


def _known_locode_country(value: str) -> str:
    # UN/LOCODE also uses XZ for installations in international waters.
    if value[:2] not in ISO_COUNTRIES and value[:2] != "XZ":
        raise ValueError(f"{value[:2]!r} is not an ISO 3166-1 alpha-2 country code")
    return value


Tin = Annotated[str, Code(r"^[0-9]{9}$", description="Rwanda TIN: 9 ASCII digits.", examples=("123456789",))]
HsCode = Annotated[str, Code(r"^[0-9]{6}$", description="HS subheading: 6 ASCII digits.", examples=("090111",))]
NationalTariffCode = Annotated[
    str, Code(r"^[0-9]{8,10}$", description="National tariff line: 8-10 ASCII digits.", examples=("0901110000",))
]
Gtin = Annotated[
    str,
    Code(
        r"^([0-9]{8}|[0-9]{12,14})$",
        description="GTIN-8/12/13/14 with a valid GS1 check digit.",
        examples=("4006381333931",),
        check=_gtin_check_digit,
    ),
]
Phone = Annotated[
    str, Code(r"^\+[1-9][0-9]{7,14}$", description="E.164: + then 8 to 15 ASCII digits.", examples=("+250788123456",))
]
Country = Annotated[
    str, Code(r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code.", examples=("RW",), check=_known_country)
]
Currency = Annotated[
    str, Code(r"^[A-Z]{3}$", description="ISO 4217 currency code.", examples=("USD",), check=_known_currency)
]
UnLocode = Annotated[
    str,
    Code(
        r"^[A-Z]{2}[A-Z2-9]{3}$",
        description="UN/LOCODE: country code then 3 letters or digits 2-9.",
        examples=("RWKGL",),
        check=_known_locode_country,
    ),
]
Sku = Annotated[
    str,
    Code(
        r"^[A-Za-z0-9][A-Za-z0-9._/-]*$",
        description="The seller's stock-keeping unit: ASCII letters, digits and . _ / -, at most 50.",
        examples=("COF-RB-250",),
        max_length=50,
    ),
]

# --------------------------------------------------------------------------------------------------
# Integers and booleans

INT32_MIN: Final = -(2**31)
INT32_MAX: Final = 2**31 - 1
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1


def _not_a_bool(value: Any) -> Any:
    """JSON `true` is not 1. Numeric strings stay accepted: query parameters arrive as strings."""
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    if isinstance(value, str) and not _INTEGER.fullmatch(value.strip()):
        raise ValueError("must be an integer written with ASCII digits")
    return value


_INTEGER = re.compile(r"[-+]?[0-9]+", re.ASCII)


@dataclass(frozen=True)
class IntRange(GroupedMetadata):
    """An integer within [ge, le]; refuses booleans; accepts ASCII numeric strings (query parameters).

    Usage: `Grams = Annotated[int, IntRange(1, 1_000_000)]`.
    """

    ge: int
    le: int

    def __iter__(self) -> Iterator[object]:
        yield BeforeValidator(_not_a_bool)
        yield Field(ge=self.ge, le=self.le)


Int32 = Annotated[int, IntRange(INT32_MIN, INT32_MAX)]
"""Fits an INTEGER column. Usage: `delta: Int32`."""
Int64 = Annotated[int, IntRange(INT64_MIN, INT64_MAX)]
"""Fits a BIGINT column. Usage: `price_minor: Int64`."""
NonNegativeInt32 = Annotated[int, IntRange(0, INT32_MAX)]
"""A count that fits an INTEGER column (stock on hand). Usage: `on_hand: NonNegativeInt32 = 0`."""
PositiveInt32 = Annotated[int, IntRange(1, INT32_MAX)]
"""A quantity of at least one that fits an INTEGER column. Usage: `quantity: PositiveInt32`."""


def _not_a_number(value: Any) -> Any:
    """`0`/`1` are not booleans; JSON true/false and the strings a query parameter carries are."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("must be a boolean, not a number")
    return value


Bool = Annotated[bool, BeforeValidator(_not_a_number)]
"""A boolean that is never a number. Usage: `identifier_exists: Bool = True`."""

# --------------------------------------------------------------------------------------------------
# Dates and times

#: The accepted range, in UTC. The upper bound leaves a year of headroom so that business code may add
#: a day or shift to any time zone without overflowing `datetime`; the lower bound refuses the
#: obviously-wrong (year 1 placeholders) for a trade platform founded in this century.
DATETIME_MIN: Final = datetime(1900, 1, 1, tzinfo=UTC)
DATETIME_MAX: Final = datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
DATE_MIN: Final = date(1900, 1, 1)
DATE_MAX: Final = date(9998, 12, 31)


def _to_utc(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # year 1 at +14:00 is before year 1 in UTC: not a ValueError, would be a 500
        raise ValueError(f"must lie between {DATETIME_MIN.isoformat()} and {DATETIME_MAX.isoformat()}") from None
    if not DATETIME_MIN <= utc <= DATETIME_MAX:
        raise ValueError(f"must lie between {DATETIME_MIN.isoformat()} and {DATETIME_MAX.isoformat()}")
    return utc


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""An aware datetime (naive refused), normalised to UTC, in [1900, 9998]. Usage: `as_of: UtcDatetime`."""

BoundedDate = Annotated[date, Field(ge=DATE_MIN, le=DATE_MAX)]
"""A calendar date in [1900-01-01, 9998-12-31]. Usage: `issued_on: BoundedDate`."""

# --------------------------------------------------------------------------------------------------
# Decimal amounts


def _decimal_input(value: Any) -> Any:
    """Amounts travel as decimal strings (or integers): a JSON float has already lost digits."""
    if isinstance(value, bool | float):
        raise ValueError('must be a decimal string such as "12.50"')
    if isinstance(value, str):
        if not value.isascii():
            raise ValueError("must be written with ASCII digits")
        if not _DECIMAL.fullmatch(value.strip()):
            raise ValueError('must be a decimal number such as "12.50"')
    return value


_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)


@dataclass(frozen=True)
class DecimalAmount(GroupedMetadata):
    """A finite Decimal that fits `Numeric(max_digits, decimal_places)`; strings or integers, never floats.

    Usage: `Rate = Annotated[Decimal, DecimalAmount(20, 12, gt=0)]`.
    """

    max_digits: int
    decimal_places: int
    ge: Decimal | int | None = None
    gt: Decimal | int | None = None

    def __iter__(self) -> Iterator[object]:
        whole, places = self.max_digits - self.decimal_places, self.decimal_places
        pattern = rf"^-?[0-9]{{1,{whole}}}(\.[0-9]{{1,{places}}})?$"
        yield BeforeValidator(_decimal_input)
        yield Field(
            max_digits=self.max_digits,
            decimal_places=self.decimal_places,
            allow_inf_nan=False,
            ge=self.ge,
            gt=self.gt,
        )
        yield WithJsonSchema({"type": "string", "pattern": pattern, "examples": ["12.50"]})


Amount = Annotated[Decimal, DecimalAmount(18, 6, ge=0)]
"""A non-negative money amount fitting NUMERIC(18, 6). Usage: `amount: Amount`."""

# --------------------------------------------------------------------------------------------------
# Request bodies


class RequestModel(BaseModel):
    """Base of every request body: an unknown field is a 422 naming it, never silently dropped.

    A misspelt optional field (`"qunatity"`) would otherwise validate as absent and the request would
    succeed doing something other than what the client meant. Usage: `class OrderCreate(RequestModel)`.
    """

    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------------------------------
# PATCH


class _NullableMarker:
    """Metadata on a PatchModel field whose value may be cleared with an explicit null."""

    def __repr__(self) -> str:
        return "Nullable"


_NULLABLE: Final = _NullableMarker()

Nullable = Annotated[T | None, _NULLABLE]
"""A PatchModel field that `null` clears. Usage: `brand: Nullable[ShortText] = None`."""


class PatchModel(RequestModel):
    """Base of partial updates: absent fields stay untouched, `null` only clears a `Nullable` field.

    Pattern for a service:

        class ListingUpdate(PatchModel):
            title: Title | None = None         # may be absent; `null` is a 422 naming `title`
            brand: Nullable[ShortText] = None  # may be absent, or `null` to clear it

        for name, value in update.changes().items():   # only the fields the client sent
            setattr(row, name, value)

    Without this, `{"district": null}` validated as "absent or None" and reached a NOT NULL column
    (a 500) or was stored as the string "None".
    """

    _nullable_cache: ClassVar[dict[type[BaseModel], frozenset[str]]] = {}

    @classmethod
    def nullable_fields(cls) -> frozenset[str]:
        """The fields declared `Nullable[...]`: the only ones an explicit null may clear."""
        found = cls._nullable_cache.get(cls)
        if found is None:
            found = frozenset(
                name
                for name, field in cls.model_fields.items()
                if any(isinstance(meta, _NullableMarker) for meta in field.metadata)
            )
            cls._nullable_cache[cls] = found
        return found

    @field_validator("*", mode="after")
    @classmethod
    def _null_only_where_nullable(cls, value: Any, info: ValidationInfo) -> Any:
        # Runs only for fields present in the input (defaults are not validated), i.e. an explicit null.
        if value is None and info.field_name not in cls.nullable_fields():
            raise ValueError("may not be null; omit the field to leave it unchanged")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, with their values (None means "clear"), for the update."""
        return {name: getattr(self, name) for name in self.model_fields_set}
