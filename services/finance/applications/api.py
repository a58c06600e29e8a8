"""Application routes: the seller's commands, and one application, its history and the list or queue
for every reader."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from starlette.responses import Response

from services.finance.applications import service
from services.finance.config import Product
from services.finance.context import REEVALUATED
from services.finance.deps import PREFIX, ConfigDep, location, readers, seller
from services.finance.domain import Status
from services.finance.schemas import (
    ApplicationCreate,
    ApplicationOut,
    ApplicationSummary,
    ApplicationUpdate,
    HistoryOut,
    ReasonIn,
)
from shared.auth import IdentityDep, Role
from shared.idempotency import CommandDep
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.read import DatabaseDep, ReadSessionDep
from shared.types import Amount, Currency, IntRange

router = APIRouter(prefix=PREFIX, tags=["finance"])

AgeDays = Annotated[int, IntRange(0, 36_500)]


@router.post("/applications", status_code=201, response_model=ApplicationOut, dependencies=[seller])
async def create_application(body: ApplicationCreate, identity: IdentityDep, command: CommandDep) -> Response:
    """A seller starts an application (`draft`); it is evaluated when submitted."""
    return await command.run(lambda s: service.create(s, body, identity), status_code=201, location=location)


@router.get("/applications", response_model=Page[ApplicationSummary], dependencies=[readers])
async def list_applications(
    identity: IdentityDep,
    session: ReadSessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    status: Status | None = None,
    product: Product | None = None,
    currency: Annotated[Currency | None, Query()] = None,
    min_amount: Annotated[Amount | None, Query()] = None,
    max_amount: Annotated[Amount | None, Query()] = None,
    min_age_days: Annotated[AgeDays | None, Query(description="Submitted at least this many days ago.")] = None,
    max_age_days: Annotated[AgeDays | None, Query(description="Submitted at most this many days ago.")] = None,
) -> Page[ApplicationSummary]:
    """A seller's own applications; a lender's review queue (never drafts); everything for ops."""
    return await service.search(
        session,
        identity,
        limit=limit,
        cursor=cursor,
        status=status,
        product=product,
        currency=currency,
        min_amount=min_amount,
        max_amount=max_amount,
        min_age_days=min_age_days,
        max_age_days=max_age_days,
    )


@router.get("/applications/{application_id}", response_model=ApplicationOut, dependencies=[readers])
async def get_application(
    application_id: str, identity: IdentityDep, db: DatabaseDep, config: ConfigDep
) -> ApplicationOut:
    """One application. A lender opening one that awaits its decision has its eligibility evaluated
    again and stored (`service.open_for_lender`); every other read takes no writer's lock."""
    async with db.read() as session:
        found = await service.get(session, application_id, identity)
    if identity.role is not Role.LENDER or found.status not in REEVALUATED:
        return found
    async with db.transaction() as session:
        return await service.open_for_lender(session, application_id, identity, config)


@router.patch("/applications/{application_id}", response_model=ApplicationOut, dependencies=[seller])
async def update_application(
    application_id: str, body: ApplicationUpdate, identity: IdentityDep, command: CommandDep, config: ConfigDep
) -> Response:
    """Edit the terms while the application is `draft` or `submitted` (409 afterwards)."""
    return await command.run(lambda s: service.update(s, application_id, body, identity, config))


@router.get("/applications/{application_id}/history", response_model=HistoryOut, dependencies=[readers])
async def application_history(application_id: str, identity: IdentityDep, session: ReadSessionDep) -> HistoryOut:
    return await service.history(session, application_id, identity)


@router.post("/applications/{application_id}/submit", response_model=ApplicationOut, dependencies=[seller])
async def submit_application(
    application_id: str, identity: IdentityDep, command: CommandDep, config: ConfigDep
) -> Response:
    return await command.run(lambda s: service.submit(s, application_id, identity, config))


@router.post("/applications/{application_id}/withdraw", response_model=ApplicationOut, dependencies=[seller])
async def withdraw_application(
    application_id: str, identity: IdentityDep, command: CommandDep, body: Annotated[ReasonIn | None, Body()] = None
) -> Response:
    given = body or ReasonIn()
    return await command.run(lambda s: service.withdraw(s, application_id, given, identity))
