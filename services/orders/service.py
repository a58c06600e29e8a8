"""Orders use cases on the request path: place, read, cancel, landed-cost quotes.

Each command runs inside the one transaction its caller owns (CommandRunner) and only flushes. Prices,
sellers, weights and HS codes come from orders' own listing projection, never from the caller.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.orders import saga
from services.orders.context import EVENTS, OrdersContext
from services.orders.domain import (
    Action,
    BuyerContent,
    CustomsRegime,
    FreightQuote,
    LandedCost,
    LineContent,
    OrderContent,
    OrderStatus,
    PricedLine,
    china_landed_cost,
    order_fingerprint,
    resolve_reference,
)
from services.orders.models import ListingProjection, Order, OrderLine, QuoteProjection
from services.orders.repository import OrderRepository
from services.orders.schemas import (
    BuyerIn,
    BuyerOut,
    CancelIn,
    FxOut,
    HistoryOut,
    LandedCostLineOut,
    LandedCostOut,
    LandedCostRequest,
    LineIn,
    LineOut,
    Money,
    OrderCreate,
    OrderOut,
    RejectedLineOut,
    TransitionOut,
)
from shared.auth import Identity, Role
from shared.contracts import orders as events
from shared.db import utcnow
from shared.errors import FieldError, NotFound, invalid
from shared.money import format_minor, minor_units
from shared.pagination import Page, cursor_datetime, cursor_id, decode_cursor, fetch_size, keyset_page

#: Orders whose CBEC customs value counts against the buyer's annual limit.
COUNTED_FOR_CBEC = (OrderStatus.PENDING, OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
CN = "CN"
#: Order events carry amounts of at most 15 integer digits (shared/contracts/orders.py).
MAX_TOTAL = Decimal(10) ** 15


def money(amount_minor: int, currency: str) -> Money:
    return Money(amount=format_minor(amount_minor, currency), currency=currency)


def kilograms(grams: int) -> str:
    return f"{Decimal(grams).scaleb(-3):.3f}"


def buyer_key(marketplace_id: str, buyer: BuyerIn) -> str:
    """A stable pseudonymous buyer id: the same person at the same marketplace and city."""
    raw = "\x1f".join([marketplace_id, buyer.name.casefold(), buyer.country, buyer.city.casefold()])
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


# ==================================================================================================
# Views


def _line_out(line: OrderLine, currency: str) -> LineOut:
    return LineOut(
        line_id=line.line_id,
        listing_id=line.listing_id,
        seller_id=line.seller_id,
        sku=line.sku,
        title=line.title,
        hs_code=line.hs_code,
        quantity=line.quantity,
        unit_price=money(line.unit_price_minor, currency),
        line_value=money(line.line_value_minor, currency),
        unit_net_weight_g=line.unit_net_weight_g,
    )


def order_view(order: Order, lines: Sequence[OrderLine], identity: Identity) -> OrderOut:
    """The order as `identity` may see it: a seller sees only its own lines, their total, no address."""
    seller_view = identity.role is Role.SELLER
    shown = [line for line in lines if line.seller_id == identity.subject] if seller_view else list(lines)
    total = sum(line.line_value_minor for line in shown) if seller_view else order.total_minor
    rejected = [RejectedLineOut.model_validate(r) for r in order.rejected_lines] if order.rejected_lines else None
    if rejected is not None and seller_view:
        own = {line.line_id for line in shown}
        rejected = [r for r in rejected if r.line_id in own]
    return OrderOut(
        id=order.id,
        reference=order.reference,
        marketplace_id=order.marketplace_id,
        channel=order.channel,
        status=OrderStatus(order.status),
        reject_reason=order.reject_reason,
        rejected_lines=rejected,
        buyer=BuyerOut(
            name=order.buyer_name,
            country=order.buyer_country,
            city=order.buyer_city,
            address=None if seller_view else order.buyer_address,
            resident_id_type=None if seller_view else order.buyer_resident_id_type,
        ),
        lines=[_line_out(line, order.currency) for line in shown],
        total=money(total, order.currency),
        currency=order.currency,
        incoterm=order.incoterm,
        logistics_quote_id=order.logistics_quote_id,
        logistics_option_id=order.logistics_option_id,
        shipment_id=order.shipment_id,
        gross_weight_kg=kilograms(order.gross_weight_g),
        landed_cost=None if seller_view or not order.landed_cost else LandedCostOut.model_validate(order.landed_cost),
        placed_at=order.placed_at,
        updated_at=order.updated_at,
        version=order.version,
    )


def _visible(order: Order | None, lines: Sequence[OrderLine], identity: Identity) -> bool:
    if order is None:
        return False
    if identity.role is Role.MARKETPLACE:
        return order.marketplace_id == identity.subject
    if identity.role is Role.SELLER:
        return any(line.seller_id == identity.subject for line in lines)
    return identity.role is Role.OPS


async def _load_visible(repo: OrderRepository, order_id: str, identity: Identity) -> tuple[Order, list[OrderLine]]:
    order = await repo.get(order_id) if len(order_id) <= 36 else None
    lines = await repo.lines(order_id) if order is not None else []
    if order is None or not _visible(order, lines, identity):
        raise NotFound(f"Order {order_id} does not exist.")
    return order, lines


# ==================================================================================================
# Reads


async def get_order(session: AsyncSession, order_id: str, identity: Identity) -> OrderOut:
    order, lines = await _load_visible(OrderRepository(session), order_id, identity)
    return order_view(order, lines, identity)


async def history(session: AsyncSession, order_id: str, identity: Identity) -> HistoryOut:
    repo = OrderRepository(session)
    order, _ = await _load_visible(repo, order_id, identity)
    rows = await repo.history(order_id)
    return HistoryOut(
        order_id=order.id,
        status=OrderStatus(order.status),
        transitions=[
            TransitionOut(
                from_status=r.from_status,
                to_status=r.to_status,
                action=r.action,
                actor=r.actor,
                event_id=r.event_id,
                event_type=r.event_type,
                note=r.note,
                at=r.at,
            )
            for r in rows
        ],
    )


async def search(
    session: AsyncSession,
    identity: Identity,
    *,
    limit: int,
    cursor: str | None,
    status: OrderStatus | None,
    seller_id: str | None,
    marketplace_id: str | None,
    placed_from: datetime | None,
    placed_to: datetime | None,
) -> Page[OrderOut]:
    """Newest first. A marketplace sees only its own orders, a seller only orders with its lines."""
    if identity.role is Role.MARKETPLACE:
        if marketplace_id is not None and marketplace_id != identity.subject:
            return Page(items=[])
        marketplace_id = identity.subject
    if identity.role is Role.SELLER:
        if seller_id is not None and seller_id != identity.subject:
            return Page(items=[])
        seller_id = identity.subject
    after = None
    if cursor:
        pos = decode_cursor(cursor, ("t", "id"))
        after = (cursor_datetime(pos["t"]), cursor_id(pos["id"]))
    repo = OrderRepository(session)
    rows = await repo.search(
        limit=fetch_size(limit),
        after=after,
        status=status.value if status else None,
        marketplace_id=marketplace_id,
        seller_id=seller_id,
        placed_from=placed_from,
        placed_to=placed_to,
    )
    page, next_cursor = keyset_page(rows, limit, lambda o: {"t": o.placed_at.isoformat(), "id": o.id})
    lines = await repo.lines_of([o.id for o in page])
    items = [order_view(o, lines[o.id], identity) for o in page]
    return Page(items=items, next_cursor=next_cursor)


# ==================================================================================================
# Placing an order


def _marketplace_for(identity: Identity, given: str | None) -> str:
    if identity.role is Role.MARKETPLACE:
        if identity.subject is None:
            raise invalid([{"field": "marketplace_id", "reason": "this key is bound to no marketplace"}])
        if given is not None and given != identity.subject:
            raise invalid([{"field": "marketplace_id", "reason": "a marketplace places orders only for itself"}])
        return identity.subject
    if given is None:
        raise invalid([{"field": "marketplace_id", "reason": "required when ops place an order"}])
    return given


def _priced_listings(
    lines: Sequence[LineIn], listings: dict[str, ListingProjection], currency: str
) -> list[ListingProjection]:
    """Each line's listing, or a 422 naming every line whose listing cannot be ordered."""
    errors: list[FieldError] = []
    found: list[ListingProjection] = []
    for i, line in enumerate(lines):
        listing = listings.get(line.listing_id)
        field_name = f"lines.{i}.listing_id"
        if listing is None:
            errors.append({"field": field_name, "reason": "unknown listing"})
        elif listing.status != "published":
            errors.append({"field": field_name, "reason": f"listing is {listing.status}, not on sale"})
        elif listing.currency != currency:
            errors.append({"field": field_name, "reason": f"listing is priced in {listing.currency}, not {currency}"})
        else:
            found.append(listing)
    if errors:
        raise invalid(errors)
    return found


