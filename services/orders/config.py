"""The orders domain's figures that may change: every [U] or law-dependent value of DOMAIN.md in one place.

Phase 2 exposes `OrdersRules` through the service's settings; the domain functions take it as an
argument (defaulting to `DEFAULT_RULES`) so a test or a tenant can run with other figures.
Sources are DOMAIN.md section 5 (China CBEC retail import tax) and section 3 (China tariff preference).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from types import MappingProxyType

__all__ = ["DEFAULT_RULES", "OrdersRules"]


def _frozen(table: dict[str, Decimal]) -> Mapping[str, Decimal]:
    return MappingProxyType(table)


@dataclass(frozen=True)
class OrdersRules:
    #: An order still `pending` this long after it was placed is rejected with reason `timeout`. [U]
    pending_timeout: timedelta = timedelta(minutes=5)

    #: CBEC single-transaction limit, CNY (Cai Guan Shui [2018] No.49).
    cbec_order_limit_cny: Decimal = Decimal("5000")
    #: CBEC annual limit per buyer, CNY (Cai Guan Shui [2018] No.49).
    cbec_annual_limit_cny: Decimal = Decimal("26000")
    #: Within the limits, import VAT and consumption tax are levied at this share of the statutory amount.
    cbec_tax_share: Decimal = Decimal("0.7")
    #: Within the limits the tariff is 0% by law (not a preference), so it is not configurable per HS code.
    cbec_tariff_rate: Decimal = Decimal("0")

    #: Import VAT rate for an HS code without an entry in `vat_rates`.
    default_vat_rate: Decimal = Decimal("0.13")
    #: Import VAT per HS code prefix (longest prefix wins; 4, 6 or 8-10 digits). 9% is China's rate for
    #: agricultural products; whether green coffee and tea fall under it is [U] in DOMAIN.md, so they
    #: are listed here (roasted coffee, 0901.2x, stays at the 13% default).
    vat_rates: Mapping[str, Decimal] = field(
        default_factory=lambda: _frozen(
            {
                "090111": Decimal("0.09"),  # coffee, not roasted, not decaffeinated [U]
                "090112": Decimal("0.09"),  # coffee, not roasted, decaffeinated [U]
                "0902": Decimal("0.09"),  # tea, green and black, any packing [U]
            }
        )
    )
    #: Consumption tax per HS code prefix; none of Rwanda's listed exports (coffee, tea, baskets,
    #: horticulture) is subject to it, so the table is empty and the rate defaults to 0.
    consumption_tax_rates: Mapping[str, Decimal] = field(default_factory=lambda: _frozen({}))
    #: Tariff when the CBEC reduction does not apply (full tax, general trade). China grants LDCs with
    #: diplomatic ties, Rwanda included, 0% on 100% of tariff lines from 1 Dec 2024 (DOMAIN.md section 3). [U]
    default_tariff_rate: Decimal = Decimal("0")
    tariff_rates: Mapping[str, Decimal] = field(default_factory=lambda: _frozen({}))

    #: Demand-insight windows, in days.
    insight_windows: frozenset[int] = frozenset({7, 30, 90})


DEFAULT_RULES = OrdersRules()
