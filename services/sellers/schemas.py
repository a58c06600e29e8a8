"""Request and response models of the sellers API."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from services.sellers.domain import (
    NAEB_SECTORS,
    District,
    DocumentType,
    OriginCertificateType,
    Sector,
    SellerStatus,
)
from shared.types import BoundedDate, Email, Line, Nullable, PatchModel, Phone, RequestModel, Text, Tin

# Every text field is a Line or Text (no NUL, no lone surrogate, no controls) and every code an ASCII
# Code from shared/types.py: a TIN in fullwidth digits was a second seller beside the ASCII one.
Name = Annotated[str, Line(200, min_length=2)]
NaebNumber = Annotated[str, Line(50, min_length=3)]
DocumentNumber = Annotated[str, Line(100)]
Reason = Annotated[str, Text(2000, min_length=3)]
Sectors = Annotated[list[Sector], Field(min_length=1, max_length=5)]


def needs_naeb(sectors: Iterable[str]) -> bool:
    return bool(NAEB_SECTORS & set(sectors))


NAEB_REQUIRED = "required for coffee and tea exporters"


class SellerCreate(RequestModel):
    legal_name: Name
    tin: Tin
    sectors: Sectors
    district: District
    contact_email: Email
    contact_phone: Phone
    naeb_registration_number: Annotated[NaebNumber | None, Field(validate_default=True)] = None

    @field_validator("naeb_registration_number", mode="after")
    @classmethod
    def _naeb_for_coffee_and_tea(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and needs_naeb(info.data.get("sectors") or []):
            raise ValueError(NAEB_REQUIRED)
        return value


class SellerUpdate(PatchModel):
    """A partial update of the seller's own profile; legal name and TIN change only through RDB.

    Absent fields stay as they are; `null` clears only the NAEB number (and only where the sectors
    do not require one); a `null` for any other field is a 422 naming it.
    """

    sectors: Sectors | None = None
    district: District | None = None
    contact_email: Email | None = None
    contact_phone: Phone | None = None
    naeb_registration_number: Nullable[NaebNumber] = None


class SellerOut(BaseModel):
    id: str
    legal_name: str
    tin: str
    sectors: list[Sector]
    district: District
    contact_email: str
    contact_phone: str
    naeb_registration_number: str | None
    status: SellerStatus
    version: int
    created_at: datetime
    updated_at: datetime


class DocumentCreate(RequestModel):
    type: DocumentType
    origin_certificate_type: Annotated[OriginCertificateType | None, Field(validate_default=True)] = None
    number: DocumentNumber
    issued_on: BoundedDate
    expires_on: BoundedDate | None = None

    @field_validator("origin_certificate_type", mode="after")
    @classmethod
    def _origin_type_only_for_origin(
        cls, value: OriginCertificateType | None, info: ValidationInfo
    ) -> OriginCertificateType | None:
        is_origin = info.data.get("type") is DocumentType.CERTIFICATE_OF_ORIGIN
        if is_origin and value is None:
            raise ValueError("required for a certificate of origin")
        if not is_origin and value is not None:
            raise ValueError("applies only to a certificate of origin")
        return value

    @field_validator("expires_on", mode="after")
    @classmethod
    def _expires_after_issue(cls, value: date | None, info: ValidationInfo) -> date | None:
        issued = info.data.get("issued_on")
        if value is not None and issued is not None and value <= issued:
            raise ValueError("must be after issued_on")
        return value


class DocumentOut(BaseModel):
    id: str
    seller_id: str
    type: DocumentType
    origin_certificate_type: OriginCertificateType | None
    number: str
    issued_on: date
    expires_on: date | None
    created_at: datetime


class DecisionIn(RequestModel):
    reason: Reason | None = None


class StatusChangeOut(BaseModel):
    from_status: SellerStatus | None
    to_status: SellerStatus
    actor: str
    reason: str | None
    at: datetime


class HistoryOut(BaseModel):
    items: list[StatusChangeOut]
