"""The request dependency for queries: a read-only session that never commits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database

__all__ = ["ReadSessionDep", "get_database"]


def get_database(request: Request) -> Database:
    db = request.app.state.db
    assert isinstance(db, Database)
    return db


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_database(request).read() as session:
        yield session


ReadSessionDep = Annotated[AsyncSession, Depends(_read_session)]
