"""Finance use cases. Each command runs inside the one transaction its caller owns and only flushes.

Concurrency: every command loads its application with a row lock (`FOR UPDATE` on PostgreSQL;
SQLite's writers are serial under `BEGIN IMMEDIATE`), so two lenders acting at once are serialised and
the second sees the state the first left (a 409 when its action no longer applies). A seller's part
of an order is financed by at most one open application: the `order_claims` primary key decides.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.finance.config import FinanceConfig, GuaranteeScheme, Product
from services.finance.domain import (
    ORDER_BACKED,
    Action,
    Balance,
    Eligibility,
    LinkedOrder,
    Role,
    Status,
    accrue_interest,
    apply_repayment,
    arrears,
    ensure_editable,
    evaluate_eligibility,
    fee_minor,
    foreign_orders,
    next_status,
    repayment_schedule,
)
from services.finance.domain import Instalment as ScheduledInstalment
from services.finance.models import Application, Instalment, OrderProjection, Repayment, StatusChange
from services.finance.repository import ApplicationRepository, ProjectionRepository, QueueFilter
from services.finance.schemas import (
    ApplicationCreate,
    ApplicationOut,
    ApplicationSummary,
    ApplicationUpdate,
    ApproveIn,
    BalanceOut,
    DisburseIn,
    EligibilityOut,
    HistoryOut,
    InstalmentOut,
    ReasonIn,
    RepaymentIn,
    RepaymentOut,
    RuleOut,
    StatusChangeOut,
    as_money,
    places_error,
)
from shared.auth import Identity
from shared.auth import Role as KeyRole
from shared.contracts import finance as events
from shared.db import utcnow
from shared.errors import Conflict, NotFound, UnprocessableContent
from shared.money import format_minor, minor_units, to_minor
from shared.outbox import EventSource
from shared.pagination import Page, cursor_datetime, cursor_id, decode_cursor, encode_cursor

EVENTS = EventSource("/ewtp/finance")
SYSTEM_ACTOR = "system"

#: Once an application reaches one of these, the orders it claimed are free for another application.
CLOSED = frozenset({Status.REJECTED, Status.WITHDRAWN, Status.REPAID, Status.WRITTEN_OFF})
#: What a lender sees when it does not filter by status: everything a seller has submitted.
LENDER_VISIBLE = tuple(s.value for s in Status if s is not Status.DRAFT)

_ROLES = {KeyRole.SELLER: Role.SELLER, KeyRole.LENDER: Role.LENDER, KeyRole.OPS: Role.OPS}


def _role(identity: Identity) -> Role:
    role = _ROLES.get(identity.role)
    if role is None:  # the routes' require_roles refuses these first
        raise NotFound("No such application.")
    return role


def _today() -> date:
    return datetime.now(UTC).date()


def _invalid(field: str, reason: str) -> UnprocessableContent:
    return UnprocessableContent(f"Invalid fields: {field}.", errors=[{"field": field, "reason": reason}])


def _places_checked(*checks: dict[str, str] | None) -> None:
    errors = [e for e in checks if e is not None]
    if errors:
        raise UnprocessableContent(f"Invalid fields: {', '.join(e['field'] for e in errors)}.", errors=errors)


def _currency_places(currency: str) -> int:
    try:
        return minor_units(currency)
    except ValueError:
        raise _invalid("currency", "a currency with no minor units cannot be lent in") from None


def _major(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-minor_units(currency))


# --------------------------------------------------------------------------------------------------
# rendering


def _balance(app: Application) -> BalanceOut | None:
    if app.disbursed_on is None or app.accrued_to is None:
        return None
    c = app.currency
    outstanding = app.principal_outstanding_minor + app.interest_outstanding_minor + app.fees_outstanding_minor
    return BalanceOut(
        principal=as_money(app.principal_outstanding_minor, c),
        interest=as_money(app.interest_outstanding_minor, c),
        fees=as_money(app.fees_outstanding_minor, c),
        outstanding=as_money(outstanding, c),
        repaid=as_money(app.repaid_minor, c),
        accrued_to=app.accrued_to,
    )


def application_out(app: Application, schedule: Sequence[Instalment] | None = None) -> ApplicationOut:
    c = app.currency
    eligibility = None
    if app.eligibility is not None and app.eligibility_at is not None and app.eligible is not None:
        eligibility = EligibilityOut(
            eligible=app.eligible,
            evaluated_at=app.eligibility_at,
            rules=[RuleOut.model_validate(r) for r in app.eligibility],
        )
    return ApplicationOut(
        id=app.id,
        seller_id=app.seller_id,
        product=Product(app.product),
        status=Status(app.status),
        held_from=Status(app.held_from) if app.held_from else None,
        hold_reason=app.hold_reason,
        amount=as_money(app.requested_minor, c),
        currency=c,
        tenor_days=app.tenor_days,
        purpose=app.purpose,
        linked_order_ids=list(app.linked_order_ids or []),
        trade=app.trade,
        guarantee_scheme=GuaranteeScheme(app.guarantee_scheme) if app.guarantee_scheme else None,
        guarantee_enhanced=app.guarantee_enhanced,
        documents=list(app.documents or []),
        eligibility=eligibility,
        approved_amount=as_money(app.approved_minor, c) if app.approved_minor is not None else None,
        annual_rate=app.annual_rate,
        fees=as_money(app.fees_minor, c) if app.fees_minor is not None else None,
        instalments=app.instalments,
        conditions=app.conditions,
        decision_reason=app.decision_reason,
        disbursement_reference=app.disbursement_reference,
        disbursed_on=app.disbursed_on,
        maturity_on=app.maturity_on,
        balance=_balance(app),
        schedule=None
        if schedule is None
        else [
            InstalmentOut(
                number=i.number,
                due_on=i.due_on,
                principal=as_money(i.principal_minor, c),
                interest=as_money(i.interest_minor, c),
                fees=as_money(i.fee_minor, c),
                total=as_money(i.principal_minor + i.interest_minor + i.fee_minor, c),
            )
            for i in schedule
        ],
        version=app.version,
        created_at=app.created_at,
        submitted_at=app.submitted_at,
        updated_at=app.updated_at,
    )


# --------------------------------------------------------------------------------------------------
# loading, transitions, events


async def load_visible(
    repo: ApplicationRepository, application_id: str, identity: Identity, *, lock: bool
) -> Application:
    """The application if the caller may see it; another seller's is "not found", never "forbidden"."""
    app = await repo.get(application_id, lock=lock)
    if app is None or (identity.role is KeyRole.SELLER and app.seller_id != identity.subject):
        raise NotFound(f"Application {application_id} does not exist.")
    return app


