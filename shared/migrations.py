"""Alembic per service: the shared `env.py` body and the programmatic upgrade run at start-up.

Each service keeps its own `migrations/` folder (versions and a three-line env.py calling
`run_env`); its target metadata is the service's tables plus the platform tables (outbox, inbox,
idempotency keys). The platform tables' DDL lives once, in the `platform` branch
(`shared/platform_migrations/versions`), which `alembic_config` adds to every service's version
locations; a service's first revision `depends_on` it. So a service database has two heads (its own
and the platform's) and is migrated to `heads`; a change to a platform table is one revision there.

Replicas starting together all run `upgrade_to_head`: on PostgreSQL the migration takes a
transaction-level advisory lock first, so one replica migrates and the others wait, then find the
database at head and do nothing (SQLite serialises writers by itself).

`python -m shared.migrations SERVICE MESSAGE` (`make migration SERVICE=... MSG=...`) autogenerates a
revision for a registered service: it upgrades a scratch SQLite database to head and lets Alembic
compare it with the models. Review the file it writes; autogenerate misses renames and data moves.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import zlib
from collections.abc import Sequence
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from shared.db import make_engine

__all__ = ["alembic_config", "autogenerate_revision", "run_env", "upgrade_to_head"]

#: The shared branch holding the platform tables' DDL.
PLATFORM_VERSIONS = Path(__file__).parent / "platform_migrations" / "versions"

#: One key per database (advisory locks are scoped to the database): "a migration is running here".
MIGRATION_LOCK_KEY = zlib.crc32(b"ewtp.migrations") & 0x7FFFFFFF


def alembic_config(script_location: Path, url: str, *, platform: bool = True) -> Config:
    """Alembic's configuration for one database; `platform=False` for one without platform tables (the gateway)."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if platform:
        config.set_main_option("path_separator", "os")
        locations = [str(script_location / "versions"), str(PLATFORM_VERSIONS)]
        config.set_main_option("version_locations", os.pathsep.join(locations))
    return config


def run_env(target_metadata: Sequence[MetaData]) -> None:
    """The body of a service's `migrations/env.py` (online mode, async engine)."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=list(target_metadata),
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = make_engine(url, begin="BEGIN")
        try:
            async with engine.connect() as connection:
                if connection.dialect.name == "postgresql":
                    # Held until the commit below: a second replica waits here, then sees head.
                    await connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
                await connection.run_sync(migrate)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(main())


async def upgrade_to_head(script_location: Path, url: str, *, platform: bool = True) -> None:
    """Run the service's migrations (every head); in a thread, because env.py runs its own event loop."""
    await asyncio.to_thread(command.upgrade, alembic_config(script_location, url, platform=platform), "heads")


def autogenerate_revision(script_location: Path, message: str) -> None:
    """A new revision in `script_location`, from the difference between head and the models.

    It extends the service's own head; a service without revisions gets a new root that depends on
    the platform branch (the platform tables are already there, so autogenerate leaves them out).
    """
    with tempfile.TemporaryDirectory() as scratch:
        config = alembic_config(script_location, f"sqlite+aiosqlite:///{Path(scratch) / 'scratch.db'}")
        command.upgrade(config, "heads")
        script = ScriptDirectory.from_config(config)
        own = [head for head in script.get_heads() if not _in_platform_branch(script, head)]
        if own:
            command.revision(config, message=message, autogenerate=True, head=own[0])
            return
        platform_head = next(head for head in script.get_heads() if _in_platform_branch(script, head))
        command.revision(
            config,
            message=message,
            autogenerate=True,
            head="base",
            version_path=str(script_location / "versions"),
            depends_on=platform_head,
        )


def _in_platform_branch(script: ScriptDirectory, revision: str) -> bool:
    found = script.get_revision(revision)
    return found is not None and Path(found.path).parent == PLATFORM_VERSIONS


def main(argv: Sequence[str]) -> None:
    from shared.registry import service

    if len(argv) != 2 or not argv[1].strip():
        raise SystemExit("usage: python -m shared.migrations SERVICE MESSAGE")
    autogenerate_revision(service(argv[0]).migrations, argv[1])


if __name__ == "__main__":
    main(sys.argv[1:])
