"""The application aggregate as every area handles it: loading with the caller's access checked,
audited transitions, the fields every event carries, and the loan's balance.

Concurrency: every command loads its application with a row lock (`FOR UPDATE` on PostgreSQL;
SQLite's writers are serial under `BEGIN IMMEDIATE`), so two lenders acting at once are serialised and
the second sees the state the first left (a 409 when its action no longer applies). A seller's part
of an order is financed by at most one open application: the `order_claims` primary key decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.finance.context import CLOSED, EVENTS
from services.finance.domain import Action, Balance, Role, Status, next_status
from services.finance.domain import Instalment as ScheduledInstalment
from services.finance.models import Application, Instalment, StatusChange
from services.finance.repository import ApplicationRepository
from shared.auth import Identity
from shared.auth import Role as KeyRole
from shared.contracts import finance as events
from shared.db import utcnow
from shared.errors import NotFound

__all__ = ["balance_of", "event_fields", "load_visible", "publish", "schedule_of", "transition"]


async def load_visible(
    repo: ApplicationRepository, application_id: str, identity: Identity, *, lock: bool
) -> Application:
    """The application if the caller may see it, else "not found" (never "forbidden", which would
    confirm it exists): another seller's, and for a lender a draft, which the queue never lists."""
    app = await repo.get(application_id, lock=lock)
    hidden = app is None or (
        (identity.role is KeyRole.SELLER and not identity.owns(app.seller_id))
        or (identity.role is KeyRole.LENDER and Status(app.status) is Status.DRAFT)
    )
    if hidden:
        raise NotFound(f"Application {application_id} does not exist.")
    assert app is not None
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
