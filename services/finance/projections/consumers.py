"""Event handlers: the seller projection (from `sellers.events`) and the order projection (from `orders.events`).

Each handler runs in the consumer runner's one transaction, after the event's inbox row was claimed
(`shared.consumer`): a redelivered event is skipped before it reaches these handlers. Every event a
contract accepts is applied or deliberately ignored here, never left to fail into the DLQ.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.finance.config import FinanceConfig
from services.finance.models import OrderProjection, SellerProjection
from services.finance.projections import service
from services.finance.projections.repository import ORDERS_STREAM, SELLERS_STREAM, ProjectionRepository
from shared.consumer import Handler
from shared.contracts import CloudEvent
from shared.contracts import orders as order_events
from shared.contracts import sellers as seller_events
from shared.db import utcnow
from shared.money import to_minor

log = logging.getLogger("ewtp.finance.consumers")

SELLERS_GROUP = "finance.sellers"
ORDERS_GROUP = "finance.orders"
#: Ids are stored in 64-character columns (the order contract bounds its ids the same way).
MAX_ID = 64

_SELLER_CONTRACTS: dict[str, type[seller_events._SellerEvent]] = {
    c.TYPE: c
    for c in (
        seller_events.SellerRegisteredV1,
        seller_events.SellerVerifiedV1,
        seller_events.SellerRejectedV1,
        seller_events.SellerSuspendedV1,
        seller_events.SellerReinstatedV1,
    )
}


def _utc(at: datetime) -> datetime:
    """The contracts accept a naive time; read it as UTC (a UTC column refuses naive values)."""
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    try:
        return at.astimezone(UTC)
    except OverflowError:  # year 1 at +14:00: not a time any producer meant
        return utcnow()


async def on_seller_event(session: AsyncSession, event: CloudEvent) -> None:
    """Keep the seller's standing; a suspension holds its open applications, a reinstatement releases them."""
    data = _SELLER_CONTRACTS[event.type].from_event(event)
    if len(data.seller_id) > MAX_ID:
        log.warning("ignoring %s for a seller id longer than %d characters", event.type, MAX_ID)
        return  # no key, hence no application, can carry such an id
    at = _utc(data.occurred_at)
    repo = ProjectionRepository(session)
    now = utcnow()
    if isinstance(data, seller_events.SellerRegisteredV1):
        await repo.set_sectors(data.seller_id, [s[:32] for s in data.sectors])
    seller = await repo.seller(data.seller_id)
    if seller is None:
        await repo.add_seller(
            SellerProjection(
                id=data.seller_id,
                legal_name=data.legal_name[:200],
                status=data.status[:30],
                status_at=at,
                updated_at=now,
            )
        )
    elif at < seller.status_at:
        return  # older than the standing already applied: a late registration only brought its sectors
    else:
        seller.legal_name, seller.status, seller.status_at, seller.updated_at = (
            data.legal_name[:200],
            data.status[:30],
            at,
            now,
        )
    await repo.advance_mark(SELLERS_STREAM, event.id[:64], at)
    if isinstance(data, seller_events.SellerSuspendedV1):
        await service.hold_for_seller(session, data.seller_id, f"seller suspended: {data.reason or 'no reason given'}")
    elif isinstance(data, seller_events.SellerReinstatedV1):
        await service.release_for_seller(session, data.seller_id, "seller reinstated")


def _minor(amount: str, currency: str) -> int:
    """The amount in minor units; 0 for a code without minor units (then it can back no advance)."""
    try:
        return to_minor(Decimal(amount), currency)
    except ValueError:
        return 0


#: The events that carry priced lines with their sellers.
_PRICED: dict[str, type[order_events._OrderFacts]] = {
    order_events.OrderConfirmedV1.TYPE: order_events.OrderConfirmedV1,
    order_events.OrderShippedV1.TYPE: order_events.OrderShippedV1,
    order_events.OrderDeliveredV1.TYPE: order_events.OrderDeliveredV1,
}

