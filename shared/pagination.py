"""Opaque cursor pagination: a cursor is URL-safe base64 of a small JSON object (the last sort key).

Cursors are opaque to callers: they only pass back `next_cursor`. A cursor that does not decode is a
400 problem, never a 500. Decoding is not enough: a caller can hand-craft base64 JSON, so every part
is validated before it reaches SQL (`cursor_datetime`, `cursor_int`, `cursor_text`, `cursor_id`).
What used to slip through and give 500: a naive timestamp (PostgreSQL refuses to compare it with a
`timestamptz`), year 1 at +14:00 (out of range once moved to UTC), an integer of 2^63 or more (past
BIGINT), NUL or a lone surrogate in a text part (PostgreSQL refuses both).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, or_

from shared.errors import BadRequest

__all__ = [
    "CursorQuery",
    "LimitQuery",
    "MalformedCursor",
    "Page",
    "cursor_datetime",
    "cursor_id",
    "cursor_int",
    "cursor_text",
    "decode_cursor",
    "encode_cursor",
    "fetch_size",
    "keyset_after",
    "keyset_page",
    "split_page",
]

MAX_LIMIT = 200
#: Integers in a cursor must fit the BIGINT they are compared with.
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
#: A text sort key is at most a column's length; ids are uuid strings.
_MAX_TEXT = 1000
_MAX_ID = 64

LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")]
CursorQuery = Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page.")]


T = TypeVar("T")
R = TypeVar("R")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


class MalformedCursor(BadRequest):
    """A cursor we did not issue (400)."""

    def __init__(self, detail: str = "Malformed cursor; pass back the next_cursor you were given.") -> None:
        super().__init__(detail)


def decode_cursor(cursor: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise MalformedCursor() from None
    if not isinstance(position, dict) or any(k not in position for k in required):
        raise MalformedCursor()
    return position


def cursor_datetime(value: Any) -> datetime:
    """An ISO timestamp with an offset, that stays in range once moved to UTC."""
    if not isinstance(value, str) or len(value) > 64:
        raise MalformedCursor()
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise ValueError("naive")
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise MalformedCursor() from None


def cursor_int(value: Any, *, minimum: int = _INT_MIN, maximum: int = _INT_MAX) -> int:
    """An integer (not a bool, not a float) within a BIGINT, or the tighter bounds given."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise MalformedCursor()
    return value


def cursor_text(value: Any, *, max_length: int = _MAX_TEXT) -> str:
    """Text either database stores: bounded, no NUL, no lone surrogate."""
    if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
        raise MalformedCursor()
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedCursor() from None
    return value


def cursor_id(value: Any) -> str:
    """The id tie-breaker of a keyset (a uuid string or similar short key)."""
    return cursor_text(value, max_length=_MAX_ID)


def keyset_after(order: Sequence[tuple[Any, bool]], after: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after `after` in the ordering `order` of (column, descending) pairs.

    One implementation for any sort, mixed directions included; a portable OR of prefixes rather than
    a row-value comparison, which SQLite and PostgreSQL only agree on when every direction is the
    same. The last pair must be a unique tie-breaker (the id) for pages not to skip or repeat rows.
    """
    clauses = []
    for i, (col, desc) in enumerate(order):
        equal = [c == v for (c, _), v in zip(order[:i], after[:i], strict=True)]
        step = col < after[i] if desc else col > after[i]
        clauses.append(and_(*equal, step))
    return or_(*clauses)


def fetch_size(limit: int) -> int:
    """How many rows to ask the database for: one more than the page, to learn whether another follows
    without a COUNT (which costs a scan on every page)."""
    return limit + 1


def split_page(rows: Sequence[R], limit: int) -> tuple[list[R], bool]:
    """The first `limit` of the `fetch_size(limit)` rows fetched, and whether more follow."""
    return list(rows[:limit]), len(rows) > limit


def keyset_page(rows: Sequence[R], limit: int, position: Callable[[R], dict[str, Any]]) -> tuple[list[R], str | None]:
    """The page and its `next_cursor`: `position` of the page's last row, or None on the last page.

    Pattern: `rows = await repo.search(limit=fetch_size(limit), after=after)`, then
    `page, next_cursor = keyset_page(rows, limit, lambda r: {"t": r.created_at.isoformat(), "id": r.id})`.
    `position` must name the same sort key the cursor is decoded into, the unique tie-breaker last.
    """
    page, more = split_page(rows, limit)
    return page, encode_cursor(position(page[-1])) if more and page else None
