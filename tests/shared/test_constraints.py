"""A violated constraint becomes the problem declared for it, by name, on SQLite and PostgreSQL;
an undeclared one is not dressed up as the caller's fault."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import CheckConstraint, Column, Integer, MetaData, String, Table, UniqueConstraint, insert
from sqlalchemy.exc import IntegrityError

from shared.constraints import violations_as_problems
from shared.db import NAMING_CONVENTION, Database
from shared.errors import Conflict, UnprocessableContent
from tests.support.databases import Databases

metadata = MetaData(naming_convention=NAMING_CONVENTION)
items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("owner", String(20), nullable=False),
    Column("sku", String(20), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("price", Integer, nullable=False),
    UniqueConstraint("owner", "sku"),
    CheckConstraint("qty >= 0", name="qty_not_negative"),
    CheckConstraint("price > 0", name="price_positive"),
)

PROBLEMS = {
    "uq_items_owner_sku": lambda: Conflict("SKU taken"),
    "ck_items_qty_not_negative": lambda: Conflict("stock below zero"),
    "ck_items_price_positive": lambda: UnprocessableContent("price must be above zero"),
}


@pytest.fixture(scope="module")
async def db(databases: Databases) -> AsyncIterator[Database]:
    database = Database(databases.url(f"constraints_{uuid.uuid4().hex[:6]}"))
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(insert(items).values(id=1, owner="a", sku="S1", qty=1, price=1))
    yield database
    await database.dispose()


@pytest.mark.parametrize(
    ("row", "problem", "detail"),
    [
        ({"id": 2, "owner": "a", "sku": "S1", "qty": 1, "price": 1}, Conflict, "SKU taken"),
        ({"id": 3, "owner": "a", "sku": "S3", "qty": -1, "price": 1}, Conflict, "stock below zero"),
        ({"id": 4, "owner": "a", "sku": "S4", "qty": 1, "price": 0}, UnprocessableContent, "price must be above zero"),
    ],
)
async def test_each_constraint_maps_to_its_own_problem(
    db: Database, row: dict[str, object], problem: type[Exception], detail: str
) -> None:
    with pytest.raises(problem, match=detail):
        async with db.transaction() as session:
            with violations_as_problems(PROBLEMS):
                await session.execute(insert(items).values(**row))


async def test_an_undeclared_violation_propagates(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            with violations_as_problems(PROBLEMS):
                await session.execute(insert(items).values(id=1, owner="b", sku="S9", qty=1, price=1))
