"""An asyncio SQLAlchemy dialect for SQLite's writers that runs each statement inline on the event loop.

Why: aiosqlite runs every call (BEGIN, each statement, fetch, COMMIT, the pool's reset) on a thread
of its own and hands the result back through the loop. On a loaded machine each hand-over waits for
the OS to schedule that thread and for the GIL, about a millisecond each: an empty write transaction
cost ~6 ms, a seller's registration ~50 ms of wall time, for SQL that takes ~0.1 ms. A write
statement on SQLite (WAL, `synchronous=NORMAL`: no fsync at commit) is short and bounded, and the
writers of a process already queue on `Database.write_lock`, so running them inline is cheaper than
any hand-over and never lets two writers interleave.

How: the plain `pysqlite` dialect marked `is_async`, so `create_async_engine` takes it; SQLAlchemy's
async layer runs the synchronous calls inside its greenlet, where they simply complete. The busy
handler would sleep on the loop, so these connections have no busy timeout: `BEGIN IMMEDIATE` that
finds another process writing (a migration, a test's own engine) is retried with an asyncio sleep
(`begin_immediate`), and once the write lock is held no later statement of the transaction waits.

Only the write engine uses it. Reads that may be long (a feed snapshot) keep aiosqlite's threads,
and hot reads go through `shared.fastread`, which bounds the time it spends on the loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.util import await_only

__all__ = ["DRIVER", "SQLiteDialect_inline", "begin_immediate"]

DRIVER = "inline"
BUSY_RETRY_FOR_S = 15.0


class SQLiteDialect_inline(SQLiteDialect_pysqlite):  # noqa: N801 - SQLAlchemy's naming
    driver = DRIVER
    is_async = True
    supports_statement_cache = True

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.AsyncAdaptedQueuePool

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        return super().connect(*cargs, **{**cparams, "factory": _Connection})

    # SQLAlchemy's async layer insists that an execution awaited something (it guards against a
    # blocking driver by mistake); these await a coroutine that is already done, which never
    # suspends: a greenlet switch, not a trip through the event loop.
    def do_execute(self, cursor: Any, statement: Any, parameters: Any, context: Any = None) -> None:
        await_only(_ready())
        super().do_execute(cursor, statement, parameters, context)  # type: ignore[no-untyped-call]

    def do_executemany(self, cursor: Any, statement: Any, parameters: Any, context: Any = None) -> None:
        await_only(_ready())
        super().do_executemany(cursor, statement, parameters, context)  # type: ignore[no-untyped-call]

    def do_execute_no_params(self, cursor: Any, statement: Any, context: Any = None) -> None:
        await_only(_ready())
        super().do_execute_no_params(cursor, statement, context)  # type: ignore[no-untyped-call]


async def _ready() -> None:
    return None


class _Cursor(sqlite3.Cursor):
    """sqlite3's cursor, with the one coroutine SQLAlchemy's async results call on a cursor."""

    async def _async_soft_close(self) -> None:
        return None


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> Any:
        return super().cursor(factory)


registry.register(f"sqlite.{DRIVER}", __name__, "SQLiteDialect_inline")


def _is_busy(exc: BaseException) -> bool:
    message = str(exc)
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in message or "busy" in message)


def begin_immediate(conn: Any, statement: str) -> None:
    """Run `statement` (BEGIN IMMEDIATE) on an inline connection; while another process holds the
    write lock, wait with asyncio sleeps (from SQLAlchemy's greenlet), never in the busy handler."""
    deadline = time.monotonic() + BUSY_RETRY_FOR_S
    delay = 0.001
    while True:
        try:
            conn.exec_driver_sql(statement)
            return
        except Exception as exc:  # SQLAlchemy wraps the driver's error
            cause = getattr(exc, "orig", exc)
            if not _is_busy(cause) or time.monotonic() > deadline:
                raise
        await_only(asyncio.sleep(delay))
        delay = min(delay * 2, 0.05)
