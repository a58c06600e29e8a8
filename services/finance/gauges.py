"""Finance's domain gauge: applications by state (indexed `status`), cached 5 s."""

from __future__ import annotations

from services.finance.models import Application
from shared.db import Database
from shared.metrics import count_rows, register_gauge


def register_gauges(service: str, db: Database) -> None:
    by_state = count_rows(db, by=Application.status)
    register_gauge(service, db, "finance_applications", "Financing applications by state.", ["state"], by_state)
