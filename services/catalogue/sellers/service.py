"""The seller projection: the catalogue's copy of each seller's status, from `sellers.events`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.domain import (
    ListingStatus,
    SellerStatus,
    WithdrawReason,
)
from services.catalogue.listings.service import take_down
from services.catalogue.models import (
    SellerProjection,
)
from services.catalogue.repositories import Repositories
from shared.db import utcnow


async def apply_seller_status(
    session: AsyncSession, seller_id: str, legal_name: str, status: SellerStatus, occurred_at: datetime
) -> None:
    """Keep the seller projection; a suspension takes all the seller's published listings down."""
    repo = Repositories(session)
    await repo.lock_writes()
    now = utcnow()
    seller = await repo.sellers.get_seller(seller_id)
    if seller is None:
        await repo.sellers.add_seller(
            SellerProjection(
                id=seller_id, legal_name=legal_name, status=status.value, status_at=occurred_at, updated_at=now
            )
        )
    elif occurred_at < seller.status_at:
        return  # an older event than the one already applied
    else:
        seller.legal_name = legal_name
        seller.status = status.value
        seller.status_at = occurred_at
        seller.updated_at = now
        await repo.listings.flush()
    if status is SellerStatus.SUSPENDED:
        listings = await repo.listings.published_of_seller(seller_id)
        await take_down(session, repo, listings, ListingStatus.WITHDRAWN, WithdrawReason.SELLER_SUSPENDED.value)
