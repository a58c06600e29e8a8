"""Orders' domain gauges: orders by state, and the saga's overdue orders (the "saga stuck" alert).

Read at scrape time through `count_rows` (cached 5 s): orders by state groups over the indexed
`status` column (ix_orders_status_placed); overdue is a range on ix_orders_pending_deadline.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from services.orders.domain import OrderStatus
from services.orders.models import Order
from shared.db import Database
from shared.metrics import count_rows, register_gauge


def register_gauges(service: str, db: Database) -> None:
    register_gauge(service, db, "orders", "Orders by state.", ["state"], count_rows(db, by=Order.status))
    overdue = count_rows(
        db, where=lambda: (Order.status == OrderStatus.PENDING.value, Order.deadline_at < datetime.now(UTC))
    )

    async def sagas_overdue() -> Mapping[tuple[str, ...], float]:
        return {("order",): (await overdue()).get((), 0.0)}

    register_gauge(service, db, "saga_overdue", "Saga instances pending past their deadline.", ["saga"], sagas_overdue)
