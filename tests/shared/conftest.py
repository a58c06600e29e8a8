from __future__ import annotations

from collections.abc import AsyncIterator
from itertools import count

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from shared.db import Database
from shared.tables import platform_metadata
from tests.support.databases import Databases

_ids = count()

#: A table standing for "the effect" of a handler in the shared-mechanism tests.
test_metadata = MetaData()
effects_table = Table(
    "effects",
    test_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("note", String(200), nullable=False),
)


@pytest.fixture
async def db(databases: Databases) -> AsyncIterator[Database]:
    """A fresh database (SQLite or PostgreSQL, as the run is) with the platform tables."""
    database = Database(databases.url(f"shared{next(_ids)}"))
    async with database.engine.begin() as conn:
        await conn.run_sync(platform_metadata.create_all)
        await conn.run_sync(test_metadata.create_all)
    yield database
    await database.dispose()
