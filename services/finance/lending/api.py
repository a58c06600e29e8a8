"""Lender routes: review, decision, disbursement, repayments, write-off."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from services.finance.deps import PREFIX, ConfigDep, lender
from services.finance.lending import service
from services.finance.schemas import ApplicationOut, ApproveIn, DisburseIn, ReasonIn, RepaymentIn, RepaymentOut
from shared.auth import IdentityDep
from shared.idempotency import CommandDep

router = APIRouter(prefix=PREFIX, tags=["finance"])


@router.post("/applications/{application_id}/review", response_model=ApplicationOut, dependencies=[lender])
async def take_for_review(
    application_id: str, identity: IdentityDep, command: CommandDep, config: ConfigDep
) -> Response:
    """The lender opens the application; eligibility is evaluated again."""
    return await command.run(lambda s: service.take_for_review(s, application_id, identity, config))


@router.post("/applications/{application_id}/approve", response_model=ApplicationOut, dependencies=[lender])
async def approve_application(
    application_id: str, body: ApproveIn, identity: IdentityDep, command: CommandDep, config: ConfigDep
) -> Response:
    return await command.run(lambda s: service.approve(s, application_id, body, identity, config))


@router.post("/applications/{application_id}/reject", response_model=ApplicationOut, dependencies=[lender])
async def reject_application(
    application_id: str, body: ReasonIn, identity: IdentityDep, command: CommandDep
) -> Response:
    return await command.run(lambda s: service.reject(s, application_id, body, identity))


@router.post("/applications/{application_id}/disburse", response_model=ApplicationOut, dependencies=[lender])
async def disburse_application(
    application_id: str, body: DisburseIn, identity: IdentityDep, command: CommandDep, config: ConfigDep
) -> Response:
    """Pay out; the repayment schedule is generated now."""
    return await command.run(lambda s: service.disburse(s, application_id, body, identity, config))


@router.post(
    "/applications/{application_id}/repayments",
    status_code=201,
    response_model=RepaymentOut,
    dependencies=[lender],
)
async def record_repayment(
    application_id: str, body: RepaymentIn, identity: IdentityDep, command: CommandDep, config: ConfigDep
) -> Response:
    return await command.run(
        lambda s: service.record_repayment(s, application_id, body, identity, config), status_code=201
    )


@router.post("/applications/{application_id}/write-off", response_model=ApplicationOut, dependencies=[lender])
async def write_off_application(
    application_id: str, body: ReasonIn, identity: IdentityDep, command: CommandDep
) -> Response:
    return await command.run(lambda s: service.write_off(s, application_id, body, identity))
