"""Group commit for holds: the holds that arrive while a batch is being written go in the next one.

Why: a hot date's holds all update one counter row. One transaction per hold serialises them on
that row (PostgreSQL) or on the writer lock (SQLite), each for several round trips plus the event
loop's latency under load, which capped a hot date far below the rest of the path. A batch takes the
places of all its holds with a constant number of statements: per date, one locked read of the
counter and one UPDATE; then one INSERT of all bookings and one of all their events.

Guarantees, the same as `service.hold`'s:
- every hold passes the same rules (`service.prepare_hold`) before it may take places;
- per date, holds are granted in arrival order while places remain, under the counter row's lock
  (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's writer lock), and the counter moves by one
  conditional UPDATE (`taken + :n <= capacity`), so no interleaving oversells; expired holds are
  reclaimed first when places are short, as in `BookingRepository.take`;
- the batch is one transaction, owned here (as the consumer runner owns an event's): a hold's answer
  is sent only after its booking and `booking.held` event committed; if the commit fails, every
  hold of the batch gets that error and nothing of it was written.

Holds sent with an Idempotency-Key keep the CommandRunner path (their key is stored with the effect).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from services.tourism.bookings import service
from services.tourism.bookings.repository import BookingRepository
from services.tourism.context import EVENTS, TourismContext
from services.tourism.models import Booking
from services.tourism.offers.repository import CachedOffer
from services.tourism.schemas import BookingOut, HoldCreate
from shared.auth import Identity
from shared.contracts import CloudEvent
from shared.contracts.tourism import TOPIC
from shared.db import Database
from shared.errors import Problem
from shared.outbox import add_events

__all__ = ["HoldBatcher"]

log = logging.getLogger("ewtp.tourism.holds")


@dataclass
class _Pending:
    booking: Booking
    #: `booking.held`, made in the request's task so it carries that request's trace context.
    event: CloudEvent
    answer: asyncio.Future[BookingOut]


@dataclass
class HoldBatcher:
    db: Database
    ctx: TourismContext
    #: Holds written together at most; the rest wait for the next batch.
    max_batch: int = 256
    _queue: list[_Pending] = field(default_factory=list)
    _writer: asyncio.Task[None] | None = None

    async def hold(self, body: HoldCreate, identity: Identity, offers: Mapping[str, CachedOffer]) -> BookingOut:
        """Hold places for the party (the rules are checked now; the places at the batch's write)."""
        now = self.ctx.now()
        booking = service.prepare_hold(body, identity, self.ctx, offers, now)
        event = EVENTS.event(service.held_event(booking, now), subject=booking.id)
        answer: asyncio.Future[BookingOut] = asyncio.get_running_loop().create_future()
        # A caller that went away never reads its answer; reading it here keeps asyncio from logging it.
        answer.add_done_callback(lambda f: None if f.cancelled() else f.exception())
        self._queue.append(_Pending(booking, event, answer))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="tourism-hold-batches")
        return await asyncio.shield(answer)

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                await self._write(batch)
            except Exception as exc:  # the batch's transaction failed: each hold hears why
                log.warning("a batch of %d holds failed: %r", len(batch), exc)
                for pending in batch:
                    if not pending.answer.done():
                        pending.answer.set_exception(exc)

    async def _write(self, batch: list[_Pending]) -> None:
        by_date: dict[tuple[str, date], list[_Pending]] = defaultdict(list)
        for pending in batch:
            by_date[(pending.booking.offer_id, pending.booking.visit_date)].append(pending)
        granted: list[_Pending] = []
        refused: list[_Pending] = []
        now = self.ctx.now()
        async with self.db.transaction() as session:
            repo = BookingRepository(session)
            expired_events = []
            for (offer_id, day), holds in sorted(by_date.items()):  # counters locked in a stable order
                capacity, taken, closed = await repo.open_date(offer_id, day)
                free = 0 if closed else capacity - taken
                reclaimed_once = False
                places = 0
                for pending in holds:
                    if pending.booking.quantity > free and not reclaimed_once and not closed:
                        reclaimed_once = True
                        reclaimed = await repo.reclaim_expired(offer_id, day, now)
                        free += sum(r.quantity for r in reclaimed)
                        expired_events += reclaimed
                    if pending.booking.quantity <= free:
                        free -= pending.booking.quantity
                        places += pending.booking.quantity
                        granted.append(pending)
                    else:
                        refused.append(pending)
                if places and not await repo.take_exactly(offer_id, day, places):
                    raise RuntimeError(f"the counter of {offer_id} on {day} moved under its lock")
            await repo.add_many([service.booking_row(p.booking) for p in granted])
            await add_events(session, [(TOPIC, p.event) for p in granted])
            await service.publish_expired(session, expired_events, now)
        for pending in granted:
            if not pending.answer.done():
                pending.answer.set_result(service.booking_out(pending.booking, now))
        for pending in refused:
            if not pending.answer.done():
                problem: Problem = service.no_room(pending.booking)
                pending.answer.set_exception(problem)
