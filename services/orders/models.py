"""Orders tables. The platform tables (outbox, inbox, idempotency keys) come from `shared.tables`.

Money is integer minor units plus an ISO 4217 code. The projections (`listings`, `logistics_quotes`)
are orders' own copies of other services' events; an order captures what it needs from them.
The `demand_*` tables are a maintained aggregate of confirmed orders for `GET /v1/insights/demand`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING_CONVENTION, UTCDateTime
from shared.models import BigId, JSONText


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ListingProjection(Base):
    """Orders' copy of each listing, from `listing.*` events; the newest version wins."""

    __tablename__ = "listings"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seller_id: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    hs_code: Mapped[str] = mapped_column(String(12))
    category: Mapped[str] = mapped_column(String(64))
    unit_net_weight_g: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QuoteProjection(Base):
    """Orders' copy of each logistics quote (`quote.issued`), for the freight of landed cost."""

    __tablename__ = "logistics_quotes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    destination: Mapped[str] = mapped_column(String(5))
    incoterm: Mapped[str] = mapped_column(String(3))
    #: [{option_id, total, currency, mode, valid_until}]
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSONText)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("marketplace_id", "reference"),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        Index("ix_orders_placed", "placed_at", "id"),
        Index("ix_orders_marketplace_placed", "marketplace_id", "placed_at", "id"),
        Index("ix_orders_status_placed", "status", "placed_at", "id"),
        Index("ix_orders_pending_deadline", "status", "deadline_at"),
        Index("ix_orders_buyer_placed", "buyer_key", "placed_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    marketplace_id: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    reject_reason: Mapped[str | None] = mapped_column(String(20))
    #: The per-line reasons of stock.rejected.
    rejected_lines: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONText)
    buyer_name: Mapped[str] = mapped_column(String(200))
    buyer_country: Mapped[str] = mapped_column(String(2))
    buyer_city: Mapped[str] = mapped_column(String(100))
    buyer_address: Mapped[str] = mapped_column(String(500))
    buyer_resident_id_type: Mapped[str | None] = mapped_column(String(40))
    #: A stable hash of the buyer (marketplace, name, country, city): distinct buyers, CBEC annual limit.
    buyer_key: Mapped[str] = mapped_column(String(32))
    incoterm: Mapped[str | None] = mapped_column(String(3))
    logistics_quote_id: Mapped[str | None] = mapped_column(String(64))
    logistics_option_id: Mapped[str | None] = mapped_column(String(64))
    shipment_id: Mapped[str | None] = mapped_column(String(64))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    gross_weight_g: Mapped[int] = mapped_column(BigInteger)
    #: Landed cost breakdown for an order shipped to CN (as `LandedCostOut` renders it); None otherwise.
    landed_cost: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
    #: CBEC customs value in fen, counted against the buyer's annual limit (0 when not CN).
    customs_value_cny_minor: Mapped[int] = mapped_column(BigInteger)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        Index("ix_order_lines_seller_order", "seller_id", "order_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    line_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    listing_id: Mapped[str] = mapped_column(String(64))
    seller_id: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    hs_code: Mapped[str] = mapped_column(String(12))
    category: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    line_value_minor: Mapped[int] = mapped_column(BigInteger)
    unit_net_weight_g: Mapped[int] = mapped_column(BigInteger)
    listing_version: Mapped[int] = mapped_column(BigInteger)


class OrderTransition(Base):
    """Every move of an order (and every absorbed event that needed repair or a human)."""

    __tablename__ = "order_history"
    __table_args__ = (Index("ix_order_history_order", "order_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(36))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    #: `marketplace:<principal>`, `ops:<principal>`, `system:timeout`, or None for an event.
    actor: Mapped[str | None] = mapped_column(String(200))
    event_id: Mapped[str | None] = mapped_column(String(64))
    event_type: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


# --------------------------------------------------------------------------------------------------
# Demand aggregate: one row per day and key, maintained in the transaction that confirms (or cancels)
# an order, so the insight reads at most window-days × keys rows whatever the number of orders.


class DemandDaily(Base):
    """Units, value and lines per day, category, HS code and currency."""

    __tablename__ = "demand_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    hs_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    units: Mapped[int] = mapped_column(BigInteger)
    value_minor: Mapped[int] = mapped_column(BigInteger)
    lines: Mapped[int] = mapped_column(BigInteger)


class DemandSellerDaily(Base):
    """The same per seller (its share); keyed by seller first, as only a seller's own rows are read."""

    __tablename__ = "demand_seller_daily"

    seller_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    hs_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    units: Mapped[int] = mapped_column(BigInteger)
    value_minor: Mapped[int] = mapped_column(BigInteger)


class DemandPrice(Base):
    """A histogram of unit prices (lines per price) per day and key: the median without the lines."""

    __tablename__ = "demand_prices"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    hs_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    lines: Mapped[int] = mapped_column(BigInteger)


class DemandCity(Base):
    __tablename__ = "demand_cities"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    hs_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    city: Mapped[str] = mapped_column(String(100), primary_key=True)
    units: Mapped[int] = mapped_column(BigInteger)


class DemandBuyers(Base):
    """A HyperLogLog sketch (sketch.py) of the buyers who ordered a key on a day."""

    __tablename__ = "demand_buyers"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    hs_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    sketch: Mapped[bytes] = mapped_column(LargeBinary)
