"""Every database's migrations build exactly what its models declare, go down and come back up,
on SQLite and PostgreSQL (`alembic check` fails on any drift between models and migrations)."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from shared.migrations import PLATFORM_VERSIONS, alembic_config
from shared.registry import registered_services
from shared.tables import platform_metadata
from tests.support.databases import Databases

ROOT = Path(__file__).resolve().parents[1]
#: Every registered service's history, and the gateway's.
MIGRATIONS = {s.name: s.migrations for s in registered_services()} | {"gateway": ROOT / "gateway" / "migrations"}


@pytest.mark.parametrize("name", sorted(MIGRATIONS))
async def test_migrations_match_the_models_and_reverse_cleanly(name: str, databases: Databases) -> None:
    url = databases.url(f"{name}_mig_{uuid.uuid4().hex[:6]}")
    config = alembic_config(MIGRATIONS[name], url, platform=name != "gateway")
    await asyncio.to_thread(command.upgrade, config, "heads")
    await asyncio.to_thread(command.check, config)
    await asyncio.to_thread(command.downgrade, config, "base")
    await asyncio.to_thread(command.upgrade, config, "heads")
    await asyncio.to_thread(command.check, config)


@pytest.mark.parametrize("name", sorted(s.name for s in registered_services()))
def test_platform_tables_come_from_the_one_shared_branch(name: str) -> None:
    """Each service's history starts from the platform branch and never creates a platform table itself."""
    script = ScriptDirectory.from_config(alembic_config(MIGRATIONS[name], "sqlite://"))
    own = [r for r in script.walk_revisions() if Path(r.path).parent != PLATFORM_VERSIONS]
    roots = [r for r in own if r.down_revision is None]
    assert len(roots) == 1
    assert roots[0].dependencies, "the first revision must depend on the platform branch"
    for revision in own:
        source = Path(revision.path).read_text()
        for table in platform_metadata.tables:
            assert not re.search(rf'create_table\(\s*"{table}"', source), (revision.path, table)
