"""Finance settings (`FINANCE_` env prefix); the lender's figures become a `FinanceConfig`."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from types import MappingProxyType

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.finance.config import DEFAULT_CONFIG, FinanceConfig, Product
from shared.settings import ServiceSettings


class FinanceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FINANCE_", extra="ignore")

    service_name: str = "finance"
    database_url: str = "sqlite+aiosqlite:///.data/finance.db"
    #: Share of the confirmed linked orders' value a purchase-order / invoice advance may reach.
    po_advance_rate: Decimal = Field(default=Decimal("0.80"), gt=0, le=1)
    invoice_advance_rate: Decimal = Field(default=Decimal("0.90"), gt=0, le=1)
    #: Days past a due date before an unpaid instalment puts the application in arrears.
    grace_days: int = Field(default=DEFAULT_CONFIG.grace_days, ge=0, le=365)
    #: Period of the arrears sweep; 0 turns it off (tests run the sweep themselves).
    arrears_interval_s: float = Field(default=3600.0, ge=0)

    def finance_config(self) -> FinanceConfig:
        products = dict(DEFAULT_CONFIG.products)
        for product, rate in (
            (Product.PURCHASE_ORDER_FINANCE, self.po_advance_rate),
            (Product.INVOICE_FINANCE, self.invoice_advance_rate),
        ):
            products[product] = replace(products[product], advance_rate=rate)
        return replace(DEFAULT_CONFIG, products=MappingProxyType(products), grace_days=self.grace_days)
