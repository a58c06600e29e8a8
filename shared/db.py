"""Database access: async engines for SQLite (aiosqlite) and PostgreSQL (asyncpg), and the unit of work.

Guarantee: `Database.transaction()` is the one place that commits. It commits when its block ends
normally and rolls back on any exception, so a request or an event handler never half-writes.

On SQLite every connection runs with WAL, a busy timeout and foreign keys on, and write transactions
start with `BEGIN IMMEDIATE`: the write lock is taken up front. Writers of one process queue on an
`asyncio.Lock` (one per `Database`) before they open a transaction, so they never race in SQLite's
busy handler (which sleeps and retries, and made p99 a multiple of p50 under load), and their
statements run inline on the event loop rather than on aiosqlite's threads (shared/sqlite_inline.py);
another process holding the write lock (a migration, a test) is waited out with asyncio sleeps.
Reads use a second engine with deferred `BEGIN` so a long read (a feed snapshot) never blocks writers.

Hot reads go through `Database.fetch` (shared/fastread.py): a Core SELECT compiled once per
dialect and run on the raw driver, without the ORM or a pooled session per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, Table, event, make_url, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

__all__ = [
    "NAMING_CONVENTION",
    "Database",
    "UTCDateTime",
    "insert_ignore",
    "make_engine",
    "platform_metadata",
    "utcnow",
]

#: Stable constraint names, so migrations name constraints the same on SQLite and PostgreSQL.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 15_000


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC, also on SQLite (which drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, begin: str | None = "BEGIN IMMEDIATE", inline: bool = False, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url`. On SQLite, `begin` is the statement that opens each transaction
    (`BEGIN IMMEDIATE` takes the write lock up front); None leaves the connection in autocommit, where
    each read statement is its own snapshot and no BEGIN/ROLLBACK round trips are paid. `inline`
    runs the statements on the event loop instead of aiosqlite's threads (shared/sqlite_inline.py):
    for writers that queue on `Database.write_lock`."""
    if not _is_sqlite(url):
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(url, **kwargs)

    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    inline = inline and bool(path) and path != ":memory:" and not path.startswith("file:")
    busy_timeout_ms = 0 if inline else SQLITE_BUSY_TIMEOUT_MS
    if inline:
        from shared.sqlite_inline import DRIVER

        url = str(make_url(url).set(drivername=f"sqlite+{DRIVER}"))
        connect_args: dict[str, Any] = {"timeout": 0, "check_same_thread": False}
    else:
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    engine = create_async_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins (see the "begin" hook).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    if begin is not None:

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            if inline:
                from shared.sqlite_inline import begin_immediate

                begin_immediate(conn, begin)
            else:
                conn.exec_driver_sql(begin)

    return engine


class Database:
    """A service's database: a write engine, a read engine and the unit of work."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.is_sqlite = _is_sqlite(url)
        self.engine = make_engine(url, inline=self.is_sqlite, **engine_kwargs)
        self.read_engine = (
            make_engine(url, begin=None, pool_reset_on_return=None, **engine_kwargs) if self.is_sqlite else self.engine
        )
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._after_commit: list[Callable[[], None]] = []
        #: SQLite: one writer at a time in this process (see the module docstring).
        self.write_lock: asyncio.Lock | None = asyncio.Lock() if self.is_sqlite else None
        #: SQLite: Idempotency-Keys whose request is running in this process (shared/commands.py).
        self.keys_in_flight: set[tuple[str, str]] = set()
        self._reader: Any = None
        #: What `dispose` must close besides the engines (a cache's listener, shared/cache.py).
        self._closers: list[Callable[[], Awaitable[None]]] = []

    def on_dispose(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Await `closer` when the database is disposed (a cache's listener, say)."""
        self._closers.append(closer)

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` after every successful commit (the outbox relay uses it to wake up)."""
        self._after_commit.append(callback)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """The unit of work: commit if the block ends normally, roll back otherwise.

        Not re-entrant on SQLite: a transaction opened inside another one of the same `Database`
        would wait for the writer lock its caller holds.
        """
        async with self._writer(), self._sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
        for callback in self._after_commit:
            callback()

    @asynccontextmanager
    async def _writer(self) -> AsyncIterator[None]:
        if self.write_lock is None:
            yield
        else:
            async with self.write_lock:
                yield

    async def fetch(self, query: Any, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Rows of a `shared.fastread.Query` (or a plain Core SELECT), straight from the driver.

        READ COMMITTED on PostgreSQL, one statement's snapshot on SQLite: the same as `read()`.
        """
        rows: list[tuple[Any, ...]] = await self._fast_reader().fetch(query, params or {})
        return rows

    async def fetch_one(self, query: Any, params: Mapping[str, Any] | None = None) -> tuple[Any, ...] | None:
        rows = await self.fetch(query, params)
        return rows[0] if rows else None

    def _fast_reader(self) -> Any:
        if self._reader is None:
            from shared.fastread import make_reader

            self._reader = make_reader(self)
        return self._reader

    def fetch_columns(self, query: Any) -> Sequence[str]:
        """The column names of `query`'s rows, in order."""
        from shared.fastread import as_query

        return as_query(query).columns

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for queries; it never commits (on SQLite each statement reads its own snapshot)."""
        async with self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncSession]:
        """A read-only session whose every query sees one snapshot of the database.

        PostgreSQL: a REPEATABLE READ READ ONLY transaction (READ COMMITTED would give each statement
        its own snapshot). SQLite in WAL mode: a deferred read transaction is a snapshot from its
        first read on, and never blocks writers.
        """
        async with self.read_engine.connect() as conn:
            if self.is_sqlite:
                await conn.exec_driver_sql("BEGIN")
            else:
                conn = await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            session = AsyncSession(bind=conn, expire_on_commit=False)
            try:
                yield session
            finally:
                if self.is_sqlite:
                    await conn.exec_driver_sql("ROLLBACK")
                await session.rollback()
                await session.close()

    async def ping(self) -> None:
        async with self.read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        closers, self._closers = self._closers, []
        for closer in closers:
            await closer()
        if self._reader is not None:
            reader, self._reader = self._reader, None
            await reader.close()
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


#: Tables every service has (outbox, inbox, idempotency keys); see `shared.tables`.
platform_metadata = MetaData(naming_convention=NAMING_CONVENTION)


async def insert_ignore(session: AsyncSession, table: Table, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL; True if the row was inserted."""
    dialect = session.get_bind().dialect.name
    insert_fn: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    result = await session.execute(insert_fn(table).values(values).on_conflict_do_nothing())
    return bool(getattr(result, "rowcount", 0))
