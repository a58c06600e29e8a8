"""Catalogue tables. The platform tables (outbox, inbox, idempotency keys) come from `shared.tables`.

Money is stored as integer minor units plus an ISO 4217 code; lists and attribute maps as JSON text
(encoded with orjson, the same bytes the feed writes out).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING_CONVENTION, UTCDateTime
from shared.models import BigId, JSONText


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SellerProjection(Base):
    """The catalogue's copy of each seller's status, kept from `sellers.events`."""

    __tablename__ = "sellers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30))
    #: `occurred_at` of the event that set `status`; an older event never overwrites a newer one.
    status_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Listing(Base):
    __tablename__ = "listings"
    __table_args__ = (
        UniqueConstraint("seller_id", "sku"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("price_minor > 0", name="price_positive"),
        Index("ix_listings_status_id", "status", "id"),
        Index("ix_listings_status_created", "status", "created_at", "id"),
        Index("ix_listings_currency_price", "currency", "price_minor", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seller_id: Mapped[str] = mapped_column(String(64), index=True)
    sku: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(150))
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(50), index=True)
    hs_code: Mapped[str] = mapped_column(String(6), index=True)
    national_tariff_code: Mapped[str | None] = mapped_column(String(10))
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    unit_net_weight_g: Mapped[int] = mapped_column(Integer)
    length_mm: Mapped[int] = mapped_column(Integer)
    width_mm: Mapped[int] = mapped_column(Integer)
    height_mm: Mapped[int] = mapped_column(Integer)
    condition: Mapped[str] = mapped_column(String(20))
    brand: Mapped[str | None] = mapped_column(String(70))
    gtin: Mapped[str | None] = mapped_column(String(14))
    mpn: Mapped[str | None] = mapped_column(String(70))
    identifier_exists: Mapped[bool] = mapped_column(Boolean)
    images: Mapped[list[str]] = mapped_column(JSONText)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONText)
    certifications: Mapped[list[str]] = mapped_column(JSONText)
    origin_country: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(20))
    withdrawn_reason: Mapped[str | None] = mapped_column(String(30))
    on_hand: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer)
    out_of_stock_policy: Mapped[str] = mapped_column(String(20))
    availability_date: Mapped[date | None] = mapped_column(Date)
    #: Bumped by every change; marketplaces compare it to drop stale updates.
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ListingChange(Base):
    """The feed's change log: one row per change a marketplace sees, written with the change.

    `seq` orders the feed. On SQLite the table uses AUTOINCREMENT so a seq is never reused after
    pruning; on PostgreSQL writers take a transaction advisory lock before their first row, so seq
    order is commit order and a reader never sees seq n+1 before n.
    """

    __tablename__ = "listing_changes"
    __table_args__ = {"sqlite_autoincrement": True}

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    listing_id: Mapped[str] = mapped_column(String(36), index=True)
    op: Mapped[str] = mapped_column(String(6))
    version: Mapped[int] = mapped_column(Integer)
    #: Why a tombstone was written (withdrawn_by_seller, seller_suspended, deleted).
    reason: Mapped[str | None] = mapped_column(String(30))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class FeedState(Base):
    """One row: how far the change log was pruned. A delta cursor below it is gone (410)."""

    __tablename__ = "feed_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    pruned_through_seq: Mapped[int] = mapped_column(BigInteger)
    pruned_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StockAdjustment(Base):
    """A seller's change of stock on hand, with its reason: the stock history."""

    __tablename__ = "stock_adjustments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    listing_id: Mapped[str] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"), index=True)
    delta: Mapped[int] = mapped_column(Integer)
    on_hand_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Reservation(Base):
    """One order's reservation (or its rejection); the state makes release idempotent."""

    __tablename__ = "reservations"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    marketplace_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), index=True)
    release_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReservationLine(Base):
    __tablename__ = "reservation_lines"

    order_id: Mapped[str] = mapped_column(ForeignKey("reservations.order_id", ondelete="CASCADE"), primary_key=True)
    line_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    listing_id: Mapped[str] = mapped_column(String(36), index=True)
    quantity: Mapped[int] = mapped_column(Integer)


class FxRate(Base):
    """The current indicative rate of a pair: 1 `base` = `rate` `quote`."""

    __tablename__ = "fx_rates"

    base: Mapped[str] = mapped_column(String(3), primary_key=True)
    quote: Mapped[str] = mapped_column(String(3), primary_key=True)
    #: A decimal string: exact, and portable (SQLite has no exact NUMERIC).
    rate: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(100))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FxRateHistory(Base):
    __tablename__ = "fx_rate_history"
    __table_args__ = (Index("ix_fx_rate_history_pair", "base", "quote", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    base: Mapped[str] = mapped_column(String(3))
    quote: Mapped[str] = mapped_column(String(3))
    rate: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(100))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
