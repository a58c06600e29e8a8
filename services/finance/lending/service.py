"""Lender commands and the money: review, decision, disbursement with its schedule, repayments
allocated fees -> interest -> principal, write-off, and the arrears check the periodic sweep runs.

Every command holds the application's row lock (see `services.finance.aggregate`), so two lenders acting at once are
serialised and the second gets a 409 when its action no longer applies.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.finance.aggregate import balance_of, event_fields, load_visible, publish, schedule_of, transition
from services.finance.applications.eligibility import evaluate
from services.finance.config import FinanceConfig, Product
from services.finance.context import SYSTEM_ACTOR, refuse_extra_places, role_of, today
from services.finance.domain import (
    Action,
    Role,
    Status,
    accrue_interest,
    apply_repayment,
    arrears,
    fee_minor,
    next_status,
    repayment_schedule,
)
from services.finance.models import Instalment, Repayment
from services.finance.render import application_out, balance_out
from services.finance.repository import ApplicationRepository
from services.finance.schemas import (
    ApplicationOut,
    ApproveIn,
    DisburseIn,
    ReasonIn,
    RepaymentIn,
    RepaymentOut,
    places_error,
)
from shared.auth import Identity
from shared.contracts import finance as events
from shared.db import utcnow
from shared.errors import Conflict, invalid_field
from shared.money import format_minor, to_minor


async def take_for_review(
    session: AsyncSession, application_id: str, identity: Identity, config: FinanceConfig
) -> ApplicationOut:
    """The lender opens the application: eligibility is evaluated again on today's projections."""
    repo = ApplicationRepository(session)
    app = await load_visible(repo, application_id, identity, lock=True)
    await transition(repo, app, Action.TAKE_FOR_REVIEW, role_of(identity), identity.actor)
    await evaluate(session, app, config)
    return application_out(app)


async def approve(
    session: AsyncSession, application_id: str, body: ApproveIn, identity: Identity, config: FinanceConfig
) -> ApplicationOut:
    repo = ApplicationRepository(session)
    app = await load_visible(repo, application_id, identity, lock=True)
    current = Status(app.status)
    next_status(current, Action.APPROVE, role_of(identity))  # a wrong state is refused before the terms
    if not app.eligible:
        raise Conflict(
            "This application is not eligible; reject it or ask the seller to change it.",
            current_status=current.value,
        )
    refuse_extra_places(
        places_error(body.amount, app.currency, "amount"),
        places_error(body.fees, app.currency, "fees"),
    )
    approved_minor = to_minor(body.amount, app.currency)
    if approved_minor > app.requested_minor:
        raise invalid_field("amount", "must not exceed the requested amount")
    limit = min(config.max_instalments, app.tenor_days)
    if body.instalments > limit:
        raise invalid_field("instalments", f"at most {limit} for this tenor")
    terms = config.products[Product(app.product)]
    rate = body.annual_rate if body.annual_rate is not None else terms.annual_rate
    fees = to_minor(body.fees, app.currency) if body.fees is not None else fee_minor(approved_minor, terms.fee_rate)
    app.approved_minor, app.fees_minor, app.instalments = approved_minor, fees, body.instalments
    app.annual_rate = f"{rate.normalize():f}"
    app.conditions = list(body.conditions)
    await transition(repo, app, Action.APPROVE, role_of(identity), identity.actor)
    await publish(
        session,
        events.ApplicationApprovedV1(
            **event_fields(app, identity.actor),
            approved_amount=format_minor(approved_minor, app.currency),
            annual_rate=app.annual_rate,
            fees=format_minor(fees, app.currency),
            tenor_days=app.tenor_days,
            conditions=list(body.conditions),
        ),
    )
    return application_out(app)


async def reject(session: AsyncSession, application_id: str, body: ReasonIn, identity: Identity) -> ApplicationOut:
    repo = ApplicationRepository(session)
    app = await load_visible(repo, application_id, identity, lock=True)
    await transition(repo, app, Action.REJECT, role_of(identity), identity.actor, body.reason)
    app.decision_reason = body.reason
    assert body.reason is not None  # next_status refuses a reject without one
    await publish(session, events.ApplicationRejectedV1(**event_fields(app, identity.actor), reason=body.reason))
    return application_out(app)


async def disburse(
    session: AsyncSession, application_id: str, body: DisburseIn, identity: Identity, config: FinanceConfig
) -> ApplicationOut:
    repo = ApplicationRepository(session)
    app = await load_visible(repo, application_id, identity, lock=True)
    next_status(Status(app.status), Action.DISBURSE, role_of(identity))
    on = body.disbursed_on or today()
    if on > today():
        raise invalid_field("disbursed_on", "must not be in the future")
    assert app.approved_minor is not None
    assert app.annual_rate is not None
    assert app.fees_minor is not None
    schedule = repayment_schedule(
        principal_minor=app.approved_minor,
        annual_rate=Decimal(app.annual_rate),
        fees_minor=app.fees_minor,
        disbursed_on=on,
        tenor_days=app.tenor_days,
        instalments=app.instalments or 1,
        config=config,
    )
    rows = [
        Instalment(
            application_id=app.id,
            number=i.number,
            due_on=i.due_on,
            principal_minor=i.principal_minor,
            interest_minor=i.interest_minor,
            fee_minor=i.fee_minor,
        )
        for i in schedule
    ]
    await repo.add_schedule(rows)
    app.disbursement_reference, app.disbursed_on = body.reference, on
    app.maturity_on = on + timedelta(days=app.tenor_days)
    app.principal_outstanding_minor = app.approved_minor
    app.interest_outstanding_minor = 0
    app.fees_outstanding_minor = app.fees_minor
    app.accrued_to = on
    await transition(repo, app, Action.DISBURSE, role_of(identity), identity.actor)
    await publish(
        session,
        events.ApplicationDisbursedV1(
            **event_fields(app, identity.actor),
            disbursed_amount=format_minor(app.approved_minor, app.currency),
            total_scheduled=format_minor(sum(i.total_minor for i in schedule), app.currency),
            disbursement_reference=body.reference,
            disbursed_on=on,
            maturity_on=app.maturity_on,
        ),
    )
    return application_out(app, rows)


