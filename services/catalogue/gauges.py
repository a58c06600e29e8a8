"""Catalogue's domain gauge: stock reservations open (status `reserved`, indexed), cached 5 s."""

from __future__ import annotations

from services.catalogue.domain import ReservationStatus
from services.catalogue.models import Reservation
from shared.db import Database
from shared.metrics import count_rows, register_gauge


def register_gauges(service: str, db: Database) -> None:
    open_ = count_rows(db, where=lambda: (Reservation.status == ReservationStatus.RESERVED.value,))
    register_gauge(service, db, "reservations_open", "Stock reservations held for orders not yet settled.", [], open_)
