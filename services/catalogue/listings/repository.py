"""SQL of the listings area: the listing rows, their SKUs and the search (keyset over any sort)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.domain import ListingStatus
from services.catalogue.models import (
    Listing,
)
from shared.constraints import ConstraintProblems, flush_or_raise
from shared.errors import Conflict, UnprocessableContent
from shared.pagination import keyset_after
from shared.text import LIKE_ESCAPE, contains_pattern, prefix_pattern

__all__ = ["ListingRepository", "SearchFilters"]


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
