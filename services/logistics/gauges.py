"""Logistics' domain gauge: shipments by status (ix_shipments_status_created), cached 5 s."""

from __future__ import annotations

from services.logistics.models import ShipmentRow
from shared.db import Database
from shared.metrics import count_rows, register_gauge


def register_gauges(service: str, db: Database) -> None:
    by_status = count_rows(db, by=ShipmentRow.status)
    register_gauge(service, db, "shipments", "Shipments by status.", ["status"], by_status)
