"""Tourism tables. The platform tables (outbox, inbox, idempotency keys) come from `shared.tables`.

Money is stored as integer minor units plus an ISO 4217 code. An offer's prices and refund tiers and
a booking's travellers are JSON text: they are read and written whole, never queried into.

`offer_dates` is the capacity counter of one offer on one date, and the only place capacity is
decided: `taken` counts the places of confirmed bookings and of holds not yet released (an expired
hold stays counted until it is reclaimed, by the sweeper or by the next hold that needs its places;
see `bookings/repository.py`). A date without a row has the offer's default capacity and nothing
taken. The CHECK constraints back the conditional UPDATEs: `taken` never goes negative.
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
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING_CONVENTION, UTCDateTime
from shared.models import JSONText


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Offer(Base):
    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint("default_capacity >= 0", name="default_capacity_not_negative"),
        CheckConstraint("max_quantity >= 1", name="max_quantity_positive"),
        CheckConstraint("hold_ttl_s >= 1", name="hold_ttl_positive"),
        Index("ix_offers_kind_place", "kind", "place", "id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    unit: Mapped[str] = mapped_column(String(20))
    #: {visitor category: price as a decimal string}; a category missing cannot book.
    prices: Mapped[dict[str, str]] = mapped_column(JSONText)
    minimum_age: Mapped[int | None] = mapped_column(Integer)
    #: [[min days before, refund percent as a decimal string], ...], latest tier last.
    refund_tiers: Mapped[list[list[Any]]] = mapped_column(JSONText)
    #: None: the offer cannot be rescheduled.
    reschedule_min_days: Mapped[int | None] = mapped_column(Integer)
    reschedule_fee_percent: Mapped[str] = mapped_column(String(8))
    default_capacity: Mapped[int] = mapped_column(Integer)
    max_quantity: Mapped[int] = mapped_column(Integer)
    room_occupancy: Mapped[int] = mapped_column(Integer)
    hold_ttl_s: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OfferDate(Base):
    """The capacity counter of one offer on one date (see the module docstring)."""

    __tablename__ = "offer_dates"
    __table_args__ = (
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        CheckConstraint("taken >= 0", name="taken_not_negative"),
    )

    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    #: The date's capacity: the offer's default unless `overridden`.
    capacity: Mapped[int] = mapped_column(Integer)
    overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Places of confirmed bookings and of holds not yet released.
    taken: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        Index("ix_bookings_app_id_created", "app_id", "created_at", "id"),
        Index("ix_bookings_created", "created_at", "id"),
        # The sweeper's and the reclaimer's question: which holds of this date are past expiry?
        Index("ix_bookings_status_expires", "status", "expires_at"),
        Index("ix_bookings_offer_date_status", "offer_id", "visit_date", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: The traveller app's id (its keys' subject); the booking is visible to every key of that app
    #: alone (and to ops).
    app_id: Mapped[str] = mapped_column(String(200))
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id"))
    offer_kind: Mapped[str] = mapped_column(String(30))
    visit_date: Mapped[date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    #: [{"name", "nationality", "visitor_category", "date_of_birth"}, ...]
    travellers: Mapped[list[dict[str, str]]] = mapped_column(JSONText)
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    booking_reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    payment_reference: Mapped[str | None] = mapped_column(String(128))
    name_changes: Mapped[int] = mapped_column(Integer, default=0)
    refund_minor: Mapped[int | None] = mapped_column(BigInteger)
    fees_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