async def _transition(
    repo: ApplicationRepository,
    app: Application,
    action: Action,
    role: Role,
    actor: str,
    reason: str | None = None,
) -> Status:
    current = Status(app.status)
    held_from = Status(app.held_from) if app.held_from else None
    target = next_status(current, action, role, reason=reason, held_from=held_from)
    now = utcnow()
    if action is Action.HOLD:
        app.held_from, app.hold_reason = current.value, reason
    elif current is Status.ON_HOLD:
        app.held_from, app.hold_reason = None, None
    app.status = target.value
    app.version += 1
    app.updated_at = now
    if target in CLOSED:
        await repo.release_claims(app.id)
    await repo.add_history(
        StatusChange(
            application_id=app.id,
            action=action.value,
            from_status=current.value,
            to_status=target.value,
            actor=actor,
            reason=reason,
            at=now,
        )
    )
    return target


def _base(app: Application, actor: str) -> dict[str, Any]:
    return {
        "application_id": app.id,
        "seller_id": app.seller_id,
        "product": app.product,
        "currency": app.currency,
        "actor": actor[:64],
        "occurred_at": utcnow(),
    }


async def _publish(session: AsyncSession, data: events._ApplicationEvent) -> None:
    await EVENTS.publish(session, data, subject=data.application_id)


# --------------------------------------------------------------------------------------------------
# eligibility


