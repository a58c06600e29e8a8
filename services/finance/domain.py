"""Finance rules that need no database: the application lifecycle, eligibility, money and arrears.

Money is integer minor units plus an ISO 4217 code; every conversion rounds half-even through
`shared.money`. Figures a lender sets or DOMAIN.md marks [U] come from `FinanceConfig`.

One module on purpose, though it passes 500 lines: it is the pure rule book of one aggregate (the
application), with no I/O and nothing to hide behind; its three sections (lifecycle, eligibility,
money) share the statuses, products and rounding, and are pinned section by section in
tests/finance/test_domain.py and test_money.py. The service's areas (applications, lending,
projections, insights) are where the split by area lives.

The lifecycle is a `shared.state_machine.StateMachine` declared per source (EDIT and RECORD_REPAYMENT
keep the state they start from); around it, each action is open to some roles only, and RELEASE
returns to the state the hold interrupted, which only the application's history knows. The refusal is
the kit's: `IllegalTransition` is `shared.state_machine.InvalidTransition` (409, naming the current state).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from services.finance.config import DEFAULT_CONFIG, FinanceConfig, GuaranteeScheme, Product
from shared.errors import Forbidden, UnprocessableContent
from shared.money import format_minor, quantize, to_minor
from shared.state_machine import InvalidTransition, StateMachine

__all__ = [
    "ACTORS",
    "EDITABLE",
    "HOLDABLE",
    "ORDER_BACKED",
    "REASON_REQUIRED",
    "TRANSITIONS",
    "Action",
    "ActionNotPermitted",
    "Allocation",
    "Balance",
    "Eligibility",
    "IllegalTransition",
    "LIFECYCLE",
    "Instalment",
    "LinkedOrder",
    "Role",
    "Rule",
    "RuleOutcome",
    "Status",
    "Arrears",
    "apply_repayment",
    "accrue_interest",
    "advance_limit_minor",
    "arrears",
    "ensure_editable",
    "evaluate_eligibility",
    "fee_minor",
    "foreign_orders",
    "guarantee_cover_minor",
    "interest_minor",
    "next_status",
    "repayment_schedule",
]


# --------------------------------------------------------------------------- lifecycle


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    #: The seller was suspended while the application awaited a lender; reinstatement releases it.
    ON_HOLD = "on_hold"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    DISBURSED = "disbursed"
    IN_ARREARS = "in_arrears"
    REPAID = "repaid"
    WRITTEN_OFF = "written_off"


class Action(StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    TAKE_FOR_REVIEW = "take_for_review"
    APPROVE = "approve"
    REJECT = "reject"
    DISBURSE = "disburse"
    RECORD_REPAYMENT = "record_repayment"
    #: The last repayment left nothing outstanding.
    SETTLE = "settle"
    MARK_ARREARS = "mark_arrears"
    #: Overdue instalments paid up while principal is still outstanding: back to a current loan.
    CURE = "cure"
    WRITE_OFF = "write_off"
    HOLD = "hold"
    RELEASE = "release"


class Role(StrEnum):
    SELLER = "seller"
    LENDER = "lender"
    #: Ops reads everything and acts on nothing (issue 12, item 5).
    OPS = "ops"
    #: Effects of consumed events and of the periodic arrears task, never a person.
    SYSTEM = "system"


#: Where an application may be put on hold: waiting for a lender, or approved but not yet paid out.
#: A draft is left alone (submitting re-checks the seller); money already out keeps being repaid.
HOLDABLE = frozenset({Status.SUBMITTED, Status.UNDER_REVIEW, Status.APPROVED})

#: Terms may change only before a lender takes the application (DOMAIN.md section 4).
EDITABLE = frozenset({Status.DRAFT, Status.SUBMITTED})

#: (state, action) -> next state. RELEASE is absent: it returns to the state the hold interrupted.
LIFECYCLE: StateMachine[Action, Status] = StateMachine.from_table(
    "application",
    {
        (Status.DRAFT, Action.EDIT): Status.DRAFT,
        (Status.SUBMITTED, Action.EDIT): Status.SUBMITTED,
        (Status.DRAFT, Action.SUBMIT): Status.SUBMITTED,
        (Status.DRAFT, Action.WITHDRAW): Status.WITHDRAWN,
        (Status.SUBMITTED, Action.WITHDRAW): Status.WITHDRAWN,
        (Status.UNDER_REVIEW, Action.WITHDRAW): Status.WITHDRAWN,
        (Status.ON_HOLD, Action.WITHDRAW): Status.WITHDRAWN,
        (Status.SUBMITTED, Action.TAKE_FOR_REVIEW): Status.UNDER_REVIEW,
        (Status.UNDER_REVIEW, Action.APPROVE): Status.APPROVED,
        (Status.UNDER_REVIEW, Action.REJECT): Status.REJECTED,
        (Status.APPROVED, Action.DISBURSE): Status.DISBURSED,
        (Status.DISBURSED, Action.RECORD_REPAYMENT): Status.DISBURSED,
        (Status.IN_ARREARS, Action.RECORD_REPAYMENT): Status.IN_ARREARS,
        (Status.DISBURSED, Action.SETTLE): Status.REPAID,
        (Status.IN_ARREARS, Action.SETTLE): Status.REPAID,
        (Status.DISBURSED, Action.MARK_ARREARS): Status.IN_ARREARS,
        (Status.IN_ARREARS, Action.CURE): Status.DISBURSED,
        (Status.IN_ARREARS, Action.WRITE_OFF): Status.WRITTEN_OFF,
        **{(status, Action.HOLD): Status.ON_HOLD for status in HOLDABLE},
    },
    refusal="Cannot {action} an application that is {current}; it must be {allowed}.",
)
#: The same moves as `(state, action) -> state`, read from the machine.
TRANSITIONS: Mapping[tuple[Status, Action], Status] = LIFECYCLE.table()

#: Who may take each action. SETTLE, CURE and MARK_ARREARS follow from the money, never from a click.
ACTORS: dict[Action, frozenset[Role]] = {
    Action.EDIT: frozenset({Role.SELLER}),
    Action.SUBMIT: frozenset({Role.SELLER}),
    Action.WITHDRAW: frozenset({Role.SELLER}),
    Action.TAKE_FOR_REVIEW: frozenset({Role.LENDER}),
    Action.APPROVE: frozenset({Role.LENDER}),
    Action.REJECT: frozenset({Role.LENDER}),
    Action.DISBURSE: frozenset({Role.LENDER}),
    Action.RECORD_REPAYMENT: frozenset({Role.LENDER}),
    Action.SETTLE: frozenset({Role.SYSTEM}),
    Action.MARK_ARREARS: frozenset({Role.LENDER, Role.SYSTEM}),
    Action.CURE: frozenset({Role.SYSTEM}),
    Action.WRITE_OFF: frozenset({Role.LENDER}),
    Action.HOLD: frozenset({Role.SYSTEM}),
    Action.RELEASE: frozenset({Role.SYSTEM}),
}

#: Actions whose audit entry must say why.
REASON_REQUIRED = frozenset({Action.REJECT, Action.WRITE_OFF, Action.HOLD})

#: Products whose advance is bounded by the value of the seller's confirmed platform orders.
ORDER_BACKED = frozenset({Product.PURCHASE_ORDER_FINANCE, Product.INVOICE_FINANCE})


#: The action does not apply to the application's current state: the kit's 409.
IllegalTransition = InvalidTransition


class ActionNotPermitted(Forbidden):
    """The caller's role may never take this action (403)."""


