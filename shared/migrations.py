"""Alembic per service: the shared `env.py` body and the programmatic upgrade run at start-up.

Each service keeps its own `migrations/` folder (versions and a three-line env.py calling
`run_env`); its target metadata is the service's tables plus the platform tables (outbox, inbox,
idempotency keys).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from shared.db import make_engine

__all__ = ["alembic_config", "run_env", "upgrade_to_head"]


def alembic_config(script_location: Path, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
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
                await connection.run_sync(migrate)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(main())


async def upgrade_to_head(script_location: Path, url: str) -> None:
    """Run the service's migrations; in a thread, because env.py runs its own event loop."""
    await asyncio.to_thread(command.upgrade, alembic_config(script_location, url), "head")
