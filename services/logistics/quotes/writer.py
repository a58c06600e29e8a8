"""Group commit for issued quotes: the writes of concurrent quote requests share one transaction.

Why: a quote is cheap to price, so its cost is its commit. Each request committing alone means, on
SQLite, up to a pool's worth of connections queueing on the database's one write lock (each waiting
in SQLite's sleeping busy handler) and, on PostgreSQL, one commit round trip per quote. One writer
task committing whatever accumulated while the previous batch committed removes both costs.

Guarantees:
- A request is answered only after its quote row and its `quote.issued` outbox row committed (the
  same as committing alone): `write` returns when the batch holding them committed, and raises if
  it failed. Nothing is acknowledged before it is durable.
- One bad quote cannot fail its neighbours: a batch that fails is retried quote by quote, and only
  the quotes that fail alone report the error.
- The writes are only the quote rows and their outbox rows. Quote ids are fresh uuids, so rows of a
  batch never conflict; `quote.issued` is a quote's one event, so no aggregate lock is needed to
  keep an order (shared/outbox.py's ordering rule) and none is taken.
- On shutdown, quotes still waiting are refused (503, retryable), never left hanging.
"""

from __future__ import annotations

import asyncio
import logging

from services.logistics.quotes.service import IssuedQuote, issue_many
from shared.db import Database
from shared.errors import ServiceUnavailable

__all__ = ["QuoteWriter"]

log = logging.getLogger("ewtp.logistics.quotes")

_Pending = tuple[IssuedQuote, "asyncio.Future[None]"]


class QuoteWriter:
    def __init__(self, db: Database, max_batch: int = 200) -> None:
        self._db = db
        self._max_batch = max_batch
        self._pending: list[_Pending] = []
        self._wake = asyncio.Event()

    async def write(self, issued: IssuedQuote) -> None:
        """Return once `issued` is committed (or raise why it could not be)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((issued, done))
        self._wake.set()
        await done

    async def run(self) -> None:
        """The writer task: commit what is pending, batch after batch, until cancelled."""
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._pending:
                    batch = self._pending[: self._max_batch]
                    del self._pending[: len(batch)]
                    await self._commit(batch)
        finally:
            refused = ServiceUnavailable("The service is stopping; retry the quote.", headers={"retry-after": "1"})
            for _, done in self._pending:
                if not done.done():
                    done.set_exception(refused)
            self._pending.clear()

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            async with self._db.transaction() as session:
                await issue_many(session, [issued for issued, _ in batch])
        except asyncio.CancelledError:
            for _, done in batch:
                if not done.done():
                    done.set_exception(ServiceUnavailable("The service is stopping; retry the quote."))
            raise
        except Exception as exc:
            if len(batch) > 1:
                log.warning("a batch of %d quotes failed (%r); committing them one by one", len(batch), exc)
                for item in batch:
                    await self._commit([item])
                return
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for _, done in batch:
            if not done.done():
                done.set_result(None)