def next_status(
    current: Status,
    action: Action,
    role: Role,
    *,
    reason: str | None = None,
    held_from: Status | None = None,
) -> Status:
    """The state `action` by `role` leads to from `current`, or the typed refusal.

    The role is checked first: a seller asking to approve is refused whatever the state.
    `held_from` is the state a hold interrupted; RELEASE returns to it.
    """
    if role not in ACTORS[action]:
        raise ActionNotPermitted(f"A {role.value} cannot {action.value} an application.", action=action.value)
    if action in REASON_REQUIRED and not (reason and reason.strip()):
        raise UnprocessableContent(
            f"To {action.value} an application, give a reason.",
            errors=[{"field": "reason", "message": "required"}],
        )
    if action is Action.RELEASE:
        if current is not Status.ON_HOLD or held_from not in HOLDABLE:
            raise IllegalTransition(
                f"Cannot release an application that is {current.value}.",
                current_status=current.value,
            )
        return held_from
    return LIFECYCLE.next(current, action)


def ensure_editable(current: Status) -> None:
    if current not in EDITABLE:
        raise IllegalTransition(
            f"An application that is {current.value} can no longer be edited; only draft and submitted ones can.",
            current_status=current.value,
        )


# --------------------------------------------------------------------------- eligibility


class Rule(StrEnum):
    SELLER_VERIFIED = "seller_verified"
    CURRENCY_SUPPORTED = "currency_supported"
    AMOUNT_WITHIN_LIMITS = "amount_within_limits"
    TENOR_WITHIN_LIMIT = "tenor_within_limit"
    LINKED_ORDERS_USABLE = "linked_orders_usable"
    ADVANCE_WITHIN_LIMIT = "advance_within_limit"


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    rule: Rule
    passed: bool
    #: Shown to the seller and the lender as is: what was checked and with which figures.
    detail: str


