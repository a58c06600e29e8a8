"""The catalogue's migrations build exactly what its models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command

from services.catalogue import app as catalogue_app
from shared.migrations import alembic_config
from tests.support.platform import Platform

MIGRATIONS = Path(catalogue_app.__file__).parent / "migrations"


async def test_the_migrated_database_matches_the_models(platform: Platform) -> None:
    # The platform's catalogue database was migrated at start-up; `check` fails on any drift.
    await asyncio.to_thread(command.check, alembic_config(MIGRATIONS, platform.urls["catalogue"]))