_STAGE = {
    order_events.OrderPlacedV1.TYPE: "placed_at",
    order_events.OrderConfirmedV1.TYPE: "confirmed_at",
    order_events.OrderShippedV1.TYPE: "shipped_at",
    order_events.OrderDeliveredV1.TYPE: "delivered_at",
    order_events.OrderCancelledV1.TYPE: "cancelled_at",
    order_events.OrderRejectedV1.TYPE: "rejected_at",
}


async def _apply_lines(
    repo: ProjectionRepository,
    order_id: str,
    marketplace_id: str,
    currency: str | None,
    lines: list[tuple[str, int]],
    stage: str,
    at: datetime,
) -> None:
    """Upsert each seller's part of the order (its lines' value), then set the stage date."""
    values: dict[str, int] = {}
    for seller_id, value in lines:
        values[seller_id] = values.get(seller_id, 0) + value
    existing = {p.seller_id: p for p in await repo.order_parts(order_id)}
    now = utcnow()
    for seller_id, value in sorted(values.items()):
        part = existing.get(seller_id)
        if part is None:
            await repo.add_order_part(
                OrderProjection(
                    order_id=order_id,
                    seller_id=seller_id,
                    marketplace_id=marketplace_id,
                    currency=currency,
                    value_minor=value,
                    first_seen_at=at,
                    updated_at=now,
                )
            )
        elif stage != "placed_at" or part.currency is None:
            # The confirmed (and later) events carry the priced lines that count; placed may be unpriced.
            part.value_minor, part.currency, part.marketplace_id, part.updated_at = value, currency, marketplace_id, now
            part.first_seen_at = min(part.first_seen_at, at)
    await repo.mark_stage(order_id, stage, at)


async def on_order_event(session: AsyncSession, event: CloudEvent, config: FinanceConfig) -> None:
    """Project each seller's part of an order and the stages it reached; an order that ends has the
    applications claiming it evaluated again (`service.order_ended`)."""
    repo = ProjectionRepository(session)
    stage = _STAGE[event.type]
    if event.type == order_events.OrderPlacedV1.TYPE:
        placed = order_events.OrderPlacedV1.from_event(event)
        at = _utc(placed.occurred_at)
        priced = [
            (line.seller_id, _minor(line.line_value, placed.currency) if placed.currency and line.line_value else 0)
            for line in placed.lines
            if line.seller_id is not None
        ]
        if priced:
            await _apply_lines(repo, placed.order_id, placed.marketplace_id, placed.currency, priced, stage, at)
    elif event.type in (order_events.OrderCancelledV1.TYPE, order_events.OrderRejectedV1.TYPE):
        ended = (
            order_events.OrderCancelledV1.from_event(event)
            if event.type == order_events.OrderCancelledV1.TYPE
            else order_events.OrderRejectedV1.from_event(event)
        )
        at = _utc(ended.occurred_at)
        # These carry no lines: they end the parts already known (an unknown order has nothing to end).
        await repo.mark_stage(ended.order_id, stage, at)
        await service.order_ended(session, ended.order_id, config)
    else:
        facts = _PRICED[event.type].from_event(event)
        at = _utc(facts.occurred_at)
        lines = [(line.seller_id, _minor(line.line_value, facts.currency)) for line in facts.lines]
        await _apply_lines(repo, facts.order_id, facts.marketplace_id, facts.currency, lines, stage, at)
    await repo.advance_mark(ORDERS_STREAM, event.id[:64], at)


SELLER_HANDLERS: dict[str, Handler] = dict.fromkeys(_SELLER_CONTRACTS, on_seller_event)


def order_handlers(config: FinanceConfig) -> dict[str, Handler]:
    """The order handlers, bound to the app's configuration (eligibility needs the advance rates)."""

    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        await on_order_event(session, event, config)

    return dict.fromkeys(_STAGE, handle)
