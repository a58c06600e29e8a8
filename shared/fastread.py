"""Reads near the driver: a Core SELECT compiled once per dialect and run on the raw connection.

Why: a one-row read through an ORM session costs ~1 ms of Python (session, identity map, result
machinery) plus, on SQLite, about five thread hops in aiosqlite (cursor, execute, fetchall, close,
rollback), while the query itself takes ~10 µs. `Database.fetch(query, params)` skips all of it:

- the statement is compiled once per dialect (`Query`), with SQLAlchemy's own bind and result
  processors kept, so a `UTCDateTime` or a `JSONText` column reads exactly as through the ORM;
- PostgreSQL: one `fetch` on an asyncpg pool of the reader's own (asyncpg caches the prepared
  statement per connection); READ COMMITTED, as `Database.read()`;
- SQLite (WAL): a read runs inline on the event loop, on a connection of its own, under a VM-step
  budget (`set_progress_handler`). A read that exceeds the budget is interrupted and run again on a
  reader thread, and that statement goes to the threads from then on, so a long read never blocks
  the loop for more than the budget (~a fraction of a millisecond). The inline connection never
  waits for a lock (busy timeout 0): a busy database also sends the read to a thread.

Statements must name their parameters with `bindparam("name")`; values given to the statement
itself are compiled in as defaults. IN lists (expanding parameters) are refused: write one
statement per list length, or `==` per value.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import types as sqltypes
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import InvalidRequestError, OperationalError
from sqlalchemy.sql import Select

if TYPE_CHECKING:
    from shared.db import Database

__all__ = ["Query", "QueryCache", "as_query", "make_reader", "rows_as_dicts"]

#: VM instructions between two progress-handler calls, and how many calls an inline read may use.
STEP_INTERVAL = 1_000
INLINE_STEP_BUDGET = 100  # ~100k VM steps: a PK read takes well under 1k, a 20-row page a few k
#: Reads that ran over the budget this many times in a row go straight to a thread.
LONG_AFTER = 2

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class Compiled:
    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any]
    bind_processors: Mapping[str, Callable[[Any], Any]]
    result_processors: tuple[Processor, ...]
    any_result_processor: bool

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        out = []
        for name in self.names:
            value = params[name] if name in params else self.defaults[name]
            processor = self.bind_processors.get(name)
            out.append(processor(value) if processor is not None and value is not None else value)
        return out

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        if not self.any_result_processor:
            return [tuple(r) for r in raw]
        procs = self.result_processors
        return [tuple(v if p is None or v is None else p(v) for p, v in zip(procs, r, strict=True)) for r in raw]


class Query:
    """A Core SELECT, compiled at most once per dialect."""

    def __init__(self, stmt: Select[Any]) -> None:
        self.stmt = stmt
        self.columns: tuple[str, ...] = tuple(str(c.key) for c in stmt.selected_columns)
        self._compiled: dict[str, Compiled] = {}

    def compiled(self, dialect: Dialect) -> Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _compile(self.stmt, dialect)
        return found


class QueryCache:
    """Queries built on demand by key (a search with optional filters): `cache.get(key, build)`."""

    def __init__(self, max_size: int = 512) -> None:
        self._queries: dict[Hashable, Query] = {}
        self.max_size = max_size

    def get(self, key: Hashable, build: Callable[[], Select[Any]]) -> Query:
        query = self._queries.get(key)
        if query is None:
            if len(self._queries) >= self.max_size:
                self._queries.clear()
            query = self._queries[key] = Query(build())
        return query


def as_query(query: Query | Select[Any]) -> Query:
    return query if isinstance(query, Query) else Query(query)


def rows_as_dicts(query: Query, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    names = query.columns
    return [dict(zip(names, r, strict=True)) for r in rows]


def _compile(stmt: Select[Any], dialect: Dialect) -> Compiled:
    compiled = stmt.compile(dialect=dialect)
    if any(b.expanding for b in compiled.binds.values()):
        raise ValueError("fast reads take no IN lists (expanding parameters)")
    names = tuple(compiled.positiontup or ())
    if not names and compiled.binds:
        raise ValueError(f"{dialect.name}: expected a positional paramstyle")
    defaults = {name: b.effective_value for name, b in compiled.binds.items()}
    bind_processors: dict[str, Callable[[Any], Any]] = {
        k: v for k, v in (compiled._bind_processors or {}).items() if callable(v)
    }
    result_processors = tuple(_result_processor(entry.type, dialect) for entry in compiled._result_columns)
    return Compiled(
        sql=compiled.string,
        names=names,
        defaults=defaults,
        bind_processors=bind_processors,
        result_processors=result_processors,
        any_result_processor=any(p is not None for p in result_processors),
    )


#: PostgreSQL type oids, for the result processors that need the driver's column type (numerics).
_PG_FLOAT8, _PG_NUMERIC = 701, 1700


def _result_processor(type_: Any, dialect: Dialect) -> Processor:
    """SQLAlchemy's result processor for `type_`; the column type code is only known after a query,
    so the numeric processors (which need it) get the oid the compiled type stands for."""
    try:
        processor: Processor = type_._cached_result_processor(dialect, None)
    except (TypeError, InvalidRequestError):
        impl = getattr(type_, "impl", type_)
        oid = _PG_FLOAT8 if isinstance(impl, sqltypes.Float) else _PG_NUMERIC
        processor = type_._cached_result_processor(dialect, oid)
    return processor


class _Reader:
    def __init__(self, db: Database) -> None:
        self.dialect = db.engine.dialect

    async def fetch(self, query: Query | Select[Any], params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    async def close(self) -> None:
        return None


class _SessionReader(_Reader):
    """Fallback (in-memory SQLite, other drivers): the statement through the read engine."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.db = db

    async def fetch(self, query: Query | Select[Any], params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        async with self.db.read_engine.connect() as conn:
            result = await conn.execute(as_query(query).stmt, dict(params))
            return [tuple(r) for r in result.all()]


class _AsyncpgReader(_Reader):
    def __init__(self, db: Database, max_size: int = 10) -> None:
        super().__init__(db)
        _, self.connect_kwargs = self.dialect.create_connect_args(db.engine.url)
        self.connect_kwargs.pop("prepared_statement_cache_size", None)
        self.max_size = max_size
        self.pool: Any = None
        self._starting = asyncio.Lock()

    async def _start(self) -> Any:
        import asyncpg

        async with self._starting:
            if self.pool is None:
                dialect: Any = self.dialect

                async def init(conn: Any) -> None:
                    # The JSON codecs SQLAlchemy's asyncpg dialect installs, so JSON reads alike.
                    shim = _Shim(conn)
                    await dialect.setup_asyncpg_json_codec(shim)
                    await dialect.setup_asyncpg_jsonb_codec(shim)

                self.pool = await asyncpg.create_pool(
                    min_size=1, max_size=self.max_size, init=init, **self.connect_kwargs
                )
        return self.pool

    async def fetch(self, query: Query | Select[Any], params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        import asyncpg

        compiled = as_query(query).compiled(self.dialect)
        args = compiled.args(params)
        try:
            pool = self.pool or await self._start()
            raw = await pool.fetch(compiled.sql, *args)
        except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError) as exc:
            # As SQLAlchemy would raise it: a database that is down answers 503 (shared/errors.py).
            raise OperationalError(compiled.sql, args, exc) from exc
        return compiled.rows(raw)

    async def close(self) -> None:
        if self.pool is not None:
            pool, self.pool = self.pool, None
            await pool.close()


@dataclass
class _Shim:
    _connection: Any


class _SqliteReader(_Reader):
    def __init__(self, db: Database, path: str, threads: int = 2) -> None:
        super().__init__(db)
        self.path = path
        self._inline: sqlite3.Connection | None = None
        self._ticks = 0
        self._over: dict[str, int] = {}
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sqlite-read")
        self.inline_reads = 0
        self.thread_reads = 0

    def _connect(self, busy_timeout_ms: int) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        conn.execute("PRAGMA query_only=ON")
        return conn

    def _tick(self) -> int:
        self._ticks += 1
        return 1 if self._ticks > INLINE_STEP_BUDGET else 0

    def _inline_connection(self) -> sqlite3.Connection:
        if self._inline is None:
            conn = self._connect(0)
            conn.set_progress_handler(self._tick, STEP_INTERVAL)
            self._inline = conn
        return self._inline

    def _run_in_thread(self, sql: str, args: list[Any]) -> list[Any]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            from shared.db import SQLITE_BUSY_TIMEOUT_MS

            conn = self._local.conn = self._connect(SQLITE_BUSY_TIMEOUT_MS)
        return conn.execute(sql, args).fetchall()

    async def fetch(self, query: Query | Select[Any], params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        compiled = as_query(query).compiled(self.dialect)
        args = compiled.args(params)
        sql = compiled.sql
        if self._over.get(sql, 0) < LONG_AFTER:
            self._ticks = 0
            try:
                raw = self._inline_connection().execute(sql, args).fetchall()
            except sqlite3.OperationalError as exc:
                message = str(exc)
                if "interrupted" in message:
                    self._over[sql] = self._over.get(sql, 0) + 1
                elif "locked" not in message and "busy" not in message:
                    raise OperationalError(sql, args, exc) from exc
            else:
                self._over.pop(sql, None)
                self.inline_reads += 1
                return compiled.rows(raw)
        self.thread_reads += 1
        try:
            raw = await asyncio.get_running_loop().run_in_executor(self._executor, self._run_in_thread, sql, args)
        except sqlite3.OperationalError as exc:
            raise OperationalError(sql, args, exc) from exc
        return compiled.rows(raw)

    async def close(self) -> None:
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        self._executor.shutdown(wait=False)


def make_reader(db: Database) -> _Reader:
    name = db.engine.dialect.name
    if name == "postgresql" and db.engine.dialect.driver == "asyncpg":
        return _AsyncpgReader(db)
    if name == "sqlite":
        database = db.engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            return _SqliteReader(db, database)
    return _SessionReader(db)