async def record_repayment(
    session: AsyncSession, application_id: str, body: RepaymentIn, identity: Identity, config: FinanceConfig
) -> RepaymentOut:
    """Allocate fees -> interest -> principal; nothing outstanding afterwards makes it `repaid`."""
    repo = ApplicationRepository(session)
    app = await load_visible(repo, application_id, identity, lock=True)
    role = role_of(identity)
    next_status(Status(app.status), Action.RECORD_REPAYMENT, role)
    refuse_extra_places(places_error(body.amount, app.currency, "amount"))
    paid_on = body.paid_on or today()
    if paid_on > today():
        raise invalid_field("paid_on", "must not be in the future")
    assert app.accrued_to is not None
    assert app.annual_rate is not None
    if paid_on < app.accrued_to:
        last = app.accrued_to.isoformat()
        raise invalid_field("paid_on", f"must not be before {last}, the last repayment or disbursement")
    amount_minor = to_minor(body.amount, app.currency)
    after, allocation = apply_repayment(balance_of(app), amount_minor, paid_on, Decimal(app.annual_rate), config)
    app.principal_outstanding_minor = after.principal_minor
    app.interest_outstanding_minor = after.interest_minor
    app.fees_outstanding_minor = after.fees_minor
    app.accrued_to = after.accrued_to
    app.repaid_minor += amount_minor
    now = utcnow()
    repayment = Repayment(
        id=str(uuid.uuid4()),
        application_id=app.id,
        amount_minor=amount_minor,
        paid_on=paid_on,
        reference=body.reference,
        to_fees_minor=allocation.fees_minor,
        to_interest_minor=allocation.interest_minor,
        to_principal_minor=allocation.principal_minor,
        recorded_by=identity.actor,
        recorded_at=now,
    )
    await repo.add_repayment(repayment)
    reason = f"repayment of {format_minor(amount_minor, app.currency)} {app.currency}"
    await transition(repo, app, Action.RECORD_REPAYMENT, role, identity.actor, reason)
    if after.settled:
        await transition(repo, app, Action.SETTLE, Role.SYSTEM, SYSTEM_ACTOR, "nothing outstanding")
        await publish(
            session,
            events.ApplicationRepaidV1(
                **event_fields(app, identity.actor),
                total_repaid=format_minor(app.repaid_minor, app.currency),
                repaid_on=paid_on,
            ),
        )
    elif Status(app.status) is Status.IN_ARREARS:
        behind = arrears(schedule_of(await repo.schedule(app.id)), app.repaid_minor, today(), config)
        if not behind.in_arrears:
            await transition(repo, app, Action.CURE, Role.SYSTEM, SYSTEM_ACTOR, "overdue instalments paid")
    c = app.currency
    balance = balance_out(app)
    assert balance is not None
    return RepaymentOut(
        id=repayment.id,
        amount=format_minor(amount_minor, c),
        paid_on=paid_on,
        reference=body.reference,
        to_fees=format_minor(allocation.fees_minor, c),
        to_interest=format_minor(allocation.interest_minor, c),
        to_principal=format_minor(allocation.principal_minor, c),
        recorded_by=identity.actor,
        recorded_at=now,
        status=Status(app.status),
        balance=balance,
    )


async def write_off(session: AsyncSession, application_id: str, body: ReasonIn, identity: Identity) -> ApplicationOut:
    repo = ApplicationRepository(session)
    app = await load_visible(repo, application_id, identity, lock=True)
    await transition(repo, app, Action.WRITE_OFF, role_of(identity), identity.actor, body.reason)
    assert body.reason is not None  # next_status refuses a write-off without one
    outstanding = app.principal_outstanding_minor + app.interest_outstanding_minor + app.fees_outstanding_minor
    await publish(
        session,
        events.ApplicationWrittenOffV1(
            **event_fields(app, identity.actor),
            reason=body.reason,
            outstanding_amount=format_minor(outstanding, app.currency),
            total_repaid=format_minor(app.repaid_minor, app.currency),
        ),
    )
    return application_out(app)


async def mark_arrears_if_due(session: AsyncSession, application_id: str, as_of: date, config: FinanceConfig) -> bool:
    """Put one disbursed application in arrears if an instalment is past due beyond the grace days."""
    repo = ApplicationRepository(session)
    app = await repo.get(application_id, lock=True)
    if app is None or Status(app.status) is not Status.DISBURSED:
        return False
    schedule = schedule_of(await repo.schedule(app.id))
    behind = arrears(schedule, app.repaid_minor, as_of, config)
    if not behind.in_arrears:
        return False
    reason = f"{behind.days_past_due} days past due"
    await transition(repo, app, Action.MARK_ARREARS, Role.SYSTEM, SYSTEM_ACTOR, reason)
    assert app.annual_rate is not None
    due = accrue_interest(balance_of(app), max(as_of, balance_of(app).accrued_to), Decimal(app.annual_rate), config)
    await publish(
        session,
        events.ApplicationInArrearsV1(
            **event_fields(app, SYSTEM_ACTOR),
            overdue_amount=format_minor(behind.overdue_minor, app.currency),
            outstanding_amount=format_minor(due.outstanding_minor, app.currency),
            days_past_due=behind.days_past_due,
        ),
    )
    return True
