"""api keys: expiry, per-key rate limit, last used

Revision ID: 5b1e0c7d2a94
Revises: fc8b73a80d3b
Create Date: 2026-11-30 06:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db


revision: str = "5b1e0c7d2a94"
down_revision: str | None = "fc8b73a80d3b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("rate_limit", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", shared.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("rate_limit")
        batch_op.drop_column("expires_at")
