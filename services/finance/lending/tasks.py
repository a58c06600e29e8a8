"""The periodic arrears sweep: a disbursed application with an instalment past due beyond the grace days
goes `in_arrears`. Each application is checked in its own transaction, so one failure never holds
back the others and a lender's concurrent repayment is serialised by the row lock."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.finance.config import FinanceConfig
from services.finance.domain import Status
from services.finance.lending import service
from services.finance.repository import ApplicationRepository
from shared.db import Database


async def sweep_arrears(db: Database, config: FinanceConfig, as_of: date | None = None) -> int:
    """Mark every disbursed application now in arrears; how many were marked."""
    day = as_of or datetime.now(UTC).date()
    async with db.read() as session:
        ids = await ApplicationRepository(session).ids_in_status(Status.DISBURSED.value)
    marked = 0
    for application_id in ids:
        async with db.transaction() as session:
            marked += await service.mark_arrears_if_due(session, application_id, day, config)
    return marked
