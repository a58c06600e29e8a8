"""In-process caches of small hot tables (FX rates, say), dropped when a write to the table commits.

Correctness, not a TTL: a writer calls `await cache.changed(session)` inside its transaction.

- In this process, the value is dropped right after that transaction commits (a SQLAlchemy
  `after_commit` hook), so a process reads its own writes.
- On PostgreSQL the same call issues `NOTIFY <channel>`, which PostgreSQL delivers at commit (and
  only on commit) to every replica's listener; each drops its value. A replica whose listener is not
  connected (starting, or its connection lost) does not cache at all: it reads the table every time,
  so a lost connection costs speed, never a stale value.
- A load that started before an invalidation is not kept (a generation counter), so a reader racing
  a commit cannot store the old value after the drop.

Between a commit on one replica and the notification reaching another (a fraction of a millisecond
on one network) the other may still answer with the previous value; that is the staleness the cache
adds, and it is the same a reader already had under READ COMMITTED a moment earlier.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database

__all__ = ["HotTableCache"]

log = logging.getLogger("ewtp.cache")

V = TypeVar("V")


@dataclass
class _State:
    value: Any = None
    loaded: bool = False
    generation: int = 0
    listening: bool = False
    listener: asyncio.Task[None] | None = None


class HotTableCache(Generic[V]):
    """A value computed from a small table (`load(db)`), cached per `Database` until a write commits."""

    def __init__(self, name: str, load: Callable[[Database], Awaitable[V]]) -> None:
        self.name = name
        self.channel = f"ewtp_cache_{name}"
        self._load = load
        #: One state per database, keyed by its (sync) engine, so a writer finds it from its session.
        self._states: weakref.WeakKeyDictionary[Any, _State] = weakref.WeakKeyDictionary()

    def _state(self, db: Database) -> _State:
        state = self._states.get(db.engine.sync_engine)
        if state is None:
            state = self._states[db.engine.sync_engine] = _State()
            if not db.is_sqlite:
                state.listener = asyncio.create_task(self._listen(db, state), name=f"cache-{self.name}")
                db.on_dispose(lambda: self._stop(state))
        return state

    async def get(self, db: Database) -> V:
        state = self._state(db)
        if state.loaded:
            return state.value  # type: ignore[no-any-return]
        generation = state.generation
        value = await self._load(db)
        # Keep it only if nothing was invalidated meanwhile and (PostgreSQL) we would hear of a change.
        if generation == state.generation and (db.is_sqlite or state.listening):
            state.value, state.loaded = value, True
        return value

    def invalidate(self, db: Database) -> None:
        self._drop(self._states.get(db.engine.sync_engine))

    @staticmethod
    def _drop(state: _State | None) -> None:
        if state is not None:
            state.generation += 1
            state.value, state.loaded = None, False

    async def changed(self, session: AsyncSession) -> None:
        """Inside a writer's transaction: drop the cached value everywhere once it commits."""
        bind: Any = session.get_bind()
        state = self._states.get(getattr(bind, "engine", bind))
        if state is not None:
            event.listen(session.sync_session, "after_commit", lambda _s: self._drop(state), once=True)
            # Also now: a read in this process before the commit must not cache the old value.
            self._drop(state)
        if bind.dialect.name == "postgresql":
            await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": self.channel})

    async def _listen(self, db: Database, state: _State) -> None:
        """Hold a LISTEN connection; while it is down, the cache is off (see the module docstring)."""
        import asyncpg

        _, kwargs = db.engine.dialect.create_connect_args(db.engine.url)
        kwargs.pop("prepared_statement_cache_size", None)
        delay = 0.5
        while True:
            conn: Any = None
            try:
                conn = await asyncpg.connect(**kwargs)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(self.channel, lambda *_a: self._drop(state))
                state.listening = True
                self._drop(state)  # anything cached before we listened may be stale
                delay = 0.5
                await lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure only turns the cache off
                log.warning("cache %s: listener down (%r); caching off", self.name, exc)
            finally:
                state.listening = False
                self._drop(state)
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _stop(self, state: _State) -> None:
        if state.listener is not None:
            state.listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await state.listener
