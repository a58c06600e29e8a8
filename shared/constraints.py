"""One mapping from a violated constraint to the problem the caller sees.

Before this, every IntegrityError in a repository read as the one case its author had in mind ("SKU
already used"), including CHECK violations on stock and price. A service declares, per constraint
name (the naming convention of shared/db.py makes the names stable), which typed error of
shared/errors.py it means; `flush_or_raise` flushes and translates. A violation that is not declared
is a bug, not the caller's fault: it propagates (500, logged) instead of being dressed as a 409.

The name is read from the driver's message, which is the only place both databases report it:
PostgreSQL says `violates ... constraint "ck_listings_price_positive"`; SQLite says
`CHECK constraint failed: ck_listings_price_positive` for a named CHECK and
`UNIQUE constraint failed: listings.seller_id, listings.sku` for a UNIQUE, which the naming
convention (`uq_<table>_<columns>`) turns back into the name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Problem

__all__ = ["ConstraintProblems", "constraint_name", "flush_or_raise", "violations_as_problems"]

#: constraint name -> the problem it means for the caller (a factory: the detail may name the input).
ConstraintProblems = Mapping[str, Callable[[], Problem]]

_PG_NAME = re.compile(r'constraint "([A-Za-z0-9_]+)"')
_SQLITE_CHECK = re.compile(r"CHECK constraint failed: ([A-Za-z0-9_]+)")
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: ([A-Za-z0-9_., ]+)")


def constraint_name(error: IntegrityError) -> str | None:
    """The violated constraint's name, on PostgreSQL and SQLite; None when the driver does not say."""
    message = str(error.orig)
    if found := _PG_NAME.search(message):
        return found.group(1)
    if found := _SQLITE_CHECK.search(message):
        return found.group(1)
    if found := _SQLITE_UNIQUE.search(message):
        columns = [part.strip() for part in found.group(1).split(",")]
        table = columns[0].split(".")[0]
        return "_".join(["uq", table, *(c.split(".")[-1] for c in columns)])
    return None


@contextmanager
def violations_as_problems(problems: ConstraintProblems) -> Iterator[None]:
    """Around a statement: a declared constraint violation becomes its problem, anything else propagates."""
    try:
        yield
    except IntegrityError as error:
        make = problems.get(constraint_name(error) or "")
        if make is None:
            raise
        raise make() from None


async def flush_or_raise(session: AsyncSession, problems: ConstraintProblems) -> None:
    """Flush the session's pending writes under `violations_as_problems`."""
    with violations_as_problems(problems):
        await session.flush()
