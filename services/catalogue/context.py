"""What the catalogue's areas share: configuration built once per app, the event source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.catalogue.feed.render import FeedRenderer
from shared.outbox import EventSource

#: The catalogue's events (CloudEvents `source`), published through the outbox.
EVENTS = EventSource("/ewtp/catalogue")
SNAPSHOT_PATH = "/v1/feeds/listings"
#: How many stock adjustments `GET /stock` shows.
RECENT_ADJUSTMENTS = 20
#: How far in the future an FX `as_of` may lie (clock skew between ops' machine and ours).
FX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class CatalogueContext:
    """Configuration the use cases need (from `CatalogueSettings`), built once per app."""

    renderer: FeedRenderer
    display_currencies: tuple[str, ...] = ("CNY", "RWF")
    retention: timedelta = timedelta(days=30)
    chunk_size: int = 1000
