"""Opaque cursor pagination: a cursor is URL-safe base64 of a small JSON object (the last sort key).

Cursors are opaque to callers: they only pass back `next_cursor`. A cursor that does not decode is a
400 problem, never a 500.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel

from shared.errors import BadRequest

__all__ = ["CursorQuery", "LimitQuery", "Page", "decode_cursor", "encode_cursor"]

MAX_LIMIT = 200

LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")]
CursorQuery = Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page.")]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def decode_cursor(cursor: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise BadRequest("Malformed cursor; pass back the next_cursor you were given.") from None
    if not isinstance(position, dict) or any(k not in position for k in required):
        raise BadRequest("Malformed cursor; pass back the next_cursor you were given.")
    return position