@dataclass(frozen=True, slots=True)
class Eligibility:
    outcomes: tuple[RuleOutcome, ...]

    @property
    def eligible(self) -> bool:
        return all(outcome.passed for outcome in self.outcomes)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the application is not eligible, one line per failed rule; empty when it is."""
        return tuple(o.detail for o in self.outcomes if not o.passed)


@dataclass(frozen=True, slots=True)
class LinkedOrder:
    """Finance's projection of one order the application links, as of the last event consumed.

    `seller_id` None means the order is not (yet) known to finance's projection.
    """

    order_id: str
    seller_id: str | None
    confirmed: bool
    value_minor: int
    currency: str
    #: Another open application already financing this order, if any: an order is financed once.
    financed_by: str | None = None


def _order_exclusion(order: LinkedOrder, seller_id: str, currency: str) -> str | None:
    if order.seller_id is None:
        return "not known to finance yet"
    if order.seller_id != seller_id:
        return "belongs to another seller"
    if not order.confirmed:
        return "not confirmed"
    if order.currency != currency:
        return f"priced in {order.currency}, not {currency}"
    if order.financed_by is not None:
        return f"already financed by application {order.financed_by}"
    return None


def advance_limit_minor(rate: Decimal, base_minor: int) -> int:
    """`rate` x `base_minor`, rounded half-even to a whole minor unit."""
    return int((rate * base_minor).to_integral_value(rounding=ROUND_HALF_EVEN))


def evaluate_eligibility(
    *,
    seller_id: str,
    seller_status: str | None,
    product: Product,
    amount: Decimal,
    currency: str,
    tenor_days: int,
    orders: Sequence[LinkedOrder] = (),
    config: FinanceConfig = DEFAULT_CONFIG,
) -> Eligibility:
    """Every rule's outcome for one application; run on submit and when a lender opens it.

    Seller standing comes from finance's projection of seller events (`seller_status` None: the
    seller is unknown to it). For order-backed products the advance base is the value of the linked
    platform orders that are confirmed, the seller's own, in the requested currency and not financed
    by another open application: finance lends on trade data it has seen, not on declared documents.
    """
    terms = config.products[product]
    outcomes: list[RuleOutcome] = []

    if seller_status == "verified":
        outcomes.append(RuleOutcome(Rule.SELLER_VERIFIED, True, "The seller is verified."))
    else:
        shown = seller_status or "unknown to finance"
        outcomes.append(RuleOutcome(Rule.SELLER_VERIFIED, False, f"The seller is {shown}, not verified."))

    limits = config.amount_limits.get(currency)
    if limits is None:
        supported = ", ".join(sorted(config.amount_limits))
        outcomes.append(
            RuleOutcome(Rule.CURRENCY_SUPPORTED, False, f"{currency} is not funded; use one of {supported}.")
        )
    else:
        outcomes.append(RuleOutcome(Rule.CURRENCY_SUPPORTED, True, f"{currency} is funded."))
        low, high = quantize(limits.minimum, currency), quantize(limits.maximum, currency)
        shown_amount = f"{quantize(amount, currency)} {currency}"
        within = low <= amount <= high
        outcomes.append(
            RuleOutcome(
                Rule.AMOUNT_WITHIN_LIMITS,
                within,
                f"{shown_amount} is {'within' if within else 'outside'} {low}-{high} {currency}.",
            )
        )

    tenor_ok = 1 <= tenor_days <= terms.max_tenor_days
    outcomes.append(
        RuleOutcome(
            Rule.TENOR_WITHIN_LIMIT,
            tenor_ok,
            f"A tenor of {tenor_days} days is {'within' if tenor_ok else 'outside'} "
            f"1-{terms.max_tenor_days} days for {product.value}.",
        )
    )

    if terms.advance_rate is not None and limits is not None:
        outcomes.extend(_advance_outcomes(seller_id, amount, currency, terms.advance_rate, orders))
    return Eligibility(tuple(outcomes))


def _advance_outcomes(
    seller_id: str, amount: Decimal, currency: str, rate: Decimal, orders: Sequence[LinkedOrder]
) -> list[RuleOutcome]:
    excluded = [
        f"{order.order_id} ({why})"
        for order in orders
        if (why := _order_exclusion(order, seller_id, currency)) is not None
    ]
    usable = [o for o in orders if _order_exclusion(o, seller_id, currency) is None]
    if not orders:
        usable_outcome = RuleOutcome(Rule.LINKED_ORDERS_USABLE, False, "No order is linked; this product needs one.")
    elif excluded:
        usable_outcome = RuleOutcome(
            Rule.LINKED_ORDERS_USABLE, False, "Orders not counted: " + "; ".join(excluded) + "."
        )
    else:
        usable_outcome = RuleOutcome(Rule.LINKED_ORDERS_USABLE, True, f"All {len(orders)} linked orders count.")
    base_minor = sum(o.value_minor for o in usable)
    limit_minor = advance_limit_minor(rate, base_minor)
    requested_minor = to_minor(amount, currency)
    limit_shown = format_minor(limit_minor, currency)
    base_shown = format_minor(base_minor, currency)
    within = requested_minor <= limit_minor
    advance_outcome = RuleOutcome(
        Rule.ADVANCE_WITHIN_LIMIT,
        within,
        f"{quantize(amount, currency)} {currency} is {'within' if within else 'above'} the advance "
        f"limit of {limit_shown} {currency} ({rate:%} of {base_shown} {currency} in usable orders).",
    )
    return [usable_outcome, advance_outcome]


def foreign_orders(seller_id: str, orders: Iterable[LinkedOrder]) -> list[str]:
    """Ids of linked orders known to belong to another seller: phase 2 refuses these as bad input."""
    return [o.order_id for o in orders if o.seller_id is not None and o.seller_id != seller_id]


# --------------------------------------------------------------------------- money


def _half_even(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_EVEN))


def fee_minor(approved_minor: int, fee_rate: Decimal) -> int:
    """The arrangement fee on an approved amount, half-even to a whole minor unit."""
    return _half_even(fee_rate * approved_minor)


def interest_minor(
    principal_minor: int, annual_rate: Decimal, days: int, basis: int = DEFAULT_CONFIG.day_count_basis
) -> int:
    """Simple interest, actual/`basis`, on `principal_minor` for `days`, half-even to a minor unit."""
    return _half_even(annual_rate * principal_minor * days / basis)


@dataclass(frozen=True, slots=True)
class Instalment:
    number: int
    due_on: date
    principal_minor: int
    interest_minor: int
    fee_minor: int

    @property
    def total_minor(self) -> int:
        return self.principal_minor + self.interest_minor + self.fee_minor


def repayment_schedule(
    *,
    principal_minor: int,
    annual_rate: Decimal,
    fees_minor: int,
    disbursed_on: date,
    tenor_days: int,
    instalments: int = 1,
    config: FinanceConfig = DEFAULT_CONFIG,
) -> list[Instalment]:
    """The schedule generated at disbursement.

    Due dates split the tenor evenly (the last falls exactly on the maturity date); principal is split
    evenly in minor units with the remainder on the last instalment; each instalment's interest is on
    the principal outstanding over its period; fees fall due with the first instalment. One
    instalment (the default) is the bullet repayment trade finance usually has.
    """
    if principal_minor <= 0:
        raise UnprocessableContent("The principal must be positive.")
    if not 1 <= instalments <= min(config.max_instalments, tenor_days):
        raise UnprocessableContent(
            f"A schedule has 1 to {min(config.max_instalments, tenor_days)} instalments "
            f"for a tenor of {tenor_days} days.",
            errors=[{"field": "instalments", "message": "out of range"}],
        )
    base, remainder = divmod(principal_minor, instalments)
    schedule: list[Instalment] = []
    outstanding = principal_minor
    previous_day = 0
    for number in range(1, instalments + 1):
        day = tenor_days * number // instalments
        principal = base + (remainder if number == instalments else 0)
        schedule.append(
            Instalment(
                number=number,
                due_on=disbursed_on + timedelta(days=day),
                principal_minor=principal,
                interest_minor=interest_minor(outstanding, annual_rate, day - previous_day, config.day_count_basis),
                fee_minor=fees_minor if number == 1 else 0,
            )
        )
        outstanding -= principal
        previous_day = day
    return schedule


@dataclass(frozen=True, slots=True)
class Balance:
    """What a disbursed application owes; interest accrues on principal up to `accrued_to`."""

    principal_minor: int
    interest_minor: int
    fees_minor: int
    accrued_to: date

    @property
    def outstanding_minor(self) -> int:
        return self.principal_minor + self.interest_minor + self.fees_minor

    @property
    def settled(self) -> bool:
        return self.outstanding_minor == 0


@dataclass(frozen=True, slots=True)
class Allocation:
    fees_minor: int
    interest_minor: int
    principal_minor: int


def accrue_interest(
    balance: Balance, as_of: date, annual_rate: Decimal, config: FinanceConfig = DEFAULT_CONFIG
) -> Balance:
    """`balance` with interest accrued on its outstanding principal from `accrued_to` to `as_of`."""
    days = (as_of - balance.accrued_to).days
    if days < 0:
        raise UnprocessableContent(
            f"{as_of.isoformat()} is before {balance.accrued_to.isoformat()}, the last date interest was accrued to."
        )
    added = interest_minor(balance.principal_minor, annual_rate, days, config.day_count_basis)
    return Balance(balance.principal_minor, balance.interest_minor + added, balance.fees_minor, as_of)


def apply_repayment(
    balance: Balance,
    amount_minor: int,
    paid_on: date,
    annual_rate: Decimal,
    config: FinanceConfig = DEFAULT_CONFIG,
) -> tuple[Balance, Allocation]:
    """Accrue to `paid_on`, then allocate fees -> interest -> principal; refuse paying more than owed."""
    if amount_minor <= 0:
        raise UnprocessableContent(
            "A repayment must be positive.", errors=[{"field": "amount", "message": "not positive"}]
        )
    due = accrue_interest(balance, paid_on, annual_rate, config)
    if amount_minor > due.outstanding_minor:
        raise UnprocessableContent(
            f"The repayment exceeds the {due.outstanding_minor} minor units outstanding.",
            errors=[{"field": "amount", "message": "exceeds outstanding"}],
            outstanding_minor=due.outstanding_minor,
        )
    left = amount_minor
    to_fees = min(left, due.fees_minor)
    left -= to_fees
    to_interest = min(left, due.interest_minor)
    left -= to_interest
    to_principal = left
    after = Balance(
        due.principal_minor - to_principal,
        due.interest_minor - to_interest,
        due.fees_minor - to_fees,
        paid_on,
    )
    return after, Allocation(to_fees, to_interest, to_principal)


@dataclass(frozen=True, slots=True)
class Arrears:
    days_past_due: int
    overdue_minor: int
    in_arrears: bool


def arrears(
    schedule: Sequence[Instalment],
    repaid_minor: int,
    as_of: date,
    config: FinanceConfig = DEFAULT_CONFIG,
) -> Arrears:
    """How far behind the schedule `repaid_minor` (all repayments so far) is on `as_of`.

    Repayments fill instalments oldest first. An instalment is past due from the day after its due
    date; the application is in arrears once the oldest unpaid one is more than `grace_days` past
    due. Measured against the scheduled totals, so paying early (which accrues less interest) can
    only make a seller look more current, never less.
    """
    cumulative = 0
    oldest_unpaid: Instalment | None = None
    due_so_far = 0
    for instalment in schedule:
        cumulative += instalment.total_minor
        if instalment.due_on < as_of:
            due_so_far = cumulative
        if oldest_unpaid is None and cumulative > repaid_minor:
            oldest_unpaid = instalment
    if oldest_unpaid is None or oldest_unpaid.due_on >= as_of:
        return Arrears(0, 0, False)
    days = (as_of - oldest_unpaid.due_on).days
    return Arrears(days, due_so_far - repaid_minor, days > config.grace_days)


def guarantee_cover_minor(
    principal_minor: int,
    scheme: GuaranteeScheme,
    *,
    enhanced: bool = False,
    tenor_days: int,
    config: FinanceConfig = DEFAULT_CONFIG,
) -> int:
    """The part of the principal a guarantee scheme covers (BDF: 50%, 75% enhanced; EGF: 80%)."""
    terms = config.guarantees[scheme]
    if terms.max_tenor_days is not None and tenor_days > terms.max_tenor_days:
        raise UnprocessableContent(f"{scheme.value} covers tenors up to {terms.max_tenor_days} days, not {tenor_days}.")
    if enhanced and terms.enhanced_cover is None:
        raise UnprocessableContent(f"{scheme.value} has no enhanced cover.")
    cover = terms.enhanced_cover if enhanced and terms.enhanced_cover is not None else terms.cover
    return _half_even(cover * principal_minor)
