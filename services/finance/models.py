"""Finance tables. The platform tables (outbox, inbox, idempotency keys) come from `shared.tables`.

Money is stored as integer minor units (BIGINT) beside the application's one ISO 4217 currency.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING_CONVENTION, UTCDateTime
from shared.models import BigId


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Application(Base):
    """One finance application, its terms, its eligibility as last evaluated, and its balance."""

    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint("requested_minor > 0", name="requested_positive"),
        CheckConstraint("tenor_days > 0", name="tenor_positive"),
        CheckConstraint(
            "principal_outstanding_minor >= 0 AND interest_outstanding_minor >= 0 AND fees_outstanding_minor >= 0",
            name="balance_not_negative",
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seller_id: Mapped[str] = mapped_column(String(64), index=True)
    product: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    #: The state a hold interrupted; release returns to it.
    held_from: Mapped[str | None] = mapped_column(String(20))
    hold_reason: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    requested_minor: Mapped[int] = mapped_column(BigInteger)
    tenor_days: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(Text)
    #: The underlying trade as the seller declared it (buyer, PO/invoice, Incoterm, dates).
    trade: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    guarantee_scheme: Mapped[str | None] = mapped_column(String(32))
    guarantee_enhanced: Mapped[bool] = mapped_column(Boolean, default=False)
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    linked_order_ids: Mapped[list[str]] = mapped_column(JSON, default=list)

    eligible: Mapped[bool | None] = mapped_column(Boolean)
    #: Each rule's outcome as last evaluated: [{"rule", "passed", "detail"}].
    eligibility: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    eligibility_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    approved_minor: Mapped[int | None] = mapped_column(BigInteger)
    #: Simple annual rate as a decimal string ("0.18"): exact, and the same on both databases.
    annual_rate: Mapped[str | None] = mapped_column(String(16))
    fees_minor: Mapped[int | None] = mapped_column(BigInteger)
    instalments: Mapped[int | None] = mapped_column(Integer)
    conditions: Mapped[list[str] | None] = mapped_column(JSON)
    decision_reason: Mapped[str | None] = mapped_column(Text)

    disbursement_reference: Mapped[str | None] = mapped_column(String(64))
    disbursed_on: Mapped[date | None] = mapped_column(Date)
    maturity_on: Mapped[date | None] = mapped_column(Date)
    principal_outstanding_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_outstanding_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    fees_outstanding_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Interest has been accrued on the principal up to this date.
    accrued_to: Mapped[date | None] = mapped_column(Date)
    repaid_minor: Mapped[int] = mapped_column(BigInteger, default=0)

    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StatusChange(Base):
    """The audit history: every transition with who made it, why and when."""

    __tablename__ = "application_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrderClaim(Base):
    """A seller's part of an order is financed by at most one open application: the primary key decides."""

    __tablename__ = "order_claims"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seller_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Instalment(Base):
    """The repayment schedule generated at disbursement."""

    __tablename__ = "instalments"

    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_on: Mapped[date] = mapped_column(Date)
    principal_minor: Mapped[int] = mapped_column(BigInteger)
    interest_minor: Mapped[int] = mapped_column(BigInteger)
    fee_minor: Mapped[int] = mapped_column(BigInteger)


class Repayment(Base):
    """One repayment and how it was allocated (fees, then interest, then principal)."""

    __tablename__ = "repayments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(64))
    to_fees_minor: Mapped[int] = mapped_column(BigInteger)
    to_interest_minor: Mapped[int] = mapped_column(BigInteger)
    to_principal_minor: Mapped[int] = mapped_column(BigInteger)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SellerProjection(Base):
    """Finance's copy of each seller's standing and sectors, from `sellers.events`."""

    __tablename__ = "seller_projection"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30))
    status_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SellerSectorProjection(Base):
    __tablename__ = "seller_sector_projection"

    seller_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sector: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class OrderProjection(Base):
    """One seller's part of one order, from `orders.events`: its value and the dates it reached each stage.

    An order with lines of several sellers has one row per seller. Stage dates are the events'
    `occurred_at`, so events arriving out of order still leave the furthest stage reached.
    """

    __tablename__ = "order_projection"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seller_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    marketplace_id: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str | None] = mapped_column(String(3))
    value_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProjectionMark(Base):
    """How far a projection has read: the time of the last event it consumed (the trade profile's "as of")."""

    __tablename__ = "projection_marks"

    stream: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_event_id: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
