"""One database per service per test run: SQLite files by default, PostgreSQL with `EWTP_TEST_DB=postgres`.

PostgreSQL databases are created here and dropped at the end of the run.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg

PG_URL = os.environ.get("EWTP_TEST_PG_URL", "postgresql://127.0.0.1:5432")


def on_postgres() -> bool:
    return os.environ.get("EWTP_TEST_DB", "sqlite") == "postgres"


class Databases:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.run_id = uuid.uuid4().hex[:8]
        self.created: list[str] = []

    def url(self, name: str) -> str:
        if not on_postgres():
            return f"sqlite+aiosqlite:///{self.tmp / f'{name}.db'}"
        db_name = f"ewtp_test_{name}_{self.run_id}"
        _admin(f'CREATE DATABASE "{db_name}"')
        self.created.append(db_name)
        return f"{PG_URL.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{db_name}"

    def drop_all(self) -> None:
        for db_name in self.created:
            _admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        self.created.clear()


def _admin(sql: str) -> None:
    """Run one administrative statement; in a thread of its own, as fixtures may run inside an event loop."""

    async def run() -> None:
        conn = await asyncpg.connect(f"{PG_URL}/postgres", user=os.environ.get("PGUSER", "postgres"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()