async def _linked_orders(session: AsyncSession, app: Application) -> list[LinkedOrder]:
    """The linked orders as finance's projection knows them, with the application financing each, if another."""
    ids = list(app.linked_order_ids or [])
    parts = await ProjectionRepository(session).orders_by_id(ids)
    by_order: dict[str, list[OrderProjection]] = {}
    for part in parts:
        by_order.setdefault(part.order_id, []).append(part)
    holders = await ApplicationRepository(session).claim_holders(app.seller_id, ids)
    linked: list[LinkedOrder] = []
    for order_id in ids:
        seller_parts = by_order.get(order_id, [])
        own = next((p for p in seller_parts if p.seller_id == app.seller_id), None)
        if own is None:
            other = seller_parts[0].seller_id if seller_parts else None
            linked.append(LinkedOrder(order_id, other, False, 0, app.currency))
            continue
        holder = holders.get(order_id)
        confirmed = own.confirmed_at is not None and own.cancelled_at is None and own.rejected_at is None
        linked.append(
            LinkedOrder(
                order_id=order_id,
                seller_id=own.seller_id,
                confirmed=confirmed,
                value_minor=own.value_minor,
                currency=own.currency or "",
                financed_by=holder if holder is not None and holder != app.id else None,
            )
        )
    return linked


async def _evaluate_once(session: AsyncSession, app: Application, config: FinanceConfig) -> Eligibility:
    seller = await ProjectionRepository(session).seller(app.seller_id)
    return evaluate_eligibility(
        seller_id=app.seller_id,
        seller_status=seller.status if seller else None,
        product=Product(app.product),
        amount=_major(app.requested_minor, app.currency),
        currency=app.currency,
        tenor_days=app.tenor_days,
        orders=await _linked_orders(session, app),
        config=config,
    )


async def evaluate(session: AsyncSession, app: Application, config: FinanceConfig) -> Eligibility:
    """Evaluate every rule, claim the linked orders of an eligible order-backed application, store the outcome.

    Claims are taken only when every rule passes, so an ineligible application never blocks an order.
    Two applications claiming one order at once: one insert wins; the other sees the winner on its
    second evaluation and is ineligible ("already financed by application ...").
    """
    repo = ApplicationRepository(session)
    result = await _evaluate_once(session, app, config)
    if result.eligible and Product(app.product) in ORDER_BACKED:
        for order_id in sorted(app.linked_order_ids or []):
            await repo.claim(order_id, app.seller_id, app.id)
        holders = await repo.claim_holders(app.seller_id, list(app.linked_order_ids or []))
        if any(holder != app.id for holder in holders.values()):
            result = await _evaluate_once(session, app, config)
    if not result.eligible:
        await repo.release_claims(app.id)
    app.eligible = result.eligible
    app.eligibility = [{"rule": o.rule.value, "passed": o.passed, "detail": o.detail} for o in result.outcomes]
    app.eligibility_at = utcnow()
    await repo.flush()
    return result


async def _refuse_foreign_orders(session: AsyncSession, seller_id: str, order_ids: Sequence[str]) -> None:
    """Linking an order finance knows to be another seller's is bad input (422), not an eligibility outcome."""
    parts = await ProjectionRepository(session).orders_by_id(order_ids)
    owners: dict[str, set[str]] = {}
    for part in parts:
        owners.setdefault(part.order_id, set()).add(part.seller_id)
    linked = [
        LinkedOrder(order_id, seller_id if seller_id in sellers else next(iter(sellers)), False, 0, "")
        for order_id, sellers in owners.items()
    ]
    foreign = foreign_orders(seller_id, linked)
    if foreign:
        raise _invalid("linked_order_ids", f"orders of another seller: {', '.join(sorted(foreign))}")


# --------------------------------------------------------------------------------------------------
# seller commands