@dataclass(frozen=True)
class ChosenFreight:
    quote_id: str
    option_id: str | None
    total: Decimal
    currency: str


def choose_freight(
    quote: QuoteProjection | None, quote_id: str, option_id: str | None, buyer_country: str | None, now: datetime
) -> ChosenFreight:
    """The quote option the buyer chose, or a 422 naming why it cannot be used."""
    if quote is None:
        raise invalid([{"field": "logistics_quote_id", "reason": "unknown logistics quote"}])
    options = quote.options
    if not options:
        raise invalid([{"field": "logistics_quote_id", "reason": "the quote has no option to book"}])
    if option_id is None:
        if len(options) > 1:
            ids = ", ".join(o["option_id"] for o in options)
            raise invalid([{"field": "logistics_option_id", "reason": f"the quote has several options: {ids}"}])
        option = options[0]
    else:
        matching = [o for o in options if o["option_id"] == option_id]
        if not matching:
            raise invalid([{"field": "logistics_option_id", "reason": "not an option of this quote"}])
        option = matching[0]
    if datetime.fromisoformat(option["valid_until"]) < now:
        raise invalid([{"field": "logistics_quote_id", "reason": f"the quote expired at {option['valid_until']}"}])
    if buyer_country is not None and quote.destination[:2] != buyer_country:
        raise invalid([{"field": "logistics_quote_id", "reason": f"the quote ships to {quote.destination}"}])
    return ChosenFreight(quote_id, option_id, Decimal(option["total"]), option["currency"])


