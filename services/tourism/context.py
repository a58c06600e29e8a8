"""What the tourism areas share: the figures, the clock, the event source and the 422 helper.

The clock is injectable so that tests may move "now" (refund tiers, reschedule windows, hold expiry)
without waiting; the service reads the time only through `TourismContext.now()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request

from services.tourism.config import TourismFigures
from shared.auth import Role, require_roles
from shared.db import utcnow
from shared.outbox import EventSource

#: The tourism service's events (CloudEvents `source`), published through the outbox.
EVENTS = EventSource("/ewtp/tourism")

Clock = Callable[[], datetime]

ops = require_roles(Role.OPS)
apps = require_roles(Role.TRAVELLER_APP)
readers = require_roles(Role.OPS, Role.TRAVELLER_APP)


class FakeClock:
    """A clock tests set and move; the real service uses `utcnow`."""

    def __init__(self, now: datetime | None = None) -> None:
        self.at = now or utcnow()

    def __call__(self) -> datetime:
        return self.at

    def advance(self, by: timedelta) -> None:
        self.at += by


@dataclass
class TourismContext:
    """Configuration the use cases need, built once per app from `TourismSettings`."""

    figures: TourismFigures = field(default_factory=TourismFigures)
    clock: Clock = utcnow
    sweep_batch: int = 500

    def now(self) -> datetime:
        return self.clock()


async def _context(request: Request) -> TourismContext:
    ctx = request.app.state.tourism
    assert isinstance(ctx, TourismContext)
    return ctx


ContextDep = Annotated[TourismContext, Depends(_context)]
