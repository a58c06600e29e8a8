"""Text helpers for SQL: LIKE patterns built from caller input match it literally."""

from __future__ import annotations

__all__ = ["LIKE_ESCAPE", "contains_pattern", "escape_like", "prefix_pattern"]

#: The escape character every pattern below uses; pass it as `escape=LIKE_ESCAPE` to like/ilike.
LIKE_ESCAPE = "\\"


def escape_like(value: str) -> str:
    """`value` with LIKE's wildcards (`%`, `_`) and the escape character itself made literal."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_pattern(value: str) -> str:
    return f"%{escape_like(value)}%"


def prefix_pattern(value: str) -> str:
    return f"{escape_like(value)}%"
