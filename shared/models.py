"""Column types every service's models use, declared once.

Each service keeps its own `Base` (its own `MetaData` with `shared.db.NAMING_CONVENTION`, so that
its migrations see only its tables); what they share is here: the auto-incrementing big id that
works on both databases, and JSON stored as TEXT.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import BigInteger, Integer, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["BigId", "JSONText"]

#: BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY auto-increments.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class JSONText(TypeDecorator[Any]):
    """JSON kept as TEXT on both databases (migrations declare plain `sa.Text`).

    TEXT rather than PostgreSQL's JSONB: no query filters inside these documents, and the raw text
    can go into a response untouched (`orjson.Fragment`) on the hot read paths.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else orjson.dumps(value).decode()

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else orjson.loads(value)
