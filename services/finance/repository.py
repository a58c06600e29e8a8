"""The application aggregate's SQL (rows, history, order claims, schedule, repayments), which every
area uses; each area's own queries are in its `repository`. Repositories flush; they never commit."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.finance.models import (
    Application,
    Instalment,
    OrderClaim,
    Repayment,
    StatusChange,
)
from shared.db import insert_ignore, utcnow


class ApplicationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------------ applications

    async def get(self, application_id: str, *, lock: bool = False) -> Application | None:
        """The application; `lock` holds its row until commit (PostgreSQL; SQLite writers are serial)."""
        return await self.session.get(Application, application_id, with_for_update=lock, populate_existing=lock)

    async def add(self, application: Application) -> None:
        self.session.add(application)
        await self.session.flush()

    async def flush(self) -> None:
        await self.session.flush()

    async def open_of_seller(self, seller_id: str, statuses: Sequence[str]) -> list[Application]:
        """The seller's applications in `statuses`, locked, in id order (a stable lock order)."""
        stmt = (
            select(Application)
            .where(Application.seller_id == seller_id, Application.status.in_(list(statuses)))
            .order_by(Application.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list((await self.session.scalars(stmt)).all())

    async def ids_in_status(self, status: str) -> list[str]:
        stmt = select(Application.id).where(Application.status == status).order_by(Application.id)
        return list((await self.session.scalars(stmt)).all())

    # ------------------------------------------------------------------ history

    async def add_history(self, change: StatusChange) -> None:
        self.session.add(change)
        await self.session.flush()

    async def history(self, application_id: str) -> list[StatusChange]:
        stmt = select(StatusChange).where(StatusChange.application_id == application_id).order_by(StatusChange.id)
        return list((await self.session.scalars(stmt)).all())

    # ------------------------------------------------------------------ order claims

    async def claim(self, order_id: str, seller_id: str, application_id: str) -> None:
        """Claim the seller's part of an order for this application unless another holds it."""
        await insert_ignore(
            self.session,
            OrderClaim.__table__,  # type: ignore[arg-type]
            {"order_id": order_id, "seller_id": seller_id, "application_id": application_id, "claimed_at": utcnow()},
        )

    async def claim_holders(self, seller_id: str, order_ids: Sequence[str]) -> dict[str, str]:
        """order id -> the application financing the seller's part of it."""
        if not order_ids:
            return {}
        stmt = select(OrderClaim.order_id, OrderClaim.application_id).where(
            OrderClaim.seller_id == seller_id, OrderClaim.order_id.in_(list(order_ids))
        )
        return {r.order_id: r.application_id for r in (await self.session.execute(stmt)).all()}

    async def claimants(self, order_id: str) -> list[Application]:
        """The applications holding a claim on a part of the order, locked, in id order."""
        stmt = (
            select(Application)
            .join(OrderClaim, OrderClaim.application_id == Application.id)
            .where(OrderClaim.order_id == order_id)
            .order_by(Application.id)
            .with_for_update(of=Application)
            .execution_options(populate_existing=True)
        )
        return list((await self.session.scalars(stmt)).all())

    async def release_claims(self, application_id: str) -> None:
        await self.session.execute(delete(OrderClaim).where(OrderClaim.application_id == application_id))

    # ------------------------------------------------------------------ schedule and repayments

    async def add_schedule(self, rows: Sequence[Instalment]) -> None:
        self.session.add_all(rows)
        await self.session.flush()

    async def schedule(self, application_id: str) -> list[Instalment]:
        stmt = select(Instalment).where(Instalment.application_id == application_id).order_by(Instalment.number)
        return list((await self.session.scalars(stmt)).all())

    async def add_repayment(self, repayment: Repayment) -> None:
        self.session.add(repayment)
        await self.session.flush()

    async def repayments(self, application_id: str) -> list[Repayment]:
        stmt = (
            select(Repayment)
            .where(Repayment.application_id == application_id)
            .order_by(Repayment.recorded_at, Repayment.id)
        )
        return list((await self.session.scalars(stmt)).all())
