"""Thin routes: parse, authorise by role, hand over to `service`, render.

Roles: a seller creates, edits, submits and withdraws its own applications and reads only those (any
other is 404); a lender works the review queue and acts; ops reads everything and acts on nothing.
Every other role (marketplace, RDB officer, traveller app) is refused with 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request
from starlette.responses import Response

from services.finance import insights, lending, service
from services.finance.config import FinanceConfig, Product
from services.finance.domain import Status
from services.finance.schemas import (
    ApplicationCreate,
    ApplicationOut,
    ApplicationSummary,
    ApplicationUpdate,
    ApproveIn,
    DisburseIn,
    HistoryOut,
    PortfolioOut,
    ReasonIn,
    RepaymentIn,
    RepaymentOut,
    TradeProfileOut,
)
from shared.auth import IdentityDep, Role, require_roles
from shared.idempotency import CommandDep
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.read import ReadSessionDep
from shared.types import Amount, Currency, IntRange

router = APIRouter(prefix="/v1/finance", tags=["finance"])

_seller = require_roles(Role.SELLER)
_lender = require_roles(Role.LENDER)
_readers = require_roles(Role.SELLER, Role.LENDER, Role.OPS)
_staff = require_roles(Role.LENDER, Role.OPS)

AgeDays = Annotated[int, IntRange(0, 36_500)]


def _config(request: Request) -> FinanceConfig:
    config = request.app.state.finance_config
    assert isinstance(config, FinanceConfig)
    return config


ConfigDep = Annotated[FinanceConfig, Depends(_config)]


def _location(model: object) -> str:
    assert isinstance(model, ApplicationOut)
    return f"/v1/finance/applications/{model.id}"


@router.post("/applications", status_code=201, response_model=ApplicationOut, dependencies=[_seller])
async def create_application(body: ApplicationCreate, identity: IdentityDep, command: CommandDep) -> Response:
    """A seller starts an application (`draft`); it is evaluated when submitted."""
    return await command.run(lambda s: service.create(s, body, identity), status_code=201, location=_location)


@router.get("/applications", response_model=Page[ApplicationSummary], dependencies=[_readers])
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


@router.get("/applications/{application_id}", response_model=ApplicationOut, dependencies=[_readers])
async def get_application(application_id: str, identity: IdentityDep, session: ReadSessionDep) -> ApplicationOut:
    return await service.get(session, application_id, identity)


@router.patch("/applications/{application_id}", response_model=ApplicationOut, dependencies=[_seller])
async def update_application(
    application_id: str, body: ApplicationUpdate, identity: IdentityDep, command: CommandDep, config: ConfigDep
) -> Response:
    """Edit the terms while the application is `draft` or `submitted` (409 afterwards)."""
    return await command.run(lambda s: service.update(s, application_id, body, identity, config))


@router.get("/applications/{application_id}/history", response_model=HistoryOut, dependencies=[_readers])
async def application_history(application_id: str, identity: IdentityDep, session: ReadSessionDep) -> HistoryOut:
    return await service.history(session, application_id, identity)


@router.get("/applications/{application_id}/trade-profile", response_model=TradeProfileOut, dependencies=[_readers])
async def trade_profile(application_id: str, identity: IdentityDep, session: ReadSessionDep) -> TradeProfileOut:
    """The seller's trade record from finance's own projection of order events, as of the last one consumed."""
    return await insights.trade_profile(session, application_id, identity)


@router.get("/portfolio", response_model=PortfolioOut, dependencies=[_staff])
async def portfolio(session: ReadSessionDep) -> PortfolioOut:
    """Totals approved, disbursed, outstanding and in arrears, by product and by sector, per currency."""
    return await insights.portfolio(session)


@router.post("/applications/{application_id}/submit", response_model=ApplicationOut, dependencies=[_seller])
async def submit_application(
    application_id: str, identity: IdentityDep, command: CommandDep, config: ConfigDep
) -> Response:
    return await command.run(lambda s: service.submit(s, application_id, identity, config))


@router.post("/applications/{application_id}/withdraw", response_model=ApplicationOut, dependencies=[_seller])
async def withdraw_application(
    application_id: str, identity: IdentityDep, command: CommandDep, body: Annotated[ReasonIn | None, Body()] = None
) -> Response:
    given = body or ReasonIn()
    return await command.run(lambda s: service.withdraw(s, application_id, given, identity))


@router.post("/applications/{application_id}/review", response_model=ApplicationOut, dependencies=[_lender])
async def take_for_review(
    application_id: str, identity: IdentityDep, command: CommandDep, config: ConfigDep
) -> Response:
    """The lender opens the application; eligibility is evaluated again."""
    return await command.run(lambda s: lending.take_for_review(s, application_id, identity, config))


@router.post("/applications/{application_id}/approve", response_model=ApplicationOut, dependencies=[_lender])
async def approve_application(
    application_id: str, body: ApproveIn, identity: IdentityDep, command: CommandDep, config: ConfigDep
) -> Response:
    return await command.run(lambda s: lending.approve(s, application_id, body, identity, config))


@router.post("/applications/{application_id}/reject", response_model=ApplicationOut, dependencies=[_lender])
async def reject_application(
    application_id: str, body: ReasonIn, identity: IdentityDep, command: CommandDep
) -> Response:
    return await command.run(lambda s: lending.reject(s, application_id, body, identity))


@router.post("/applications/{application_id}/disburse", response_model=ApplicationOut, dependencies=[_lender])
async def disburse_application(
    application_id: str, body: DisburseIn, identity: IdentityDep, command: CommandDep, config: ConfigDep
) -> Response:
    """Pay out; the repayment schedule is generated now."""
    return await command.run(lambda s: lending.disburse(s, application_id, body, identity, config))


@router.post(
    "/applications/{application_id}/repayments",
    status_code=201,
    response_model=RepaymentOut,
    dependencies=[_lender],
)
async def record_repayment(
    application_id: str, body: RepaymentIn, identity: IdentityDep, command: CommandDep, config: ConfigDep
) -> Response:
    return await command.run(
        lambda s: lending.record_repayment(s, application_id, body, identity, config), status_code=201
    )


@router.post("/applications/{application_id}/write-off", response_model=ApplicationOut, dependencies=[_lender])
async def write_off_application(
    application_id: str, body: ReasonIn, identity: IdentityDep, command: CommandDep
) -> Response:
    return await command.run(lambda s: lending.write_off(s, application_id, body, identity))
