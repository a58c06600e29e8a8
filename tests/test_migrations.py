"""Every database's migrations build exactly what its models declare, go down and come back up,
on SQLite and PostgreSQL (`alembic check` fails on any drift between models and migrations)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from alembic import command

from shared.migrations import alembic_config
from shared.registry import registered_services
from tests.support.databases import Databases

ROOT = Path(__file__).resolve().parents[1]
#: Every registered service's history, and the gateway's.
MIGRATIONS = {s.name: s.migrations for s in registered_services()} | {"gateway": ROOT / "gateway" / "migrations"}


@pytest.mark.parametrize("name", sorted(MIGRATIONS))
async def test_migrations_match_the_models_and_reverse_cleanly(name: str, databases: Databases) -> None:
    config = alembic_config(MIGRATIONS[name], databases.url(f"{name}_mig_{uuid.uuid4().hex[:6]}"))
    await asyncio.to_thread(command.upgrade, config, "head")
    await asyncio.to_thread(command.check, config)
    await asyncio.to_thread(command.downgrade, config, "base")
    await asyncio.to_thread(command.upgrade, config, "head")
    await asyncio.to_thread(command.check, config)