async def landed_cost_for(
    repo: OrderRepository,
    ctx: OrdersContext,
    priced: Sequence[tuple[str, ListingProjection, int]],
    currency: str,
    freight: ChosenFreight | None,
    buyer: str | None,
    now: datetime,
) -> tuple[LandedCostOut, LandedCost]:
    """China landed cost of `(line_id, listing, quantity)` lines; the buyer's year so far from its orders."""
    fx = ctx.to_cny(currency, "currency")
    freight_quote = freight_fx = None
    if freight is not None:
        freight_quote = FreightQuote(freight.quote_id, freight.total, freight.currency)
        if freight.currency not in {"CNY", currency}:
            freight_fx = ctx.to_cny(freight.currency, "logistics_quote_id")
    year_start = datetime(now.year, 1, 1, tzinfo=UTC)
    ytd = await repo.buyer_cbec_since(buyer, year_start, [s.value for s in COUNTED_FOR_CBEC]) if buyer else 0
    lines = [
        PricedLine(line_id, listing.hs_code, qty, Decimal(listing.price_minor).scaleb(-minor_units(currency)))
        for line_id, listing, qty in priced
    ]
    cost = china_landed_cost(
        lines,
        currency,
        fx,
        freight=freight_quote,
        freight_fx=freight_fx,
        buyer_year_to_date_cny=Decimal(ytd).scaleb(-2),
        rules=ctx.rules,
    )
    return _landed_out(cost, freight, ytd), cost


def _fx_out(fx: Any) -> FxOut:
    return FxOut(base=fx.base, quote=fx.quote, rate=str(fx.rate), source=fx.source, as_of=fx.as_of)


