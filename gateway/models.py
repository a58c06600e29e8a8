"""The gateway's own tables: API keys, stored without the key itself (only a SHA-256 of its secret)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import NAMING_CONVENTION, UTCDateTime

__all__ = ["ApiKey", "Base"]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ApiKey(Base):
    __tablename__ = "api_keys"

    #: The public part of the key (`ewtp_<id>_<secret>`); safe to log and to show in listings.
    id: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    #: The seller, marketplace or traveller app the key acts for; set exactly for those three roles
    #: (checked on issue; traveller_app keys issued before that rule may have none).
    subject_id: Mapped[str | None] = mapped_column(String(100))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: After this instant the key is refused (401); None: it does not expire.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: This key's own rate limit (`limits` syntax, `0` for none), replacing its role's; None: the role's.
    rate_limit: Mapped[str | None] = mapped_column(String(50))
    #: When the key was last used, to within the gateway's `last_used_flush_s` (written in batches).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
