"""The application as the API shows it: terms, stored eligibility, decision, balance and schedule."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from services.finance.aggregate import balance_of
from services.finance.config import GuaranteeScheme, Product
from services.finance.context import LIVE, today
from services.finance.domain import Status, accrue_interest
from services.finance.models import Application, Instalment
from services.finance.schemas import ApplicationOut, BalanceOut, EligibilityOut, InstalmentOut, RuleOut
from shared.money import format_minor

__all__ = ["application_out", "balance_out"]


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
        principal=format_minor(balance.principal_minor, c),
        interest=format_minor(balance.interest_minor, c),
        fees=format_minor(balance.fees_minor, c),
        outstanding=format_minor(balance.outstanding_minor, c),
        repaid=format_minor(app.repaid_minor, c),
        accrued_to=balance.accrued_to,
        payoff_today=format_minor(payoff.outstanding_minor, c),
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
        amount=format_minor(app.requested_minor, c),
        currency=c,
        tenor_days=app.tenor_days,
        purpose=app.purpose,
        linked_order_ids=list(app.linked_order_ids or []),
        trade=app.trade,
        guarantee_scheme=GuaranteeScheme(app.guarantee_scheme) if app.guarantee_scheme else None,
        guarantee_enhanced=app.guarantee_enhanced,
        documents=list(app.documents or []),
        eligibility=eligibility,
        approved_amount=format_minor(app.approved_minor, c) if app.approved_minor is not None else None,
        annual_rate=app.annual_rate,
        fees=format_minor(app.fees_minor, c) if app.fees_minor is not None else None,
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
                principal=format_minor(i.principal_minor, c),
                interest=format_minor(i.interest_minor, c),
                fees=format_minor(i.fee_minor, c),
                total=format_minor(i.principal_minor + i.interest_minor + i.fee_minor, c),
            )
            for i in schedule
        ],
        version=app.version,
        created_at=app.created_at,
        submitted_at=app.submitted_at,
        updated_at=app.updated_at,
    )