async def create(session: AsyncSession, body: ApplicationCreate, identity: Identity) -> ApplicationOut:
    seller_id = identity.subject
    if seller_id is None:
        raise NotFound("This key is not bound to a seller.")
    _currency_places(body.currency)
    _places_checked(
        places_error(body.amount, body.currency, "amount"),
        places_error(body.trade.amount if body.trade else None, body.currency, "trade.amount"),
    )
    await _refuse_foreign_orders(session, seller_id, body.linked_order_ids)
    now = utcnow()
    app = Application(
        id=str(uuid.uuid4()),
        seller_id=seller_id,
        product=body.product.value,
        status=Status.DRAFT.value,
        currency=body.currency,
        requested_minor=to_minor(body.amount, body.currency),
        tenor_days=body.tenor_days,
        purpose=body.purpose,
        trade=body.trade.model_dump(mode="json", exclude_none=True) if body.trade else None,
        guarantee_scheme=body.guarantee_scheme.value if body.guarantee_scheme else None,
        guarantee_enhanced=body.guarantee_enhanced,
        documents=[d.model_dump(mode="json") for d in body.documents],
        linked_order_ids=list(body.linked_order_ids),
        principal_outstanding_minor=0,
        interest_outstanding_minor=0,
        fees_outstanding_minor=0,
        repaid_minor=0,
        version=1,
        created_at=now,
        updated_at=now,
    )
    repo = ApplicationRepository(session)
    await repo.add(app)
    await repo.add_history(
        StatusChange(
            application_id=app.id,
            action="create",
            from_status=None,
            to_status=app.status,
            actor=identity.actor,
            reason=None,
            at=now,
        )
    )
    return application_out(app)


async def update(
    session: AsyncSession, application_id: str, body: ApplicationUpdate, identity: Identity, config: FinanceConfig
) -> ApplicationOut:
    repo = ApplicationRepository(session)
    app = await load_visible(repo, application_id, identity, lock=True)
    ensure_editable(Status(app.status))
    changes = body.changes()
    _places_checked(
        places_error(body.amount, app.currency, "amount"),
        places_error(body.trade.amount if body.trade else None, app.currency, "trade.amount"),
    )
    if body.linked_order_ids is not None:
        await _refuse_foreign_orders(session, app.seller_id, body.linked_order_ids)
    for field, value in changes.items():
        if field == "amount":
            app.requested_minor = to_minor(value, app.currency)
        elif field == "trade":
            app.trade = body.trade.model_dump(mode="json", exclude_none=True) if body.trade else None
        elif field == "documents":
            app.documents = [d.model_dump(mode="json") for d in body.documents or []]
        elif field in {"product", "guarantee_scheme"}:
            setattr(app, field, value.value if value is not None else None)
        elif field == "linked_order_ids":
            app.linked_order_ids = list(value)
        else:
            setattr(app, field, value)
    await _transition(repo, app, Action.EDIT, _role(identity), identity.actor)
    if Status(app.status) is Status.SUBMITTED:
        await repo.release_claims(app.id)  # the terms changed: claims follow the new evaluation
        await evaluate(session, app, config)
    return application_out(app)


async def submit(
    session: AsyncSession, application_id: str, identity: Identity, config: FinanceConfig
) -> ApplicationOut:
    repo = ApplicationRepository(session)
    app = await load_visible(repo, application_id, identity, lock=True)
    await _transition(repo, app, Action.SUBMIT, _role(identity), identity.actor)
    app.submitted_at = app.updated_at
    result = await evaluate(session, app, config)
    await _publish(
        session,
        events.ApplicationSubmittedV1(
            **_base(app, identity.actor),
            requested_amount=format_minor(app.requested_minor, app.currency),
            tenor_days=app.tenor_days,
            linked_order_ids=list(app.linked_order_ids or []),
            eligible=result.eligible,
        ),
    )
    return application_out(app)


async def withdraw(session: AsyncSession, application_id: str, body: ReasonIn, identity: Identity) -> ApplicationOut:
    repo = ApplicationRepository(session)
    app = await load_visible(repo, application_id, identity, lock=True)
    await _transition(repo, app, Action.WITHDRAW, _role(identity), identity.actor, body.reason)
    await _publish(session, events.ApplicationWithdrawnV1(**_base(app, identity.actor), reason=body.reason))
    return application_out(app)