def _landed_out(cost: LandedCost, freight: ChosenFreight | None, ytd_minor: int) -> LandedCostOut:
    cny = "CNY"
    return LandedCostOut(
        regime=cost.regime.value,
        general_trade=cost.general_trade,
        goods_value=money(cost.goods_value_minor, cost.currency),
        customs_value=money(cost.customs_value_cny_minor, cny),
        tariff=money(cost.tariff_cny_minor, cny),
        vat=money(cost.vat_cny_minor, cny),
        consumption_tax=money(cost.consumption_tax_cny_minor, cny),
        tax=money(cost.tax_cny_minor, cny),
        freight=money(cost.freight_cny_minor, cny),
        freight_quote_id=cost.freight_quote_id,
        freight_option_id=freight.option_id if freight else None,
        landed=money(cost.landed_cny_minor, cny),
        buyer_year_to_date=money(ytd_minor, cny),
        fx=_fx_out(cost.fx),
        freight_fx=_fx_out(cost.freight_fx) if cost.freight_fx else None,
        lines=[
            LandedCostLineOut(
                line_id=line.line_id,
                hs_code=line.hs_code,
                goods_value=money(line.goods_value_minor, cost.currency),
                customs_value=money(line.customs_value_cny_minor, cny),
                tariff_rate=str(line.tariff_rate),
                vat_rate=str(line.vat_rate),
                consumption_tax_rate=str(line.consumption_tax_rate),
                tariff=money(line.tariff_cny_minor, cny),
                vat=money(line.vat_cny_minor, cny),
                consumption_tax=money(line.consumption_tax_cny_minor, cny),
            )
            for line in cost.lines
        ],
    )


def _content(body: OrderCreate) -> OrderContent:
    return OrderContent(
        channel=body.channel.value,
        currency=body.currency,
        buyer=BuyerContent(
            body.buyer.name,
            body.buyer.country,
            body.buyer.city,
            body.buyer.address,
            body.buyer.resident_id_type.value if body.buyer.resident_id_type else None,
        ),
        lines=tuple(LineContent(line.listing_id, line.quantity) for line in body.lines),
        logistics_quote_id=body.logistics_quote_id,
        incoterm=body.incoterm.value if body.incoterm else None,
        logistics_option_id=body.logistics_option_id,
    )


async def _existing(repo: OrderRepository, order: Order, fingerprint: str, identity: Identity) -> OrderOut:
    resolve_reference(order.fingerprint, fingerprint, order.reference)  # 409 for other content
    return order_view(order, await repo.lines(order.id), identity)


async def place_order(
    session: AsyncSession, body: OrderCreate, identity: Identity, ctx: OrdersContext
) -> tuple[OrderOut, bool]:
    """A new pending order and `order.placed` (True), or the order placed before under the reference."""
    marketplace_id = _marketplace_for(identity, body.marketplace_id)
    fingerprint = order_fingerprint(_content(body))
    repo = OrderRepository(session)
    before = await repo.by_reference(marketplace_id, body.reference)
    if before is not None:
        return await _existing(repo, before, fingerprint, identity), False

    now = utcnow()
    listings = await repo.listings(line.listing_id for line in body.lines)
    found = _priced_listings(body.lines, listings, body.currency)
    freight = None
    if body.logistics_quote_id is not None:
        quote = await repo.quote(body.logistics_quote_id)
        freight = choose_freight(quote, body.logistics_quote_id, body.logistics_option_id, body.buyer.country, now)

    order_id = str(uuid.uuid4())
    rows: list[dict[str, Any]] = []
    for i, (line, listing) in enumerate(zip(body.lines, found, strict=True), 1):
        rows.append(
            {
                "order_id": order_id,
                "line_id": str(i),
                "listing_id": listing.id,
                "seller_id": listing.seller_id,
                "sku": listing.sku,
                "title": listing.title,
                "hs_code": listing.hs_code,
                "category": listing.category,
                "quantity": line.quantity,
                "unit_price_minor": listing.price_minor,
                "line_value_minor": listing.price_minor * line.quantity,
                "unit_net_weight_g": listing.unit_net_weight_g,
                "listing_version": listing.version,
            }
        )
    total = sum(r["line_value_minor"] for r in rows)
    if body.expected_total is not None:
        shown = money(total, body.currency)
        expected = body.expected_total
        if expected.currency != body.currency or Decimal(expected.amount) != Decimal(shown.amount):
            reason = f"the order's total is {shown.amount} {shown.currency}"
            raise invalid([{"field": "expected_total", "reason": reason}])
    if total > 2**63 - 1 or Decimal(format_minor(total, body.currency)) >= MAX_TOTAL:
        raise invalid([{"field": "lines", "reason": "the order's total is too large"}])

    key = buyer_key(marketplace_id, body.buyer)
    landed: dict[str, Any] | None = None
    customs_minor = 0
    if body.buyer.country == CN:
        priced = [(r["line_id"], listing, r["quantity"]) for r, listing in zip(rows, found, strict=True)]
        out, cost = await landed_cost_for(repo, ctx, priced, body.currency, freight, key, now)
        landed = out.model_dump(mode="json")
        if cost.regime is not CustomsRegime.GENERAL_TRADE:
            customs_minor = cost.customs_value_cny_minor

    order = {
        "id": order_id,
        "marketplace_id": marketplace_id,
        "reference": body.reference,
        "fingerprint": fingerprint,
        "channel": body.channel.value,
        "currency": body.currency,
        "status": OrderStatus.PENDING.value,
        "reject_reason": None,
        "rejected_lines": None,
        "buyer_name": body.buyer.name,
        "buyer_country": body.buyer.country,
        "buyer_city": body.buyer.city,
        "buyer_address": body.buyer.address,
        "buyer_resident_id_type": body.buyer.resident_id_type.value if body.buyer.resident_id_type else None,
        "buyer_key": key,
        "incoterm": body.incoterm.value if body.incoterm else None,
        "logistics_quote_id": body.logistics_quote_id,
        "logistics_option_id": body.logistics_option_id,
        "shipment_id": None,
        "total_minor": total,
        "gross_weight_g": sum(r["unit_net_weight_g"] * r["quantity"] for r in rows),
        "landed_cost": landed,
        "customs_value_cny_minor": customs_minor,
        "placed_at": now,
        "deadline_at": now + ctx.rules.pending_timeout,
        "updated_at": now,
        "version": 1,
    }
    if not await repo.add_order(order, rows):
        # The same reference was placed by a concurrent request that committed first.
        raced = await repo.by_reference(marketplace_id, body.reference)
        assert raced is not None
        return await _existing(repo, raced, fingerprint, identity), False
    await repo.add_transition(saga.transition(order_id, None, OrderStatus.PENDING, "place", now, actor=identity.actor))
    await EVENTS.publish(
        session,
        events.OrderPlacedV1(
            order_id=order_id,
            occurred_at=now,
            marketplace_id=marketplace_id,
            lines=[
                events.OrderLine(
                    line_id=r["line_id"],
                    listing_id=r["listing_id"],
                    quantity=r["quantity"],
                    seller_id=r["seller_id"],
                    unit_price=format_minor(r["unit_price_minor"], body.currency),
                    line_value=format_minor(r["line_value_minor"], body.currency),
                )
                for r in rows
            ],
            channel=body.channel.value,
            currency=body.currency,
            total=format_minor(total, body.currency),
            buyer_country=body.buyer.country,
            buyer_city=body.buyer.city,
        ),
        subject=order_id,
    )
    # The view from what was just written (no read back: the row is exactly `order`).
    return order_view(Order(**order), [OrderLine(**r) for r in rows], identity), True


