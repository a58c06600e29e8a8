"""What the orders use cases share: configuration built once per app, the event source."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from services.orders.config import DEFAULT_RULES, OrdersRules
from services.orders.domain import FxRate
from shared.errors import invalid
from shared.outbox import EventSource

#: The orders service's events (CloudEvents `source`), published through the outbox.
EVENTS = EventSource("/ewtp/orders")


@dataclass(frozen=True)
class OrdersContext:
    """Configuration the use cases need (from `OrdersSettings`), built once per app."""

    rules: OrdersRules = DEFAULT_RULES
    #: 1 unit of the key = rate CNY.
    cny_rates: Mapping[str, Decimal] = field(default_factory=lambda: {"CNY": Decimal(1)})
    fx_source: str = "configuration"
    fx_as_of: datetime = datetime(2026, 11, 1, tzinfo=UTC)

    def to_cny(self, currency: str, field_name: str) -> FxRate:
        rate = self.cny_rates.get(currency)
        if rate is None:
            raise invalid([{"field": field_name, "reason": f"no {currency}→CNY rate is configured for landed cost"}])
        return FxRate(currency, "CNY", rate, self.fx_source, self.fx_as_of)