# --------------------------------------------------------------------------------------------------
# lender commands


async def take_for_review(
    session: AsyncSession, application_id: str, identity: Identity, config: FinanceConfig
) -> ApplicationOut:
    """The lender opens the application: eligibility is evaluated again on today's projections."""
    repo = ApplicationRepository(session)
    app = await load_visible(repo, application_id, identity, lock=True)
    await _transition(repo, app, Action.TAKE_FOR_REVIEW, _role(identity), identity.actor)
    await evaluate(session, app, config)
    return application_out(app)


async def approve(
    session: AsyncSession, application_id: str, body: ApproveIn, identity: Identity, config: FinanceConfig
) -> ApplicationOut:
    repo = ApplicationRepository(session)
    app = await load_visible(repo, application_id, identity, lock=True)
    current = Status(app.status)
    target = next_status(current, Action.APPROVE, _role(identity))  # refuse a wrong state before the terms
    del target
    if not app.eligible:
        raise Conflict(
            "This application is not eligible; reject it or ask the seller to change it.",
            current_status=current.value,
        )
    _places_checked(
        places_error(body.amount, app.currency, "amount"),
        places_error(body.fees, app.currency, "fees"),
    )
    approved_minor = to_minor(body.amount, app.currency)
    if approved_minor > app.requested_minor:
        raise _invalid("amount", "must not exceed the requested amount")
    limit = min(config.max_instalments, app.tenor_days)
    if body.instalments > limit:
        raise _invalid("instalments", f"at most {limit} for this tenor")
    terms = config.products[Product(app.product)]
    rate = body.annual_rate if body.annual_rate is not None else terms.annual_rate
    fees = to_minor(body.fees, app.currency) if body.fees is not None else fee_minor(approved_minor, terms.fee_rate)
    app.approved_minor, app.fees_minor, app.instalments = approved_minor, fees, body.instalments
    app.annual_rate = f"{rate.normalize():f}"
    app.conditions = list(body.conditions)
    await _transition(repo, app, Action.APPROVE, _role(identity), identity.actor)
    await _publish(
        session,
        events.ApplicationApprovedV1(
            **_base(app, identity.actor),
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
    await _transition(repo, app, Action.REJECT, _role(identity), identity.actor, body.reason)
    app.decision_reason = body.reason
    assert body.reason is not None  # next_status refuses a reject without one
    await _publish(session, events.ApplicationRejectedV1(**_base(app, identity.actor), reason=body.reason))
    return application_out(app)


async def disburse(
    session: AsyncSession, application_id: str, body: DisburseIn, identity: Identity, config: FinanceConfig
) -> ApplicationOut:
    repo = ApplicationRepository(session)
    app = await load_visible(repo, application_id, identity, lock=True)
    next_status(Status(app.status), Action.DISBURSE, _role(identity))
    on = body.disbursed_on or _today()
    if on > _today():
        raise _invalid("disbursed_on", "must not be in the future")
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
    await _transition(repo, app, Action.DISBURSE, _role(identity), identity.actor)
    await _publish(
        session,
        events.ApplicationDisbursedV1(
            **_base(app, identity.actor),
            disbursed_amount=format_minor(app.approved_minor, app.currency),
            total_scheduled=format_minor(sum(i.total_minor for i in schedule), app.currency),
            disbursement_reference=body.reference,
            disbursed_on=on,
            maturity_on=app.maturity_on,
        ),
    )
    return application_out(app, rows)


def _schedule_of(rows: Sequence[Instalment]) -> list[ScheduledInstalment]:
    return [ScheduledInstalment(r.number, r.due_on, r.principal_minor, r.interest_minor, r.fee_minor) for r in rows]


def _balance_of(app: Application) -> Balance:
    assert app.accrued_to is not None
    return Balance(
        app.principal_outstanding_minor, app.interest_outstanding_minor, app.fees_outstanding_minor, app.accrued_to
    )


async def record_repayment(
    session: AsyncSession, application_id: str, body: RepaymentIn, identity: Identity, config: FinanceConfig
) -> RepaymentOut:
    """Allocate fees -> interest -> principal; nothing outstanding afterwards makes it `repaid`."""
    repo = ApplicationRepository(session)
    app = await load_visible(repo, application_id, identity, lock=True)
    role = _role(identity)
    next_status(Status(app.status), Action.RECORD_REPAYMENT, role)
    _places_checked(places_error(body.amount, app.currency, "amount"))
    paid_on = body.paid_on or _today()
    if paid_on > _today():
        raise _invalid("paid_on", "must not be in the future")
    assert app.accrued_to is not None
    assert app.annual_rate is not None
    if paid_on < app.accrued_to:
        last = app.accrued_to.isoformat()
        raise _invalid("paid_on", f"must not be before {last}, the last repayment or disbursement")
    amount_minor = to_minor(body.amount, app.currency)
    after, allocation = apply_repayment(_balance_of(app), amount_minor, paid_on, Decimal(app.annual_rate), config)
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
    await _transition(repo, app, Action.RECORD_REPAYMENT, role, identity.actor, reason)
    if after.settled:
        await _transition(repo, app, Action.SETTLE, Role.SYSTEM, SYSTEM_ACTOR, "nothing outstanding")
        await _publish(
            session,
            events.ApplicationRepaidV1(
                **_base(app, identity.actor),
                total_repaid=format_minor(app.repaid_minor, app.currency),
                repaid_on=paid_on,
            ),
        )
    elif Status(app.status) is Status.IN_ARREARS:
        behind = arrears(_schedule_of(await repo.schedule(app.id)), app.repaid_minor, _today(), config)
        if not behind.in_arrears:
            await _transition(repo, app, Action.CURE, Role.SYSTEM, SYSTEM_ACTOR, "overdue instalments paid")
    c = app.currency
    balance = _balance(app)
    assert balance is not None
    return RepaymentOut(
        id=repayment.id,
        amount=as_money(amount_minor, c),
        paid_on=paid_on,
        reference=body.reference,
        to_fees=as_money(allocation.fees_minor, c),
        to_interest=as_money(allocation.interest_minor, c),
        to_principal=as_money(allocation.principal_minor, c),
        recorded_by=identity.actor,
        recorded_at=now,
        status=Status(app.status),
        balance=balance,
    )


async def write_off(session: AsyncSession, application_id: str, body: ReasonIn, identity: Identity) -> ApplicationOut:
    repo = ApplicationRepository(session)
    app = await load_visible(repo, application_id, identity, lock=True)
    await _transition(repo, app, Action.WRITE_OFF, _role(identity), identity.actor, body.reason)
    return application_out(app)


# --------------------------------------------------------------------------------------------------
# system: arrears and seller standing


async def mark_arrears_if_due(session: AsyncSession, application_id: str, as_of: date, config: FinanceConfig) -> bool:
    """Put one disbursed application in arrears if an instalment is past due beyond the grace days."""
    repo = ApplicationRepository(session)
    app = await repo.get(application_id, lock=True)
    if app is None or Status(app.status) is not Status.DISBURSED:
        return False
    schedule = _schedule_of(await repo.schedule(app.id))
    behind = arrears(schedule, app.repaid_minor, as_of, config)
    if not behind.in_arrears:
        return False
    reason = f"{behind.days_past_due} days past due"
    await _transition(repo, app, Action.MARK_ARREARS, Role.SYSTEM, SYSTEM_ACTOR, reason)
    assert app.annual_rate is not None
    due = accrue_interest(_balance_of(app), max(as_of, _balance_of(app).accrued_to), Decimal(app.annual_rate), config)
    await _publish(
        session,
        events.ApplicationInArrearsV1(
            **_base(app, SYSTEM_ACTOR),
            overdue_amount=format_minor(behind.overdue_minor, app.currency),
            outstanding_amount=format_minor(due.outstanding_minor, app.currency),
            days_past_due=behind.days_past_due,
        ),
    )
    return True


async def hold_for_seller(session: AsyncSession, seller_id: str, reason: str) -> int:
    """The seller was suspended: every application awaiting a lender or disbursement goes on hold."""
    repo = ApplicationRepository(session)
    holdable = [Status.SUBMITTED.value, Status.UNDER_REVIEW.value, Status.APPROVED.value]
    held = 0
    for app in await repo.open_of_seller(seller_id, holdable):
        await _transition(repo, app, Action.HOLD, Role.SYSTEM, SYSTEM_ACTOR, reason)
        held += 1
    return held


async def release_for_seller(session: AsyncSession, seller_id: str, reason: str) -> int:
    """The seller was reinstated: held applications return to where the hold found them."""
    repo = ApplicationRepository(session)
    released = 0
    for app in await repo.open_of_seller(seller_id, [Status.ON_HOLD.value]):
        await _transition(repo, app, Action.RELEASE, Role.SYSTEM, SYSTEM_ACTOR, reason)
        released += 1
    return released


# --------------------------------------------------------------------------------------------------
# reads


async def get(session: AsyncSession, application_id: str, identity: Identity) -> ApplicationOut:
    repo = ApplicationRepository(session)
    app = await load_visible(repo, application_id, identity, lock=False)
    schedule = await repo.schedule(app.id) if app.disbursed_on is not None else None
    return application_out(app, schedule)


async def history(session: AsyncSession, application_id: str, identity: Identity) -> HistoryOut:
    repo = ApplicationRepository(session)
    await load_visible(repo, application_id, identity, lock=False)
    return HistoryOut(
        items=[
            StatusChangeOut(
                action=h.action,
                from_status=Status(h.from_status) if h.from_status else None,
                to_status=Status(h.to_status),
                actor=h.actor,
                reason=h.reason,
                at=h.at,
            )
            for h in await repo.history(application_id)
        ]
    )


async def search(
    session: AsyncSession,
    identity: Identity,
    *,
    limit: int,
    cursor: str | None,
    status: Status | None,
    product: Product | None,
    currency: str | None,
    min_amount: Decimal | None,
    max_amount: Decimal | None,
    min_age_days: int | None,
    max_age_days: int | None,
) -> Page[ApplicationSummary]:
    """A seller lists its own; a lender the queue of submitted applications; ops everything."""
    after = None
    if cursor:
        position = decode_cursor(cursor, ("t", "id"))
        after = (cursor_datetime(position["t"]), cursor_id(position["id"]))
    if (min_amount is not None or max_amount is not None) and currency is None:
        raise _invalid("currency", "required with min_amount or max_amount")
    if currency is not None:
        _currency_places(currency)
    statuses: tuple[str, ...] = (status.value,) if status else ()
    if identity.role is KeyRole.LENDER:
        statuses = tuple(s for s in (statuses or LENDER_VISIBLE) if s in LENDER_VISIBLE) or ("-",)
    now = utcnow()
    filters = QueueFilter(
        seller_id=identity.subject if identity.role is KeyRole.SELLER else None,
        statuses=statuses,
        product=product.value if product else None,
        currency=currency,
        min_minor=to_minor(min_amount, currency) if min_amount is not None and currency else None,
        max_minor=to_minor(max_amount, currency) if max_amount is not None and currency else None,
        submitted_before=now - timedelta(days=min_age_days) if min_age_days is not None else None,
        submitted_after=now - timedelta(days=max_age_days) if max_age_days is not None else None,
    )
    rows = await ApplicationRepository(session).search(filters, limit=limit + 1, after=after)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor({"t": last.created_at.isoformat(), "id": last.id})
        rows = rows[:limit]
    items = [
        ApplicationSummary(
            id=r.id,
            seller_id=r.seller_id,
            product=Product(r.product),
            status=Status(r.status),
            amount=as_money(r.requested_minor, r.currency),
            currency=r.currency,
            tenor_days=r.tenor_days,
            eligible=r.eligible,
            created_at=r.created_at,
            submitted_at=r.submitted_at,
        )
        for r in rows
    ]
    return Page[ApplicationSummary](items=items, next_cursor=next_cursor)
