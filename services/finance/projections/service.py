"""What the projections do to open applications: a seller's suspension holds them and its reinstatement
releases them; a linked order cancelled or rejected has its claimants' eligibility evaluated again, so
the stored result a lender decides on never goes stale silently. Runs in the consumer's transaction.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.finance.aggregate import transition
from services.finance.applications.eligibility import evaluate
from services.finance.config import FinanceConfig
from services.finance.context import SYSTEM_ACTOR
from services.finance.domain import HOLDABLE, Action, Role, Status
from services.finance.repository import ApplicationRepository

__all__ = ["hold_for_seller", "order_ended", "release_for_seller"]

#: Before the money goes out, the stored eligibility is still what a lender acts on.
_BEFORE_DISBURSEMENT = frozenset({Status.SUBMITTED, Status.UNDER_REVIEW, Status.APPROVED, Status.ON_HOLD})


async def hold_for_seller(session: AsyncSession, seller_id: str, reason: str) -> int:
    """The seller was suspended: every application awaiting a lender or disbursement goes on hold."""
    repo = ApplicationRepository(session)
    held = 0
    for app in await repo.open_of_seller(seller_id, sorted(s.value for s in HOLDABLE)):
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


async def order_ended(session: AsyncSession, order_id: str, config: FinanceConfig) -> int:
    """The order was cancelled or rejected: evaluate again every application still before disbursement
    that holds a claim on it (only an eligible application holds claims, and only its result can turn).

    An approved application keeps its claims on its other orders: the lender decided on them and may
    still disburse; the stored result now says which order no longer stands. An ineligible application
    linking the order claims nothing and stays ineligible, so it is left for its next evaluation.
    """
    repo = ApplicationRepository(session)
    evaluated = 0
    for app in await repo.claimants(order_id):
        status = Status(app.status)
        if status not in _BEFORE_DISBURSEMENT:
            continue
        decided = Status.APPROVED in (status, Status(app.held_from) if app.held_from else None)
        await evaluate(session, app, config, keep_claims=decided)
        evaluated += 1
    return evaluated
