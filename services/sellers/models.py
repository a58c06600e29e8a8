"""Sellers tables. The platform tables (outbox, inbox, idempotency keys) come from `shared.tables`."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import NAMING_CONVENTION, UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Seller(Base):
    __tablename__ = "sellers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    tin: Mapped[str] = mapped_column(String(9), unique=True)
    district: Mapped[str] = mapped_column(String(40), index=True)
    contact_email: Mapped[str] = mapped_column(String(320))
    contact_phone: Mapped[str] = mapped_column(String(20))
    naeb_registration_number: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(30), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    sectors: Mapped[list[SellerSector]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="SellerSector.sector"
    )


class SellerSector(Base):
    __tablename__ = "seller_sectors"

    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"), primary_key=True)
    sector: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)


class SellerDocument(Base):
    __tablename__ = "seller_documents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    origin_certificate_type: Mapped[str | None] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(100))
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SellerStatusChange(Base):
    """The verification history: every transition with who made it, why and when."""

    __tablename__ = "seller_status_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