async def quote_landed_cost(
    session: AsyncSession, body: LandedCostRequest, identity: Identity, ctx: OrdersContext
) -> LandedCostOut:
    """The landed-cost breakdown an order to CN with these lines would record, without placing it."""
    repo = OrderRepository(session)
    listings = await repo.listings(line.listing_id for line in body.lines)
    found = _priced_listings(body.lines, listings, body.currency)
    now = utcnow()
    freight = None
    if body.logistics_quote_id is not None:
        quote = await repo.quote(body.logistics_quote_id)
        freight = choose_freight(quote, body.logistics_quote_id, body.logistics_option_id, CN, now)
    key = None
    if body.buyer is not None:
        if body.buyer.country != CN:
            raise invalid([{"field": "buyer.country", "reason": "landed cost is computed for buyers in CN"}])
        marketplace = body.marketplace_id or (identity.subject if identity.role is Role.MARKETPLACE else None)
        key = buyer_key(marketplace or "", body.buyer)
    pairs = zip(body.lines, found, strict=True)
    priced = [(str(i), listing, line.quantity) for i, (line, listing) in enumerate(pairs, 1)]
    out, _ = await landed_cost_for(repo, ctx, priced, body.currency, freight, key, now)
    return out


# ==================================================================================================
# Cancelling


async def cancel(session: AsyncSession, order_id: str, body: CancelIn, identity: Identity) -> OrderOut:
    """Cancel before dispatch (marketplace: its own; ops: any); the stock is released by catalogue."""
    repo = OrderRepository(session)
    await _load_visible(repo, order_id, identity)
    await saga.apply(session, order_id, Action.CANCEL, actor=identity.actor, note=body.reason)
    order, lines = await _load_visible(repo, order_id, identity)
    return order_view(order, lines, identity)
