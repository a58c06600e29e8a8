"""Tourism's domain gauge: holds outstanding (status `held`; ix_bookings_status_expires), cached 5 s."""

from __future__ import annotations

from services.tourism.domain import BookingStatus
from services.tourism.models import Booking
from shared.db import Database
from shared.metrics import count_rows, register_gauge


def register_gauges(service: str, db: Database) -> None:
    held = count_rows(db, where=lambda: (Booking.status == BookingStatus.HELD.value,))
    register_gauge(service, db, "holds_outstanding", "Tourism holds not yet confirmed, released or expired.", [], held)
