"""Settings, the unit of work, SQLite connection settings and JSON logs."""

import asyncio
import json
import logging
import sqlite3

import pytest
from pydantic import ValidationError
from sqlalchemy import func, insert, select, text

from shared.db import Database
from shared.observability import JsonFormatter, request_id_var
from shared.settings import ServiceSettings
from tests.shared.conftest import effects_table
from tests.support.databases import on_postgres


def test_the_development_secret_is_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="signing_secret"):
        ServiceSettings(environment="production")
    assert ServiceSettings(environment="production", signing_secret="a-real-secret").environment == "production"


def test_settings_come_from_the_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EWTP_DATABASE_URL", "sqlite+aiosqlite:///x.db")
    monkeypatch.setenv("EWTP_OUTBOX_POLL_INTERVAL_S", "0.25")
    settings = ServiceSettings()
    assert (settings.database_url, settings.outbox_poll_interval_s) == ("sqlite+aiosqlite:///x.db", 0.25)


async def test_the_unit_of_work_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await session.execute(insert(effects_table).values(note="half-written"))
            raise RuntimeError("business rule broken")
    async with db.transaction() as session:
        await session.execute(insert(effects_table).values(note="kept"))
    async with db.read() as session:
        notes = (await session.execute(select(effects_table.c.note))).scalars().all()
    assert notes == ["kept"]


async def test_the_unit_of_work_runs_commit_hooks_only_after_commit(db: Database) -> None:
    calls: list[str] = []
    db.on_commit(lambda: calls.append("committed"))
    with pytest.raises(RuntimeError):
        async with db.transaction():
            raise RuntimeError
    assert calls == []
    async with db.transaction() as session:
        await session.execute(insert(effects_table).values(note="x"))
    assert calls == ["committed"]
    async with db.read() as session:
        assert (await session.execute(select(func.count()).select_from(effects_table))).scalar_one() == 1


async def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(db: Database) -> None:
    if on_postgres():
        pytest.skip("SQLite connection settings")
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
        # Writers run inline on the loop: no busy handler sleeping there (BEGIN IMMEDIATE retries instead).
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one() == 0
    async with db.read_engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one() >= 5000


async def test_an_sqlite_writer_waits_out_another_process_without_blocking_the_loop(db: Database) -> None:
    if on_postgres():
        pytest.skip("SQLite write lock")
    path = db.engine.url.database
    assert path
    other = sqlite3.connect(path, isolation_level=None)  # another process's writer, as SQLite sees it
    other.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    try:
        async with db.transaction() as session:
            await session.execute(insert(effects_table).values(note="after the other writer"))
        # The other writer commits from this same loop: had our wait blocked the loop, it never could.
        assert ticks > 0
    finally:
        task.cancel()
        other.close()
    async with db.read() as session:
        assert (await session.execute(select(func.count()).select_from(effects_table))).scalar_one() == 1


def test_log_lines_are_json_with_the_request_id() -> None:
    formatter = JsonFormatter("sellers")
    token = request_id_var.set("req-abc-123")
    try:
        record = logging.LogRecord("ewtp.test", logging.INFO, __file__, 1, "seller %s verified", ("s1",), None)
        record.seller_id = "s1"
        line = json.loads(formatter.format(record))
    finally:
        request_id_var.reset(token)
    assert line["msg"] == "seller s1 verified"
    assert line["request_id"] == "req-abc-123"
    assert line["service"] == "sellers"
    assert line["seller_id"] == "s1"
    assert line["level"] == "info"
