"""Cursors we never issued: hand-made base64 JSON that decodes but must still be 400, never 500."""

from __future__ import annotations

import base64
from typing import Any

import orjson

__all__ = ["HOSTILE_TIMESTAMPS", "forge", "forge_raw"]

#: Timestamps that once reached SQL: naive, out of range once moved to UTC, not text, absurd text.
HOSTILE_TIMESTAMPS: list[Any] = [
    "2026-01-01T00:00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    12345,
    None,
    "not a date",
]


def forge(position: Any) -> str:
    return forge_raw(orjson.dumps(position))


def forge_raw(raw: bytes) -> str:
    """`raw` as a cursor (for JSON orjson would refuse to write: big integers, lone surrogates)."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
