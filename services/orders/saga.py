"""The order saga: applying an action (an event or a command) to an order, once, in order.

`apply` holds the order's row lock (and, through `publish`, its aggregate lock on PostgreSQL; SQLite
serialises writers), asks the pure `domain.decide` what the action does, stores the move with a
history row in the same transaction, and carries out the decision's effects (events through the
outbox, the demand aggregate). Events are idempotent twice over: the consumer's inbox skips a
redelivered event id, and `decide` absorbs a second event of the same kind (the order has moved).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.context import EVENTS
from services.orders.domain import Action, Decision, Effect, OrderStatus, decide
from services.orders.models import Order, OrderLine
from services.orders.repository import OrderRepository
from shared.contracts import orders as events
from shared.contracts.envelope import CloudEvent
from shared.db import Database, utcnow
from shared.money import format_minor

__all__ = ["apply", "sweep_timeouts", "transition"]

log = logging.getLogger("ewtp.orders.saga")

#: Statuses whose lines count in the demand aggregate.
_IN_DEMAND = frozenset({OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.DELIVERED})


def transition(
    order_id: str,
    from_status: OrderStatus | None,
    to_status: OrderStatus,
    action: str,
    at: datetime,
    *,
    actor: str | None = None,
    event: CloudEvent | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "from_status": from_status.value if from_status else None,
        "to_status": to_status.value,
        "action": action,
        "actor": actor,
        "event_id": event.id if event else None,
        "event_type": event.type if event else None,
        "note": note[:500] if note else None,
        "at": at,
    }


async def apply(
    session: AsyncSession,
    order_id: str,
    action: Action,
    *,
    actor: str | None = None,
    event: CloudEvent | None = None,
    note: str | None = None,
    updates: dict[str, Any] | None = None,
) -> Decision | None:
    """Apply `action` to the order; None if orders does not know it (another system's order id).

    A command the status forbids raises IllegalTransition (409). `updates` are stored with a move
    (the shipment id, the rejected lines), never when the action is absorbed.
    """
    repo = OrderRepository(session)
    if len(order_id) > 36:
        return None
    order = await repo.get(order_id, lock=True)
    if order is None:
        log.info("%s for an order orders does not know: %s", action.value, order_id)
        return None
    status = OrderStatus(order.status)
    decision = decide(status, action)
    now = utcnow()
    values: dict[str, Any] = {}
    if decision.moved:
        values = {"status": decision.status.value, "updated_at": now, **(updates or {})}
        if decision.reject_reason is not None:
            values["reject_reason"] = decision.reject_reason.value
        if not await repo.set_status(order.id, status.value, values):
            raise RuntimeError(f"order {order.id} changed under its lock")  # retried by the runner
        await repo.add_transition(
            transition(order.id, status, decision.status, action.value, now, actor=actor, event=event, note=note)
        )
    elif decision.effects:
        what = "; ".join(e.value for e in decision.effects)
        await repo.add_transition(
            transition(order.id, status, status, action.value, now, actor=actor, event=event, note=note or what)
        )
    if not decision.effects:
        return decision

    session.expunge(order)  # the row is written; the object only carries the new facts to the events
    for name, value in values.items():
        setattr(order, name, value)
    lines = await repo.lines(order.id)
    for effect in decision.effects:
        await _carry_out(session, repo, effect, order, lines, status, decision, now, note)
    return decision


async def _carry_out(
    session: AsyncSession,
    repo: OrderRepository,
    effect: Effect,
    order: Order,
    lines: Sequence[OrderLine],
    before: OrderStatus,
    decision: Decision,
    now: datetime,
    note: str | None,
) -> None:
    if effect is Effect.PUBLISH_CONFIRMED:
        await _count_demand(repo, order, lines, +1)
        gross = f"{order.gross_weight_g / 1000:.3f}"
        await _publish(
            session,
            events.OrderConfirmedV1,
            order,
            lines,
            now,
            incoterm=order.incoterm,
            logistics_quote_id=order.logistics_quote_id,
            logistics_option_id=order.logistics_option_id,
            gross_weight_kg=gross,
        )
    elif effect is Effect.PUBLISH_SHIPPED:
        await _publish(session, events.OrderShippedV1, order, lines, now, shipment_id=order.shipment_id)
    elif effect is Effect.PUBLISH_DELIVERED:
        await _publish(session, events.OrderDeliveredV1, order, lines, now, shipment_id=order.shipment_id)
    elif effect is Effect.PUBLISH_REJECTED or (
        effect is Effect.RELEASE_STOCK and decision.status is OrderStatus.REJECTED
    ):
        await EVENTS.publish(session, _rejected(order, now), subject=order.id)
    elif effect is Effect.PUBLISH_CANCELLED or effect is Effect.RELEASE_STOCK:
        if effect is Effect.PUBLISH_CANCELLED and before in _IN_DEMAND:
            await _count_demand(repo, order, lines, -1)
        await EVENTS.publish(session, _cancelled(order, now, note), subject=order.id)
    elif effect is Effect.ALERT_OPS:
        log.warning("order %s needs ops: shipment booking failed (%s)", order.id, note)
    elif effect is Effect.FLAG_ANOMALY:
        log.warning("order %s: event contradicts its story (%s, status %s)", order.id, note, order.status)


def _priced_lines(order: Order, lines: Sequence[OrderLine]) -> list[events.PricedOrderLine]:
    return [
        events.PricedOrderLine(
            line_id=line.line_id,
            listing_id=line.listing_id,
            quantity=line.quantity,
            seller_id=line.seller_id,
            unit_price=format_minor(line.unit_price_minor, order.currency),
            line_value=format_minor(line.line_value_minor, order.currency),
        )
        for line in lines
    ]


async def _publish(
    session: AsyncSession, cls: Any, order: Order, lines: Sequence[OrderLine], now: datetime, **extra: Any
) -> None:
    data = cls(
        order_id=order.id,
        occurred_at=now,
        marketplace_id=order.marketplace_id,
        channel=order.channel,
        currency=order.currency,
        total=format_minor(order.total_minor, order.currency),
        buyer_country=order.buyer_country,
        buyer_city=order.buyer_city,
        lines=_priced_lines(order, lines),
        **extra,
    )
    await EVENTS.publish(session, data, subject=order.id)


def _rejected(order: Order, now: datetime) -> events.OrderRejectedV1:
    return events.OrderRejectedV1(
        order_id=order.id,
        occurred_at=now,
        reason=order.reject_reason,
        marketplace_id=order.marketplace_id,
        currency=order.currency,
        total=format_minor(order.total_minor, order.currency),
    )


def _cancelled(order: Order, now: datetime, note: str | None) -> events.OrderCancelledV1:
    return events.OrderCancelledV1(
        order_id=order.id,
        occurred_at=now,
        reason=note,
        marketplace_id=order.marketplace_id,
        currency=order.currency,
        total=format_minor(order.total_minor, order.currency),
    )


async def _count_demand(repo: OrderRepository, order: Order, lines: Sequence[OrderLine], sign: int) -> None:
    day = order.placed_at.date()
    for line in lines:
        await repo.add_demand(
            (day, line.category, line.hs_code),
            currency=order.currency,
            seller_id=line.seller_id,
            units=line.quantity,
            value_minor=line.line_value_minor,
            unit_price_minor=line.unit_price_minor,
            country=order.buyer_country,
            city=order.buyer_city,
            buyer_key=order.buyer_key,
            sign=sign,
        )


async def sweep_timeouts(db: Database, batch: int = 200) -> int:
    """Reject every order still pending past its deadline (reason `timeout`); how many were rejected.

    Each order is decided in its own transaction under its lock, so a stock.reserved racing the sweep
    either confirms first (the timeout is then absorbed) or finds the order rejected (and is released).
    """
    done = 0
    while True:
        async with db.read() as session:
            due = await OrderRepository(session).overdue(utcnow(), batch)
        for order_id in due:
            async with db.transaction() as session:
                decision = await apply(session, order_id, Action.TIMEOUT, actor="system:timeout")
                done += int(bool(decision and decision.moved))
        if len(due) < batch:
            return done
