"""Eligibility: every rule evaluated on finance's own projections, stored with the application.

Run when the seller submits (or edits a submitted application), when a lender opens it (its GET while
it awaits a decision, and taking it for review), and when a linked order is cancelled or rejected.
For order-backed products an eligible application claims the seller's part of each linked order; the
`order_claims` primary key lets one open application at a time finance it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.finance.config import FinanceConfig, Product
from services.finance.domain import ORDER_BACKED, Eligibility, LinkedOrder, evaluate_eligibility, foreign_orders
from services.finance.models import Application, OrderProjection
from services.finance.projections.repository import ProjectionRepository
from services.finance.repository import ApplicationRepository
from shared.db import utcnow
from shared.errors import invalid_field
from shared.money import minor_units

__all__ = ["evaluate", "refuse_foreign_orders"]


def _major(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-minor_units(currency))


async def _linked_orders(session: AsyncSession, app: Application) -> list[LinkedOrder]:
    """The linked orders as finance's projection knows them, with the application financing each, if another."""
    ids = list(app.linked_order_ids or [])
    parts = await ProjectionRepository(session).orders_by_id(ids)
    by_order: dict[str, list[OrderProjection]] = {}
    for part in parts:
        by_order.setdefault(part.order_id, []).append(part)
    holders = await ApplicationRepository(session).claim_holders(app.seller_id, ids)
    linked: list[LinkedOrder] = []
    for order_id in ids:
        seller_parts = by_order.get(order_id, [])
        own = next((p for p in seller_parts if p.seller_id == app.seller_id), None)
        if own is None:
            other = seller_parts[0].seller_id if seller_parts else None
            linked.append(LinkedOrder(order_id, other, False, 0, app.currency))
            continue
        holder = holders.get(order_id)
        confirmed = own.confirmed_at is not None and own.cancelled_at is None and own.rejected_at is None
        linked.append(
            LinkedOrder(
                order_id=order_id,
                seller_id=own.seller_id,
                confirmed=confirmed,
                value_minor=own.value_minor,
                currency=own.currency or "",
                financed_by=holder if holder is not None and holder != app.id else None,
            )
        )
    return linked


async def _evaluate_once(session: AsyncSession, app: Application, config: FinanceConfig) -> Eligibility:
    seller = await ProjectionRepository(session).seller(app.seller_id)
    return evaluate_eligibility(
        seller_id=app.seller_id,
        seller_status=seller.status if seller else None,
        product=Product(app.product),
        amount=_major(app.requested_minor, app.currency),
        currency=app.currency,
        tenor_days=app.tenor_days,
        orders=await _linked_orders(session, app),
        config=config,
    )


async def evaluate(
    session: AsyncSession, app: Application, config: FinanceConfig, *, keep_claims: bool = False
) -> Eligibility:
    """Evaluate every rule, claim the linked orders of an eligible order-backed application, store the outcome.

    `keep_claims`: an approved application keeps its claims whatever the outcome (the lender decided on
    those orders and may still disburse); only its stored result changes.

    Claims are taken only when every rule passes, so an ineligible application never blocks an order.
    Two applications claiming one order at once: one insert wins; the other sees the winner on its
    second evaluation and is ineligible ("already financed by application ...").
    """
    repo = ApplicationRepository(session)
    result = await _evaluate_once(session, app, config)
    if result.eligible and Product(app.product) in ORDER_BACKED:
        for order_id in sorted(app.linked_order_ids or []):
            await repo.claim(order_id, app.seller_id, app.id)
        holders = await repo.claim_holders(app.seller_id, list(app.linked_order_ids or []))
        if any(holder != app.id for holder in holders.values()):
            result = await _evaluate_once(session, app, config)
    if not result.eligible and not keep_claims:
        await repo.release_claims(app.id)
    app.eligible = result.eligible
    app.eligibility = [{"rule": o.rule.value, "passed": o.passed, "detail": o.detail} for o in result.outcomes]
    app.eligibility_at = utcnow()
    await repo.flush()
    return result


async def refuse_foreign_orders(session: AsyncSession, seller_id: str, order_ids: Sequence[str]) -> None:
    """Linking an order finance knows to be another seller's is bad input (422), not an eligibility outcome."""
    parts = await ProjectionRepository(session).orders_by_id(order_ids)
    owners: dict[str, set[str]] = {}
    for part in parts:
        owners.setdefault(part.order_id, set()).add(part.seller_id)
    linked = [
        LinkedOrder(order_id, seller_id if seller_id in sellers else next(iter(sellers)), False, 0, "")
        for order_id, sellers in owners.items()
    ]
    foreign = foreign_orders(seller_id, linked)
    if foreign:
        raise invalid_field("linked_order_ids", f"orders of another seller: {', '.join(sorted(foreign))}")
