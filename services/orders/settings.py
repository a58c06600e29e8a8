"""Orders settings (env prefix `ORDERS_`): the saga's deadline, the sweep, and the CNY rates for landed cost."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.orders.config import DEFAULT_RULES, OrdersRules
from shared.settings import ServiceSettings


def _default_cny_rates() -> dict[str, Decimal]:
    # 1 unit of the key = rate CNY. Indicative figures for development; production sets its own. [U]
    return {"CNY": Decimal("1"), "USD": Decimal("7.1200"), "RWF": Decimal("0.004900"), "KES": Decimal("0.0551")}


class OrdersSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERS_", extra="ignore")

    service_name: str = "orders"
    database_url: str = "sqlite+aiosqlite:///.data/orders.db"
    #: An order still pending this long after it was placed is rejected with reason `timeout`.
    pending_timeout_s: float = Field(default=300.0, gt=0)
    #: How often the timeout sweep runs; 0 disables it.
    timeout_sweep_interval_s: float = Field(default=5.0, ge=0)
    #: Rates to CNY used for landed cost (1 unit of the key = rate CNY), with their source and date.
    cny_rates: dict[str, Decimal] = Field(default_factory=_default_cny_rates)
    fx_source: str = "configuration"
    fx_as_of: datetime = datetime(2026, 11, 1, tzinfo=UTC)

    def rules(self) -> OrdersRules:
        return replace(DEFAULT_RULES, pending_timeout=timedelta(seconds=self.pending_timeout_s))
