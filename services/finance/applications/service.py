"""The seller's side of an application (create, edit, submit, withdraw) and the reads every role makes:
one application, its history, the list or review queue. Each command runs inside the one transaction
its caller owns and only flushes; locking is described in `services.finance.aggregate`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.finance.aggregate import event_fields, load_visible, publish, transition
from services.finance.applications.eligibility import evaluate, refuse_foreign_orders
from services.finance.applications.repository import QueueFilter, QueueRepository
from services.finance.config import FinanceConfig, Product
from services.finance.context import (
    LENDER_VISIBLE,
    MAX_SELLER_ID,
    REEVALUATED,
    currency_places,
    refuse_extra_places,
    role_of,
)
from services.finance.domain import Action, Status, ensure_editable
from services.finance.models import Application, StatusChange
from services.finance.render import application_out
from services.finance.repository import ApplicationRepository
from services.finance.schemas import (
    ApplicationCreate,
    ApplicationOut,
    ApplicationSummary,
    ApplicationUpdate,
    HistoryOut,
    ReasonIn,
    StatusChangeOut,
    places_error,
)
from shared.auth import Identity
from shared.auth import Role as KeyRole
from shared.contracts import finance as events
from shared.db import utcnow
from shared.errors import Forbidden, invalid_field
from shared.money import format_minor, to_minor
from shared.pagination import Page, cursor_datetime, cursor_id, decode_cursor, fetch_size, keyset_page

# --------------------------------------------------------------------------------------------------
# seller commands


async def create(session: AsyncSession, body: ApplicationCreate, identity: Identity) -> ApplicationOut:
    seller_id = identity.subject
    if seller_id is None or len(seller_id) > MAX_SELLER_ID:
        # Sellers' ids are uuids; a key bound to a longer subject names no seller finance can know.
        raise Forbidden("This key is not bound to a seller finance can lend to.")
    currency_places(body.currency)
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


# --------------------------------------------------------------------------------------------------
# reads


async def get(session: AsyncSession, application_id: str, identity: Identity) -> ApplicationOut:
    repo = ApplicationRepository(session)
    app = await load_visible(repo, application_id, identity, lock=False)
    schedule = await repo.schedule(app.id) if app.disbursed_on is not None else None
    return application_out(app, schedule)


async def open_for_lender(
    session: AsyncSession, application_id: str, identity: Identity, config: FinanceConfig
) -> ApplicationOut:
    """A lender opens an application awaiting its decision: eligibility is evaluated again on today's
    projections and stored (issue 12: "evaluated on submit and again when a lender opens it").

    The route calls this only after a plain read found the application in `REEVALUATED`, so other
    reads never take the writer's lock; the state is checked again under the row lock here. The
    evaluation is not an edit of the terms: no history entry, no version change, no event.
    """
    repo = ApplicationRepository(session)
    app = await load_visible(repo, application_id, identity, lock=True)
    if Status(app.status) in REEVALUATED:
        await evaluate(session, app, config)
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
        raise invalid_field("currency", "required with min_amount or max_amount")
    if currency is not None:
        currency_places(currency)
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
    found = await QueueRepository(session).search(filters, limit=fetch_size(limit), after=after)
    rows, next_cursor = keyset_page(found, limit, lambda r: {"t": r.created_at.isoformat(), "id": r.id})
    items = [
        ApplicationSummary(
            id=r.id,
            seller_id=r.seller_id,
            product=Product(r.product),
            status=Status(r.status),
            amount=format_minor(r.requested_minor, r.currency),
            currency=r.currency,
            tenor_days=r.tenor_days,
            eligible=r.eligible,
            created_at=r.created_at,
            submitted_at=r.submitted_at,
        )
        for r in rows
    ]
    return Page[ApplicationSummary](items=items, next_cursor=next_cursor)
