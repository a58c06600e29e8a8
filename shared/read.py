"""The request dependencies for queries: a read-only session that never commits, or the `Database`
itself for hot reads through `Database.fetch` (shared/fastread.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database

__all__ = ["DatabaseDep", "ReadSessionDep", "get_database"]


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


DatabaseDep = Annotated[Database, Depends(get_database)]


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_database(request).read() as session:
        yield session


ReadSessionDep = Annotated[AsyncSession, Depends(_read_session)]
