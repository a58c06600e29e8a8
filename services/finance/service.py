"""Finance use cases: the seller's commands, reads, seller standing, and what every command shares
(loading with access checks, audited transitions, events, rendering). Lender commands and the money
are in `lending`, eligibility in `eligibility`. Each command runs inside the one transaction its
caller owns and only flushes.

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
    Action,
    Balance,
    Role,
    Status,
    accrue_interest,
    ensure_editable,
    next_status,
)
from services.finance.domain import Instalment as ScheduledInstalment
from services.finance.eligibility import evaluate, refuse_foreign_orders
from services.finance.models import Application, Instalment, StatusChange
from services.finance.repository import ApplicationRepository, QueueFilter
from services.finance.schemas import (
    ApplicationCreate,
    ApplicationOut,
    ApplicationSummary,
    ApplicationUpdate,
    BalanceOut,
    EligibilityOut,
    HistoryOut,
    InstalmentOut,
    ReasonIn,
    RuleOut,
    StatusChangeOut,
    as_money,
    places_error,
)
from shared.auth import Identity
from shared.auth import Role as KeyRole
from shared.contracts import finance as events
from shared.db import utcnow
from shared.errors import Forbidden, NotFound, UnprocessableContent
from shared.money import format_minor, minor_units, to_minor
from shared.outbox import EventSource
from shared.pagination import Page, cursor_datetime, cursor_id, decode_cursor, encode_cursor

EVENTS = EventSource("/ewtp/finance")
#: Seller ids are stored (and published) in 64 characters.
MAX_SELLER_ID = 64
SYSTEM_ACTOR = "system"

#: Once an application reaches one of these, the orders it claimed are free for another application.
CLOSED = frozenset({Status.REJECTED, Status.WITHDRAWN, Status.REPAID, Status.WRITTEN_OFF})
#: Loans with money out: interest runs on them.
LIVE = frozenset({Status.DISBURSED, Status.IN_ARREARS})
#: What a lender sees when it does not filter by status: everything a seller has submitted.
LENDER_VISIBLE = tuple(s.value for s in Status if s is not Status.DRAFT)

_ROLES = {KeyRole.SELLER: Role.SELLER, KeyRole.LENDER: Role.LENDER, KeyRole.OPS: Role.OPS}


def role_of(identity: Identity) -> Role:
    role = _ROLES.get(identity.role)
    if role is None:  # the routes' require_roles refuses these first
        raise NotFound("No such application.")
    return role


def today() -> date:
    return datetime.now(UTC).date()


def invalid(field: str, reason: str) -> UnprocessableContent:
    return UnprocessableContent(f"Invalid fields: {field}.", errors=[{"field": field, "reason": reason}])


def refuse_extra_places(*checks: dict[str, str] | None) -> None:
    errors = [e for e in checks if e is not None]
    if errors:
        raise UnprocessableContent(f"Invalid fields: {', '.join(e['field'] for e in errors)}.", errors=errors)


def _currency_places(currency: str) -> int:
    try:
        return minor_units(currency)
    except ValueError:
        raise invalid("currency", "a currency with no minor units cannot be lent in") from None


def _major(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-minor_units(currency))


# --------------------------------------------------------------------------------------------------
# rendering


def balance_out(app: Application) -> BalanceOut | None:
    if app.disbursed_on is None or app.accrued_to is None or app.annual_rate is None:
        return None
    c = app.currency
    balance = balance_of(app)
    now = today()
    payoff = balance
    if Status(app.status) in LIVE and now > balance.accrued_to:
        payoff = accrue_interest(balance, now, Decimal(app.annual_rate))
    return BalanceOut(
        principal=as_money(balance.principal_minor, c),
        interest=as_money(balance.interest_minor, c),
        fees=as_money(balance.fees_minor, c),
        outstanding=as_money(balance.outstanding_minor, c),
        repaid=as_money(app.repaid_minor, c),
        accrued_to=balance.accrued_to,
        payoff_today=as_money(payoff.outstanding_minor, c),
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
        balance=balance_out(app),
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


async def transition(
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


def event_fields(app: Application, actor: str) -> dict[str, Any]:
    return {
        "application_id": app.id,
        "seller_id": app.seller_id,
        "product": app.product,
        "currency": app.currency,
        "actor": actor[:64],
        "occurred_at": utcnow(),
    }


async def publish(session: AsyncSession, data: events._ApplicationEvent) -> None:
    await EVENTS.publish(session, data, subject=data.application_id)


def schedule_of(rows: Sequence[Instalment]) -> list[ScheduledInstalment]:
    return [ScheduledInstalment(r.number, r.due_on, r.principal_minor, r.interest_minor, r.fee_minor) for r in rows]


def balance_of(app: Application) -> Balance:
    assert app.accrued_to is not None
    return Balance(
        app.principal_outstanding_minor, app.interest_outstanding_minor, app.fees_outstanding_minor, app.accrued_to
    )


# --------------------------------------------------------------------------------------------------
# seller commands


async def create(session: AsyncSession, body: ApplicationCreate, identity: Identity) -> ApplicationOut:
    seller_id = identity.subject
    if seller_id is None or len(seller_id) > MAX_SELLER_ID:
        # Sellers' ids are uuids; a key bound to a longer subject names no seller finance can know.
        raise Forbidden("This key is not bound to a seller finance can lend to.")
    _currency_places(body.currency)
    refuse_extra_places(
        places_error(body.amount, body.currency, "amount"),
        places_error(body.trade.amount if body.trade else None, body.currency, "trade.amount"),
    )
    await refuse_foreign_orders(session, seller_id, body.linked_order_ids)
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
    refuse_extra_places(
        places_error(body.amount, app.currency, "amount"),
        places_error(body.trade.amount if body.trade else None, app.currency, "trade.amount"),
    )
    if body.linked_order_ids is not None:
        await refuse_foreign_orders(session, app.seller_id, body.linked_order_ids)
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
    await transition(repo, app, Action.EDIT, role_of(identity), identity.actor)
    if Status(app.status) is Status.SUBMITTED:
        await repo.release_claims(app.id)  # the terms changed: claims follow the new evaluation
        await evaluate(session, app, config)
    return application_out(app)


async def submit(
    session: AsyncSession, application_id: str, identity: Identity, config: FinanceConfig
) -> ApplicationOut:
    repo = ApplicationRepository(session)
    app = await load_visible(repo, application_id, identity, lock=True)
    await transition(repo, app, Action.SUBMIT, role_of(identity), identity.actor)
    app.submitted_at = app.updated_at
    result = await evaluate(session, app, config)
    await publish(
        session,
        events.ApplicationSubmittedV1(
            **event_fields(app, identity.actor),
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
    await transition(repo, app, Action.WITHDRAW, role_of(identity), identity.actor, body.reason)
    await publish(session, events.ApplicationWithdrawnV1(**event_fields(app, identity.actor), reason=body.reason))
    return application_out(app)


async def hold_for_seller(session: AsyncSession, seller_id: str, reason: str) -> int:
    """The seller was suspended: every application awaiting a lender or disbursement goes on hold."""
    repo = ApplicationRepository(session)
    holdable = [Status.SUBMITTED.value, Status.UNDER_REVIEW.value, Status.APPROVED.value]
    held = 0
    for app in await repo.open_of_seller(seller_id, holdable):
        await transition(repo, app, Action.HOLD, Role.SYSTEM, SYSTEM_ACTOR, reason)
        held += 1
    return held


async def release_for_seller(session: AsyncSession, seller_id: str, reason: str) -> int:
    """The seller was reinstated: held applications return to where the hold found them."""
    repo = ApplicationRepository(session)
    released = 0
    for app in await repo.open_of_seller(seller_id, [Status.ON_HOLD.value]):
        await transition(repo, app, Action.RELEASE, Role.SYSTEM, SYSTEM_ACTOR, reason)
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
        raise invalid("currency", "required with min_amount or max_amount")
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
