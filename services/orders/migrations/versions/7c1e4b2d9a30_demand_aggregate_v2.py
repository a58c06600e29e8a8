"""demand aggregate v2: totals per day without the seller, a seller table, buyer sketches

Revision ID: 7c1e4b2d9a30
Revises: 2a6d748ba82f
Create Date: 2026-11-30 07:55:00

The aggregate is derived data: the new tables start empty (no deployment holds orders yet; a real
one would refill them from orders in status confirmed, shipped or delivered).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c1e4b2d9a30"
down_revision: str | None = "2a6d748ba82f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("demand_daily")
    op.drop_table("demand_buyers")
    op.create_table(
        "demand_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("hs_code", sa.String(length=12), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("value_minor", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "category", "hs_code", "currency", name=op.f("pk_demand_daily")),
    )
    op.create_table(
        "demand_seller_daily",
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("hs_code", sa.String(length=12), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("value_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "seller_id", "day", "category", "hs_code", "currency", name=op.f("pk_demand_seller_daily")
        ),
    )
    op.create_table(
        "demand_buyers",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("hs_code", sa.String(length=12), nullable=False),
        sa.Column("sketch", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("day", "category", "hs_code", name=op.f("pk_demand_buyers")),
    )


def downgrade() -> None:
    op.drop_table("demand_buyers")
    op.drop_table("demand_seller_daily")
    op.drop_table("demand_daily")
    op.create_table(
        "demand_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("hs_code", sa.String(length=12), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("value_minor", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "category", "hs_code", "currency", "seller_id", name=op.f("pk_demand_daily")),
    )
    op.create_table(
        "demand_buyers",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("hs_code", sa.String(length=12), nullable=False),
        sa.Column("buyer_key", sa.String(length=32), nullable=False),
        sa.Column("lines", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "category", "hs_code", "buyer_key", name=op.f("pk_demand_buyers")),
    )
