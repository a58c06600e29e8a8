"""Logistics tables. The platform tables (outbox, inbox, idempotency keys) come from `shared.tables`.

Decimals (prices, weights) are stored as decimal strings, never floats: SQLite has no exact NUMERIC,
and a rate card's figures must come back exactly as ops wrote them. Structured parts that are only
ever read whole (a card's weight breaks and surcharges, a quote's options) are JSON text.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
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


#: A card's volumetric override is both figures, positive, or neither.
_VOLUMETRIC_PAIR = (
    "(volumetric_kg IS NULL AND volumetric_per_cm3 IS NULL) OR (volumetric_kg > 0 AND volumetric_per_cm3 > 0)"
)


class RateCardRow(Base):
    """One version of one carrier's card for one lane and mode. Rows are never updated: a price
    change is a new row with the next version, so a quote's `(card_id, version)` always resolves."""

    __tablename__ = "rate_cards"
    __table_args__ = (
        UniqueConstraint("card_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint(_VOLUMETRIC_PAIR, name="volumetric_pair"),
        Index("ix_rate_cards_lane", "mode", "origin", "destination"),
    )

    #: Insertion order.
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    card_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    carrier: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(String(5))
    destination: Mapped[str] = mapped_column(String(5))
    currency: Mapped[str] = mapped_column(String(3))
    #: [{"from_kg": "0", "price_per_kg": "4.90"}, ...]
    breaks: Mapped[Any] = mapped_column(JSONText)
    #: [{"kind": "fuel", "basis": "per_kg", "value": "0.85", "included": false}, ...]
    surcharges: Mapped[Any] = mapped_column(JSONText)
    minimum_charge: Mapped[str] = mapped_column(String(32))
    transit_days: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    rounding_step_kg: Mapped[str | None] = mapped_column(String(32))
    min_chargeable_kg: Mapped[str | None] = mapped_column(String(32))
    #: The card's own volumetric ratio, `volumetric_kg` kg per `volumetric_per_cm3` cm³ (both or
    #: neither; NULL: the mode's, see config.py).
    volumetric_kg: Mapped[int | None] = mapped_column(Integer)
    volumetric_per_cm3: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QuoteRow(Base):
    """An issued quote: the request and the full priced answer, frozen (a new card version changes
    nothing here). `owner` is who asked (`<role>:<subject or principal>`); only they and ops read it."""

    __tablename__ = "quotes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200), index=True)
    origin: Mapped[str] = mapped_column(String(5))
    destination: Mapped[str] = mapped_column(String(5))
    incoterm: Mapped[str] = mapped_column(String(3))
    actual_weight_kg: Mapped[str] = mapped_column(String(32))
    #: The response body as issued (options, charges, reason), JSON text serialised once: a read
    #: returns exactly what the asker was told.
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ShipmentRow(Base):
    """At most one per order (the booking decision, booked or failed), whatever the redeliveries."""

    __tablename__ = "shipments"
    __table_args__ = (
        Index("ix_shipments_created", "created_at", "id"),
        Index("ix_shipments_status_created", "status", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), unique=True)
    quote_id: Mapped[str] = mapped_column(String(64))
    option_id: Mapped[str | None] = mapped_column(String(64))
    marketplace_id: Mapped[str | None] = mapped_column(String(64), index=True)
    #: The quote's owner, who may read the shipment too.
    quote_owner: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(30))
    mode: Mapped[str | None] = mapped_column(String(16))
    carrier: Mapped[str | None] = mapped_column(String(500))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    gross_weight_kg: Mapped[str | None] = mapped_column(String(32))
    total: Mapped[str | None] = mapped_column(String(32))
    currency: Mapped[str | None] = mapped_column(String(3))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TrackingEventRow(Base):
    """A shipment's timeline entry; the unique constraint makes a repeated event a no-op."""

    __tablename__ = "tracking_events"
    __table_args__ = (UniqueConstraint("shipment_id", "code", "classifier", "at", "location"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shipment_id: Mapped[str] = mapped_column(String(36), index=True)
    code: Mapped[str] = mapped_column(String(30))
    classifier: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    location: Mapped[str] = mapped_column(String(5))
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
