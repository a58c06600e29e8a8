"""Every figure DOMAIN.md marks uncertain ([U]) or that a lender sets, in one typed place.

Phase 2 exposes `FinanceConfig` through the service's settings; the domain functions take it as an
argument and never read a module-level constant, so a test or a deployment can change any figure.
Each default names its source (DOMAIN.md section 4 unless said otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "DEFAULT_CONFIG",
    "AmountLimits",
    "FinanceConfig",
    "GuaranteeScheme",
    "GuaranteeTerms",
    "Product",
    "ProductTerms",
]


class Product(StrEnum):
    PURCHASE_ORDER_FINANCE = "purchase_order_finance"
    INVOICE_FINANCE = "invoice_finance"
    PRE_SHIPMENT = "pre_shipment"
    LC_CONFIRMATION = "lc_confirmation"
    GUARANTEE = "guarantee"


class GuaranteeScheme(StrEnum):
    BDF_PARTIAL_CREDIT = "bdf_partial_credit"
    EGF_EXPORT = "egf_export"


@dataclass(frozen=True, slots=True)
class ProductTerms:
    """What a lender offers by default for one product; approval may set other rate and fees."""

    #: Longest tenor accepted, in calendar days.
    max_tenor_days: int
    #: Share of the confirmed linked orders' value that may be advanced; None: not order-backed.
    advance_rate: Decimal | None
    #: Simple annual interest rate, actual/365.
    annual_rate: Decimal
    #: Arrangement fee as a share of the approved amount, due with the first instalment.
    fee_rate: Decimal


@dataclass(frozen=True, slots=True)
class AmountLimits:
    """Smallest and largest amount one application may request, in the currency's major unit."""

    minimum: Decimal
    maximum: Decimal


@dataclass(frozen=True, slots=True)
class GuaranteeTerms:
    """Share of the principal a guarantee scheme covers, and the longest tenor it covers."""

    cover: Decimal
    #: Cover for women- or youth-owned SMEs where the scheme has a higher band.
    enhanced_cover: Decimal | None
    max_tenor_days: int | None


#: Defaults. PO: "up to 70-80% of the PO value, tenor <= 1 year" [U]; invoice: factoring advances of
#: 75-85% (up to 90-95%) on receivables maturing in under 90 days; the issue sets 80% PO and 90%
#: invoice. Pre-shipment, LC confirmation and guarantee tenors, and every rate and fee, are [U]
#: placeholders for a lender to set (no source gives them).
_PRODUCTS: dict[Product, ProductTerms] = {
    Product.PURCHASE_ORDER_FINANCE: ProductTerms(365, Decimal("0.80"), Decimal("0.18"), Decimal("0.01")),
    Product.INVOICE_FINANCE: ProductTerms(90, Decimal("0.90"), Decimal("0.15"), Decimal("0.01")),
    Product.PRE_SHIPMENT: ProductTerms(180, None, Decimal("0.20"), Decimal("0.015")),
    Product.LC_CONFIRMATION: ProductTerms(180, None, Decimal("0.10"), Decimal("0.005")),
    Product.GUARANTEE: ProductTerms(270, None, Decimal("0.05"), Decimal("0.01")),
}

#: [U] placeholders; the maxima also keep every amount well inside a BIGINT of minor units.
_LIMITS: dict[str, AmountLimits] = {
    "RWF": AmountLimits(Decimal("10000"), Decimal("5000000000")),
    "USD": AmountLimits(Decimal("10.00"), Decimal("5000000.00")),
    "CNY": AmountLimits(Decimal("100.00"), Decimal("35000000.00")),
}

#: BDF partial credit guarantee: up to 50% for SMEs, 75% for women- or youth-owned SMEs (2023).
#: Export Growth Fund (BRD) export guarantee: 80% for 270 days.
_GUARANTEES: dict[GuaranteeScheme, GuaranteeTerms] = {
    GuaranteeScheme.BDF_PARTIAL_CREDIT: GuaranteeTerms(Decimal("0.50"), Decimal("0.75"), None),
    GuaranteeScheme.EGF_EXPORT: GuaranteeTerms(Decimal("0.80"), None, 270),
}


@dataclass(frozen=True, slots=True)
class FinanceConfig:
    products: Mapping[Product, ProductTerms] = field(default_factory=lambda: MappingProxyType(dict(_PRODUCTS)))
    #: Currencies a lender funds in, with their amount limits; any other currency is ineligible.
    amount_limits: Mapping[str, AmountLimits] = field(default_factory=lambda: MappingProxyType(dict(_LIMITS)))
    guarantees: Mapping[GuaranteeScheme, GuaranteeTerms] = field(
        default_factory=lambda: MappingProxyType(dict(_GUARANTEES))
    )
    #: Days after a due date before an unpaid instalment puts the application in arrears [U].
    grace_days: int = 5
    #: Day-count basis of simple interest (actual/365, as the issue asks).
    day_count_basis: int = 365
    #: Most instalments a schedule may have [U].
    max_instalments: int = 12


DEFAULT_CONFIG = FinanceConfig()
