"""Finance's projection of order events: every event the contract accepts is applied, once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from services.finance.models import OrderProjection
from shared.contracts import orders as order_events
from shared.contracts.orders import OrderConfirmedV1, OrderRejectedV1, PricedOrderLine
from tests.finance.conftest import new_order_id, produce_orders, wait_order
from tests.support.events import cloud_event, produce_events
from tests.support.platform import Platform


async def _parts(platform: Platform, order_id: str) -> dict[str, tuple[str | None, int, bool]]:
    async with platform.db("finance") as db, db.read() as session:
        rows = (await session.scalars(select(OrderProjection).where(OrderProjection.order_id == order_id))).all()
    return {r.seller_id: (r.currency, r.value_minor, r.rejected_at is not None) for r in rows}


async def test_a_multi_seller_order_with_a_naive_time_and_odd_currency_is_projected_once(platform: Platform) -> None:
    order_id = new_order_id()

    def line(n: int, seller: str, price: str, quantity: int) -> PricedOrderLine:
        value = f"{float(price) * quantity:.2f}"
        return PricedOrderLine(
            line_id=f"l{n}", listing_id="lst", quantity=quantity, seller_id=seller, unit_price=price, line_value=value
        )

    lines = [line(1, "s-a", "10.50", 2), line(2, "s-b", "3.25", 4), line(3, "s-a", "1.00", 1)]
    data = OrderConfirmedV1(
        order_id=order_id,
        occurred_at=datetime(2026, 11, 1, 12, 0),  # naive: the contract allows it
        marketplace_id="mkt-jd",
        channel="b2b_distributor",
        currency="USD",
        total="35.00",
        buyer_country="KE",
        buyer_city="Nairobi",
        lines=lines,
    )
    event = cloud_event(data, subject=order_id)
    # Delivered twice (a producer retry): the inbox makes the second a no-op.
    await produce_events(platform.broker.bootstrap, order_events.TOPIC, event, event)
    await wait_order(platform, order_id, "s-b")
    await wait_order(platform, order_id, "s-a")
    assert await _parts(platform, order_id) == {"s-a": ("USD", 2200, False), "s-b": ("USD", 1300, False)}

    rejected = OrderRejectedV1(order_id=order_id, occurred_at=datetime(2026, 11, 2), reason="stock")
    await produce_orders(platform, rejected)
    await wait_order(platform, order_id, "s-b", "rejected_at")
    assert await _parts(platform, order_id) == {"s-a": ("USD", 2200, True), "s-b": ("USD", 1300, True)}

    # A currency the contract's pattern accepts but ISO 4217 does not: kept, worth nothing as collateral.
    odd = new_order_id()
    await produce_orders(
        platform,
        data.model_copy(update={"order_id": odd, "currency": "ZZZ", "occurred_at": datetime(2026, 11, 3)}),
    )
    await wait_order(platform, odd, "s-a")
    assert (await _parts(platform, odd))["s-a"] == ("ZZZ", 0, False)
