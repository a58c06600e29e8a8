"""All SQL of the sellers service. Repositories flush; they never commit.

`SellerReads` are the hot reads (get by id, search): Core statements compiled once, run through
`Database.fetch` (shared/fastread.py) without the ORM, one round trip each (the seller rows joined
to their sectors). Writes keep the ORM, where the unit of work earns its place.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from services.sellers.models import Seller, SellerDocument, SellerSector, SellerStatusChange
from shared.constraints import flush_or_raise
from shared.db import Database
from shared.errors import Conflict
from shared.fastread import Query, QueryCache
from shared.text import LIKE_ESCAPE, contains_pattern


class SellerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, seller_id: str) -> Seller | None:
        # One round trip for the seller and its sectors (a list uses the relationship's selectin).
        return await self.session.get(Seller, seller_id, options=[joinedload(Seller.sectors)])

    async def tin_taken(self, tin: str) -> bool:
        return (await self.session.scalar(select(Seller.id).where(Seller.tin == tin))) is not None

    async def add(self, seller: Seller) -> None:
        self.session.add(seller)
        # Two registrations of one TIN racing: the unique constraint decides.
        taken = {"uq_sellers_tin": lambda: Conflict(f"A seller with TIN {seller.tin} is already registered.")}
        await flush_or_raise(self.session, taken)

    async def set_status(self, seller: Seller, expected: str, new: str, at: datetime) -> bool:
        """Compare-and-set of the status, so two officers deciding at once cannot both win."""
        result = await self.session.execute(
            update(Seller)
            .where(Seller.id == seller.id, Seller.status == expected)
            .values(status=new, updated_at=at, version=Seller.version + 1)
            .execution_options(synchronize_session=False)
        )
        if not getattr(result, "rowcount", 0):
            return False
        await self.session.refresh(seller)
        return True

    async def replace_sectors(self, seller: Seller, sectors: list[str]) -> None:
        seller.sectors = [SellerSector(seller_id=seller.id, sector=s) for s in sorted(set(sectors))]

    async def search(
        self,
        *,
        limit: int,
        after: tuple[datetime, str] | None,
        status: str | None,
        sector: str | None,
        district: str | None,
        name: str | None,
        only_id: str | None,
    ) -> list[Seller]:
        stmt = select(Seller)
        if status:
            stmt = stmt.where(Seller.status == status)
        if district:
            stmt = stmt.where(Seller.district == district)
        if sector:
            stmt = stmt.where(Seller.id.in_(select(SellerSector.seller_id).where(SellerSector.sector == sector)))
        if name:
            stmt = stmt.where(Seller.legal_name.ilike(contains_pattern(name), escape=LIKE_ESCAPE))
        if only_id:
            stmt = stmt.where(Seller.id == only_id)
        if after:
            created, last_id = after
            stmt = stmt.where(or_(Seller.created_at > created, and_(Seller.created_at == created, Seller.id > last_id)))
        stmt = stmt.order_by(Seller.created_at, Seller.id).limit(limit)
        return list((await self.session.scalars(stmt)).all())

    async def add_history(self, change: SellerStatusChange) -> None:
        self.session.add(change)
        await self.session.flush()

    async def history(self, seller_id: str) -> list[SellerStatusChange]:
        stmt = (
            select(SellerStatusChange).where(SellerStatusChange.seller_id == seller_id).order_by(SellerStatusChange.id)
        )
        return list((await self.session.scalars(stmt)).all())

    async def add_document(self, document: SellerDocument) -> None:
        self.session.add(document)
        await self.session.flush()

    async def documents(self, seller_id: str) -> list[SellerDocument]:
        stmt = (
            select(SellerDocument)
            .where(SellerDocument.seller_id == seller_id)
            .order_by(SellerDocument.created_at, SellerDocument.id)
        )
        return list((await self.session.scalars(stmt)).all())


_sellers = Seller.__table__
_sectors = SellerSector.__table__
_SELLER_COLUMNS = tuple(c.key for c in _sellers.c)


def _seller_with_sectors(page: Any) -> Any:
    """`page` (the sellers table or a page of it) joined to the sectors, one row per sector."""
    return (
        select(*page.c, _sectors.c.sector)
        .select_from(page.outerjoin(_sectors, _sectors.c.seller_id == page.c.id))
        .order_by(page.c.created_at, page.c.id, _sectors.c.sector)
    )


_GET = Query(_seller_with_sectors(select(_sellers).where(_sellers.c.id == bindparam("id")).subquery("s")))
_SEARCHES = QueryCache()


def _grouped(rows: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Rows of (seller columns..., sector) into one dict per seller, sectors as a sorted list."""
    sellers: dict[str, dict[str, Any]] = {}
    width = len(_SELLER_COLUMNS)
    for row in rows:
        found = sellers.get(row[0])
        if found is None:
            found = sellers[row[0]] = dict(zip(_SELLER_COLUMNS, row[:width], strict=True))
            found["sectors"] = []
        if row[width] is not None:
            found["sectors"].append(row[width])
    return list(sellers.values())


def _search_statement(key: tuple[bool, ...]) -> Any:
    status, district, sector, name, only_id, after = key
    c = _sellers.c
    stmt = select(_sellers)
    if status:
        stmt = stmt.where(c.status == bindparam("status"))
    if district:
        stmt = stmt.where(c.district == bindparam("district"))
    if sector:
        stmt = stmt.where(c.id.in_(select(_sectors.c.seller_id).where(_sectors.c.sector == bindparam("sector"))))
    if name:
        stmt = stmt.where(c.legal_name.ilike(bindparam("name"), escape=LIKE_ESCAPE))
    if only_id:
        stmt = stmt.where(c.id == bindparam("only_id"))
    if after:
        stmt = stmt.where(
            or_(
                c.created_at > bindparam("after_t"),
                and_(c.created_at == bindparam("after_t"), c.id > bindparam("after_id")),
            )
        )
    page = stmt.order_by(c.created_at, c.id).limit(bindparam("limit")).subquery("page")
    return _seller_with_sectors(page)


class SellerReads:
    """The sellers' hot reads, as plain dicts (column name → value, plus `sectors`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, seller_id: str) -> dict[str, Any] | None:
        found = _grouped(await self.db.fetch(_GET, {"id": seller_id}))
        return found[0] if found else None

    async def search(
        self,
        *,
        limit: int,
        after: tuple[datetime, str] | None,
        status: str | None,
        sector: str | None,
        district: str | None,
        name: str | None,
        only_id: str | None,
    ) -> list[dict[str, Any]]:
        key = (bool(status), bool(district), bool(sector), bool(name), bool(only_id), after is not None)
        query = _SEARCHES.get(key, lambda: _search_statement(key))
        params: dict[str, Any] = {
            "limit": limit,
            "status": status,
            "district": district,
            "sector": sector,
            "name": contains_pattern(name) if name else None,
            "only_id": only_id,
        }
        if after is not None:
            params["after_t"], params["after_id"] = after
        return _grouped(await self.db.fetch(query, params))
