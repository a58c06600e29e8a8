"""Tables that every service database holds, defined once here and migrated by each service.

Each service's Alembic environment targets `[Base.metadata, platform_metadata]`.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from shared.db import UTCDateTime, platform_metadata
from shared.models import BigId

__all__ = ["idempotency_table", "inbox_table", "outbox_table", "platform_metadata"]


outbox_table = Table(
    "outbox",
    platform_metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("event_type", String(200), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("key", String(200), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime, nullable=True),
    Index("ix_outbox_pending", "published_at", "id"),
)

inbox_table = Table(
    "inbox",
    platform_metadata,
    Column("consumer", String(200), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("processed_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("consumer", "event_id"),
)

idempotency_table = Table(
    "idempotency_keys",
    platform_metadata,
    Column("scope", String(300), nullable=False),
    Column("key", String(200), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("headers", Text, nullable=True),
    Column("body", LargeBinary, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("scope", "key"),
)
