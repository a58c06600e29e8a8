"""SQL of the listings area: the listing rows, their SKUs and the search (keyset over any sort).

`ListingReads` are the hot reads (get by id, search) as Core statements compiled once and run
through `Database.fetch` (shared/fastread.py): rows come back as `ListingRow`s, which the response
builder reads like the ORM object, without a session or an identity map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.domain import ListingStatus
from services.catalogue.models import (
    Listing,
)
from shared.constraints import ConstraintProblems, flush_or_raise
from shared.db import Database
from shared.errors import Conflict, UnprocessableContent
from shared.fastread import Query, QueryCache
from shared.pagination import keyset_after
from shared.text import LIKE_ESCAPE, contains_pattern, prefix_pattern

__all__ = ["ListingReads", "ListingRepository", "ListingRow", "SearchFilters"]


@dataclass(frozen=True)
class SearchFilters:
    statuses: Sequence[str]
    seller_id: str | None = None
    category: str | None = None
    hs_prefix: str | None = None
    text: str | None = None
    currency: str | None = None
    min_price_minor: int | None = None
    max_price_minor: int | None = None
    availability: str | None = None


def _listing_problems(sku: str | None) -> ConstraintProblems:
    """What each constraint of `listings` means to the caller (shared/constraints.py)."""
    taken = f"SKU {sku} is" if sku else "This SKU is"
    return {
        "uq_listings_seller_id_sku": lambda: Conflict(f"{taken} already used by another of this seller's listings."),
        "ck_listings_on_hand_not_negative": lambda: Conflict("Stock on hand cannot go below zero."),
        "ck_listings_reserved_within_on_hand": lambda: Conflict(
            "Stock on hand cannot go below the quantity reserved for open orders."
        ),
        "ck_listings_price_positive": lambda: UnprocessableContent(
            "The price must be above zero.", errors=[{"field": "price", "reason": "must be above zero"}]
        ),
    }


class ListingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_listing(self, listing_id: str) -> Listing | None:
        return await self.session.get(Listing, listing_id, populate_existing=True)

    async def sku_owner(self, seller_id: str, sku: str) -> str | None:
        stmt = select(Listing.id).where(Listing.seller_id == seller_id, Listing.sku == sku)
        return await self.session.scalar(stmt)

    async def add_listing(self, listing: Listing) -> None:
        self.session.add(listing)
        await flush_or_raise(self.session, _listing_problems(listing.sku))

    async def flush(self) -> None:
        await flush_or_raise(self.session, _listing_problems(None))

    async def published_of_seller(self, seller_id: str) -> list[Listing]:
        stmt = (
            select(Listing)
            .where(Listing.seller_id == seller_id, Listing.status == ListingStatus.PUBLISHED.value)
            .order_by(Listing.id)
        )
        return list((await self.session.scalars(stmt)).all())

    async def search(
        self, filters: SearchFilters, *, order: Sequence[tuple[Any, bool]], after: Sequence[Any] | None, limit: int
    ) -> list[Listing]:
        """Keyset pagination over `order` (column, descending) pairs ending with the id."""
        stmt = select(Listing).where(Listing.status.in_(list(filters.statuses)))
        if filters.seller_id:
            stmt = stmt.where(Listing.seller_id == filters.seller_id)
        if filters.category:
            stmt = stmt.where(
                or_(
                    Listing.category == filters.category,
                    Listing.category.like(prefix_pattern(f"{filters.category}."), escape=LIKE_ESCAPE),
                )
            )
        if filters.hs_prefix:
            stmt = stmt.where(Listing.hs_code.like(prefix_pattern(filters.hs_prefix), escape=LIKE_ESCAPE))
        if filters.text:
            stmt = stmt.where(Listing.title.ilike(contains_pattern(filters.text), escape=LIKE_ESCAPE))
        if filters.currency:
            stmt = stmt.where(Listing.currency == filters.currency)
        if filters.min_price_minor is not None:
            stmt = stmt.where(Listing.price_minor >= filters.min_price_minor)
        if filters.max_price_minor is not None:
            stmt = stmt.where(Listing.price_minor <= filters.max_price_minor)
        if filters.availability:
            if filters.availability == "in_stock":
                stmt = stmt.where((Listing.on_hand - Listing.reserved) > 0)
            else:
                stmt = stmt.where(
                    (Listing.on_hand - Listing.reserved) <= 0, Listing.out_of_stock_policy == filters.availability
                )
        if after is not None:
            stmt = stmt.where(keyset_after(order, after))
        stmt = stmt.order_by(*(col.desc() if desc else col.asc() for col, desc in order)).limit(limit)
        return list((await self.session.scalars(stmt)).all())


_listings = Listing.__table__
_COLUMNS = tuple(c.key for c in _listings.c)


class ListingRow:
    """A listing read by `ListingReads`: its columns as attributes, like the ORM object reads."""

    __slots__ = _COLUMNS

    def __init__(self, row: Sequence[Any]) -> None:
        for name, value in zip(_COLUMNS, row, strict=True):
            setattr(self, name, value)

    def __getattr__(self, name: str) -> Any:  # only for mypy: every column is a slot
        raise AttributeError(name)


_GET = Query(select(_listings).where(_listings.c.id == bindparam("id")))
_SEARCHES = QueryCache()


def _column(attribute: Any) -> Any:
    """The Core column behind an ORM attribute (`Listing.created_at` → `listings.created_at`)."""
    return _listings.c[attribute.key]


def _search_statement(key: tuple[Any, ...], order: Sequence[tuple[Any, bool]]) -> Any:
    n_statuses, seller, category, hs, text, currency, low, high, availability, after = key
    c = _listings.c
    status_clauses: list[ColumnElement[bool]] = [c.status == bindparam(f"status{i}") for i in range(n_statuses)]
    stmt = select(_listings).where(or_(*status_clauses))
    if seller:
        stmt = stmt.where(c.seller_id == bindparam("seller_id"))
    if category:
        stmt = stmt.where(
            or_(c.category == bindparam("category"), c.category.like(bindparam("category_prefix"), escape=LIKE_ESCAPE))
        )
    if hs:
        stmt = stmt.where(c.hs_code.like(bindparam("hs_prefix"), escape=LIKE_ESCAPE))
    if text:
        stmt = stmt.where(c.title.ilike(bindparam("text"), escape=LIKE_ESCAPE))
    if currency:
        stmt = stmt.where(c.currency == bindparam("currency"))
    if low:
        stmt = stmt.where(c.price_minor >= bindparam("min_price_minor"))
    if high:
        stmt = stmt.where(c.price_minor <= bindparam("max_price_minor"))
    if availability == "in_stock":
        stmt = stmt.where((c.on_hand - c.reserved) > 0)
    elif availability:
        stmt = stmt.where(and_((c.on_hand - c.reserved) <= 0, c.out_of_stock_policy == bindparam("availability")))
    columns = [(_column(col), desc) for col, desc in order]
    if after:
        stmt = stmt.where(keyset_after(columns, [bindparam(f"after{i}") for i in range(len(columns))]))
    return stmt.order_by(*(col.desc() if desc else col.asc() for col, desc in columns)).limit(bindparam("limit"))


class ListingReads:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, listing_id: str) -> ListingRow | None:
        row = await self.db.fetch_one(_GET, {"id": listing_id})
        return None if row is None else ListingRow(row)

    async def search(
        self,
        filters: SearchFilters,
        *,
        sort: str,
        order: Sequence[tuple[Any, bool]],
        after: Sequence[Any] | None,
        limit: int,
    ) -> list[ListingRow]:
        """As `ListingRepository.search`; `sort` names `order` (the compiled statement is cached by it)."""
        f = filters
        availability = f.availability if f.availability in (None, "in_stock") else "policy"
        key = (
            len(f.statuses),
            bool(f.seller_id),
            bool(f.category),
            bool(f.hs_prefix),
            bool(f.text),
            bool(f.currency),
            f.min_price_minor is not None,
            f.max_price_minor is not None,
            availability,
            after is not None,
        )
        query = _SEARCHES.get((sort, *key), lambda: _search_statement(key, order))
        params: dict[str, Any] = {f"status{i}": s for i, s in enumerate(f.statuses)}
        params.update(
            limit=limit,
            seller_id=f.seller_id,
            category=f.category,
            category_prefix=prefix_pattern(f"{f.category}.") if f.category else None,
            hs_prefix=prefix_pattern(f.hs_prefix) if f.hs_prefix else None,
            text=contains_pattern(f.text) if f.text else None,
            currency=f.currency,
            min_price_minor=f.min_price_minor,
            max_price_minor=f.max_price_minor,
            availability=f.availability,
        )
        for i, value in enumerate(after or ()):
            params[f"after{i}"] = value
        return [ListingRow(r) for r in await self.db.fetch(query, params)]
