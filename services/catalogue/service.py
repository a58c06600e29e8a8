"""Catalogue use cases. Each runs inside the one transaction its caller owns and only flushes.

Every use case that writes listings starts with `repo.lock_writes()` (see `repository`), and every
change a marketplace can see (content, price, stock, publication, withdrawal) appends a change-log
row in the same transaction, so the feed and the listings never disagree.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.domain import (
    CATEGORIES,
    Category,
    ChangeOp,
    ListingFacts,
    ListingStatus,
    OutOfStockPolicy,
    Rate,
    RejectReason,
    ReservationStatus,
    SellerStatus,
    StockReason,
    WithdrawReason,
    allowed_hs_prefixes,
    attribute_specs,
    availability,
    category_label,
    check_listing,
    convert,
    next_status,
    publication_problems,
)
from services.catalogue.feed import FeedRenderer, decode_feed_cursor, encode_feed_cursor
from services.catalogue.models import (
    FxRate,
    FxRateHistory,
    Listing,
    Reservation,
    ReservationLine,
    SellerProjection,
    StockAdjustment,
)
from services.catalogue.repository import FEED_VERSION, CatalogueRepository, SearchFilters
from services.catalogue.schemas import (
    AttributeOut,
    CategoriesOut,
    CategoryOut,
    DimensionsOut,
    DisplayPrice,
    FxRateIn,
    FxRateOut,
    FxRatesOut,
    ListingCreate,
    ListingOut,
    ListingSort,
    ListingUpdate,
    StockAdjustmentIn,
    StockAdjustmentOut,
    StockLevel,
    StockOut,
)
from shared.auth import Identity, Role, ensure_seller_access
from shared.contracts import catalogue as events
from shared.contracts.orders import OrderPlacedV1
from shared.db import utcnow
from shared.errors import (
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    Gone,
    NotFound,
    PreconditionFailed,
    UnprocessableContent,
)
from shared.money import Money, format_minor, minor_units
from shared.outbox import publish
from shared.pagination import Page, decode_cursor, encode_cursor

SOURCE = "/ewtp/catalogue"
SNAPSHOT_PATH = "/v1/feeds/listings"
#: How many stock adjustments `GET /stock` shows.
RECENT_ADJUSTMENTS = 20
#: How far in the future an FX `as_of` may lie (clock skew between ops' machine and ours).
FX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class CatalogueContext:
    """Configuration the use cases need (from `CatalogueSettings`), built once per app."""

    renderer: FeedRenderer
    display_currencies: tuple[str, ...] = ("CNY", "RWF")
    retention: timedelta = timedelta(days=30)
    chunk_size: int = 1000


def _invalid(errors: Sequence[FieldError]) -> UnprocessableContent:
    names = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return UnprocessableContent(f"Invalid fields: {names}.", errors=list(errors))


# ------------------------------------------------------------------------------------------ output


async def _rate_table(repo: CatalogueRepository) -> dict[tuple[str, str], Rate]:
    return {(r.base, r.quote): Rate(r.base, r.quote, Decimal(r.rate), r.source, r.as_of) for r in await repo.fx_rates()}


def _display_prices(
    listing: Listing, rates: Mapping[tuple[str, str], Rate], currencies: Sequence[str]
) -> dict[str, DisplayPrice]:
    shown: dict[str, DisplayPrice] = {}
    for target in currencies:
        converted = convert(listing.price_minor, listing.currency, target, rates)
        if converted is None:
            continue
        shown[target] = DisplayPrice(
            amount=format_minor(converted.amount_minor, target),
            currency=target,
            amount_minor=converted.amount_minor,
            rate=format(converted.rate, "f"),
            source=converted.source,
            as_of=converted.as_of,
        )
    return shown


def stock_level(listing: Listing) -> StockLevel:
    shown = availability(listing.on_hand, listing.reserved, listing.out_of_stock_policy)
    return StockLevel(
        on_hand=listing.on_hand,
        reserved=listing.reserved,
        available=max(listing.on_hand - listing.reserved, 0),
        availability=shown,
        availability_date=listing.availability_date,
        out_of_stock_policy=OutOfStockPolicy(listing.out_of_stock_policy),
    )


def listing_out(listing: Listing, rates: Mapping[tuple[str, str], Rate], ctx: CatalogueContext) -> ListingOut:
    return ListingOut(
        id=listing.id,
        seller_id=listing.seller_id,
        sku=listing.sku,
        title=listing.title,
        description=listing.description,
        category=listing.category,
        product_type=category_label(listing.category),
        hs_code=listing.hs_code,
        national_tariff_code=listing.national_tariff_code,
        price=Money.from_minor(listing.price_minor, listing.currency),
        display_prices=_display_prices(listing, rates, ctx.display_currencies),
        unit_net_weight_g=listing.unit_net_weight_g,
        packed_dimensions=DimensionsOut(
            length_cm=listing.length_mm / 10, width_cm=listing.width_mm / 10, height_cm=listing.height_mm / 10
        ),
        condition=listing.condition,
        brand=listing.brand,
        gtin=listing.gtin,
        mpn=listing.mpn,
        identifier_exists=listing.identifier_exists,
        images=listing.images,
        image_link=listing.images[0] if listing.images else None,
        origin_country=listing.origin_country,
        attributes=listing.attributes,
        certifications=listing.certifications,
        status=ListingStatus(listing.status),
        withdrawn_reason=listing.withdrawn_reason,
        stock=stock_level(listing),
        version=listing.version,
        created_at=listing.created_at,
        updated_at=listing.updated_at,
        published_at=listing.published_at,
    )


async def _out(repo: CatalogueRepository, listing: Listing, ctx: CatalogueContext) -> ListingOut:
    return listing_out(listing, await _rate_table(repo), ctx)


def _listing_event(cls: type[events._ListingEvent], listing: Listing, at: datetime, **extra: Any) -> Any:
    return cls(
        listing_id=listing.id,
        seller_id=listing.seller_id,
        sku=listing.sku,
        title=listing.title,
        price=events.LinePrice(amount=format_minor(listing.price_minor, listing.currency), currency=listing.currency),
        hs_code=listing.hs_code,
        unit_net_weight_g=listing.unit_net_weight_g,
        status=listing.status,
        version=listing.version,
        occurred_at=at,
        **extra,
    )


def _change(listing_id: str, op: ChangeOp, version: int, at: datetime, reason: str | None = None) -> dict[str, Any]:
    return {"listing_id": listing_id, "op": op.value, "version": version, "reason": reason, "changed_at": at}


# ------------------------------------------------------------------------------------------ access


async def _load(repo: CatalogueRepository, listing_id: str, identity: Identity) -> Listing:
    """A listing the caller may manage: its seller's own, or any for ops."""
    listing = await repo.get_listing(listing_id)
    if listing is None or (listing.status == ListingStatus.DELETED and identity.role is not Role.OPS):
        raise NotFound(f"Listing {listing_id} does not exist.")
    ensure_seller_access(identity, listing.seller_id)
    return listing


def _check_if_match(if_match: str | None, version: int) -> None:
    if if_match is None:
        return
    tags = {t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")}
    if "*" not in tags and str(version) not in tags:
        raise PreconditionFailed(
            f"The listing is at version {version}; reload it and apply your change again.", current_version=version
        )


# ------------------------------------------------------------------------------------------ listings


def _facts(values: Mapping[str, Any]) -> ListingFacts:
    return ListingFacts(
        category=values["category"],
        hs_code=values["hs_code"],
        national_tariff_code=values["national_tariff_code"],
        attributes=values["attributes"],
        gtin=values["gtin"],
        mpn=values["mpn"],
        brand=values["brand"],
        identifier_exists=values["identifier_exists"],
        out_of_stock_policy=OutOfStockPolicy(values["out_of_stock_policy"]),
        availability_date=values["availability_date"],
        images=values["images"],
        description=values["description"],
    )


def _column_values(body: ListingCreate | ListingUpdate, fields: set[str]) -> dict[str, Any]:
    """The listing columns set by the given request fields."""
    values: dict[str, Any] = {}
    for name in fields:
        value = getattr(body, name)
        if name == "price":
            values["price_minor"], values["currency"] = value.minor, value.currency
        elif name == "packed_dimensions":
            values["length_mm"] = int(value.length_cm * 10)
            values["width_mm"] = int(value.width_cm * 10)
            values["height_mm"] = int(value.height_cm * 10)
        elif name == "images":
            values["images"] = [str(u) for u in value]
        elif name == "certifications":
            values["certifications"] = [c.value for c in value]
        elif name in {"condition", "out_of_stock_policy"}:
            values[name] = value.value
        elif name not in {"seller_id", "on_hand"}:
            values[name] = value
    return values


async def create_listing(
    session: AsyncSession, body: ListingCreate, identity: Identity, ctx: CatalogueContext
) -> ListingOut:
    if identity.role is Role.SELLER:
        if body.seller_id is not None and body.seller_id != identity.subject:
            raise Forbidden("A seller creates listings only for its own account.")
        seller_id = identity.subject or ""
    elif body.seller_id is None:
        raise _invalid([{"field": "seller_id", "reason": "required when ops create a listing"}])
    else:
        seller_id = body.seller_id
    ensure_seller_access(identity, seller_id)
    repo = CatalogueRepository(session)
    values = _column_values(body, set(ListingCreate.model_fields))
    attributes, errors = check_listing(_facts(values))
    if errors:
        raise _invalid(errors)
    await repo.lock_writes()
    if await repo.sku_owner(seller_id, body.sku):
        raise Conflict(f"SKU {body.sku} is already used by another of this seller's listings.", field="sku")
    now = utcnow()
    listing = Listing(
        id=str(uuid.uuid4()),
        seller_id=seller_id,
        **{**values, "attributes": attributes},
        status=ListingStatus.DRAFT.value,
        withdrawn_reason=None,
        on_hand=body.on_hand,
        reserved=0,
        version=1,
        created_at=now,
        updated_at=now,
        published_at=None,
    )
    await repo.add_listing(listing)
    if body.on_hand:
        await repo.add_adjustment(
            StockAdjustment(
                listing_id=listing.id,
                delta=body.on_hand,
                on_hand_after=body.on_hand,
                reason=StockReason.STOCK_COUNT.value,
                note="initial stock",
                actor=identity.actor,
                at=now,
            )
        )
    return await _out(repo, listing, ctx)


async def update_listing(
    session: AsyncSession,
    listing_id: str,
    body: ListingUpdate,
    identity: Identity,
    ctx: CatalogueContext,
    if_match: str | None = None,
) -> ListingOut:
    repo = CatalogueRepository(session)
    await repo.lock_writes()
    listing = await _load(repo, listing_id, identity)
    if listing.status == ListingStatus.DELETED:
        raise Conflict("A deleted listing cannot be changed.")
    _check_if_match(if_match, listing.version)
    changes = _column_values(body, set(body.model_fields_set))
    current = {c: getattr(listing, c) for c in _LISTING_COLUMNS}
    merged = {**current, **changes}
    attributes, errors = check_listing(_facts(merged))
    if listing.status == ListingStatus.PUBLISHED:
        errors += publication_problems(_facts(merged))
    if errors:
        raise _invalid(errors)
    merged["attributes"] = attributes
    changed = {k: v for k, v in merged.items() if current[k] != v}
    if not changed:
        return await _out(repo, listing, ctx)
    if "sku" in changed and await repo.sku_owner(listing.seller_id, changed["sku"]):
        raise Conflict(f"SKU {changed['sku']} is already used by another of this seller's listings.", field="sku")
    now = utcnow()
    for name, value in changed.items():
        setattr(listing, name, value)
    listing.version += 1
    listing.updated_at = now
    await repo.flush()
    if listing.status == ListingStatus.PUBLISHED:
        await repo.log_changes([_change(listing.id, ChangeOp.UPSERT, listing.version, now)])
        await publish(session, _listing_event(events.ListingUpdatedV1, listing, now), source=SOURCE, subject=listing.id)
    return await _out(repo, listing, ctx)


_LISTING_COLUMNS = (
    "sku",
    "title",
    "description",
    "category",
    "hs_code",
    "national_tariff_code",
    "price_minor",
    "currency",
    "unit_net_weight_g",
    "length_mm",
    "width_mm",
    "height_mm",
    "condition",
    "brand",
    "gtin",
    "mpn",
    "identifier_exists",
    "images",
    "attributes",
    "certifications",
    "origin_country",
    "out_of_stock_policy",
    "availability_date",
)


async def publish_listing(
    session: AsyncSession, listing_id: str, identity: Identity, ctx: CatalogueContext
) -> ListingOut:
    repo = CatalogueRepository(session)
    await repo.lock_writes()
    listing = await _load(repo, listing_id, identity)
    target = next_status(ListingStatus(listing.status), "publish")
    seller = await repo.get_seller(listing.seller_id)
    if seller is None or seller.status != SellerStatus.VERIFIED:
        known = seller.status if seller else "not yet known to the catalogue"
        raise Conflict(
            f"Only a verified seller can publish; seller {listing.seller_id} is {known}.",
            seller_status=seller.status if seller else None,
        )
    problems = publication_problems(_facts({c: getattr(listing, c) for c in _LISTING_COLUMNS}))
    if problems:
        raise _invalid(problems)
    now = utcnow()
    listing.status = target.value
    listing.withdrawn_reason = None
    listing.published_at = now
    listing.updated_at = now
    listing.version += 1
    await repo.flush()
    await repo.log_changes([_change(listing.id, ChangeOp.UPSERT, listing.version, now)])
    await publish(session, _listing_event(events.ListingPublishedV1, listing, now), source=SOURCE, subject=listing.id)
    return await _out(repo, listing, ctx)


async def _take_down(
    session: AsyncSession, repo: CatalogueRepository, listings: Sequence[Listing], target: ListingStatus, reason: str
) -> None:
    """Take listings off the marketplaces: new status, tombstones for the published ones, events."""
    now = utcnow()
    changes = []
    for listing in listings:
        was_published = listing.status == ListingStatus.PUBLISHED
        listing.status = target.value
        listing.withdrawn_reason = reason
        listing.updated_at = now
        listing.version += 1
        if was_published:
            changes.append(_change(listing.id, ChangeOp.DELETE, listing.version, now, reason))
    await repo.flush()
    await repo.log_changes(changes)
    withdrawn = {c["listing_id"] for c in changes}
    for listing in listings:
        if listing.id in withdrawn:
            await publish(
                session,
                _listing_event(events.ListingWithdrawnV1, listing, now, reason=reason),
                source=SOURCE,
                subject=listing.id,
            )


async def withdraw_listing(
    session: AsyncSession, listing_id: str, identity: Identity, ctx: CatalogueContext
) -> ListingOut:
    repo = CatalogueRepository(session)
    await repo.lock_writes()
    listing = await _load(repo, listing_id, identity)
    target = next_status(ListingStatus(listing.status), "withdraw")
    await _take_down(session, repo, [listing], target, WithdrawReason.SELLER.value)
    return await _out(repo, listing, ctx)


async def delete_listing(
    session: AsyncSession, listing_id: str, identity: Identity, ctx: CatalogueContext
) -> ListingOut:
    """A soft delete: the row stays (reservations and history point at it), the SKU stays taken."""
    repo = CatalogueRepository(session)
    await repo.lock_writes()
    listing = await _load(repo, listing_id, identity)
    target = next_status(ListingStatus(listing.status), "delete")
    await _take_down(session, repo, [listing], target, WithdrawReason.DELETED.value)
    return await _out(repo, listing, ctx)


async def get_listing(session: AsyncSession, listing_id: str, identity: Identity, ctx: CatalogueContext) -> ListingOut:
    repo = CatalogueRepository(session)
    listing = await repo.get_listing(listing_id)
    # Partner apps and marketplaces see what is on sale, nothing else.
    on_sale_only = identity.role not in (Role.OPS, Role.SELLER)
    if listing is not None and on_sale_only and listing.status != ListingStatus.PUBLISHED:
        listing = None
    if listing is None or (listing.status == ListingStatus.DELETED and identity.role is not Role.OPS):
        raise NotFound(f"Listing {listing_id} does not exist.")
    if identity.role is Role.SELLER:
        ensure_seller_access(identity, listing.seller_id)
    return await _out(repo, listing, ctx)


# ------------------------------------------------------------------------------------------ search

_SORTS: dict[ListingSort, list[tuple[Any, bool]]] = {
    ListingSort.NEWEST: [(Listing.created_at, True), (Listing.id, True)],
    ListingSort.OLDEST: [(Listing.created_at, False), (Listing.id, False)],
    ListingSort.PRICE_ASC: [(Listing.price_minor, False), (Listing.id, False)],
    ListingSort.PRICE_DESC: [(Listing.price_minor, True), (Listing.id, True)],
    ListingSort.TITLE: [(Listing.title, False), (Listing.id, False)],
}

_VISIBLE_TO_OWNERS = (ListingStatus.DRAFT.value, ListingStatus.PUBLISHED.value, ListingStatus.WITHDRAWN.value)


def _sort_key(listing: Listing, sort: ListingSort) -> list[Any]:
    if sort in (ListingSort.NEWEST, ListingSort.OLDEST):
        return [listing.created_at.isoformat(), listing.id]
    if sort in (ListingSort.PRICE_ASC, ListingSort.PRICE_DESC):
        return [listing.price_minor, listing.id]
    return [listing.title, listing.id]


def _decode_sort_key(cursor: str, sort: ListingSort) -> list[Any]:
    position = decode_cursor(cursor, ("s", "k"))
    key = position["k"]
    malformed = BadRequest("Malformed cursor; pass back the next_cursor you were given with the same sort.")
    if position["s"] != sort.value or not isinstance(key, list) or len(key) != 2 or not isinstance(key[1], str):
        raise malformed
    try:
        if sort in (ListingSort.NEWEST, ListingSort.OLDEST):
            parsed = datetime.fromisoformat(key[0])
            if parsed.tzinfo is None:
                raise ValueError("naive")
            return [parsed, key[1]]
        if sort in (ListingSort.PRICE_ASC, ListingSort.PRICE_DESC):
            if isinstance(key[0], bool) or not isinstance(key[0], int):
                raise ValueError("not an int")
            return key
        if not isinstance(key[0], str):
            raise ValueError("not a str")
        return key
    except (TypeError, ValueError):
        raise malformed from None


def _price_bound(value: str | None, currency: str | None, name: str) -> int | None:
    if value is None:
        return None
    assert currency is not None
    try:
        amount = Decimal(value)
        Money(amount=value, currency=currency)
    except (InvalidOperation, ValueError):
        places = minor_units(currency)
        raise _invalid(
            [{"field": name, "reason": f"must be a non-negative amount with at most {places} decimal places"}]
        ) from None
    return int(amount.scaleb(minor_units(currency)))


async def search(
    session: AsyncSession,
    identity: Identity,
    ctx: CatalogueContext,
    *,
    limit: int,
    cursor: str | None,
    sort: ListingSort,
    category: str | None,
    seller_id: str | None,
    hs_code: str | None,
    q: str | None,
    currency: str | None,
    min_price: str | None,
    max_price: str | None,
    availability_filter: str | None,
    status: ListingStatus | None,
) -> Page[ListingOut]:
    errors: list[FieldError] = []
    if category is not None and category not in CATEGORIES:
        errors.append({"field": "category", "reason": "unknown category; see GET /v1/categories"})
    price_sort = sort in (ListingSort.PRICE_ASC, ListingSort.PRICE_DESC)
    if currency is None and (min_price is not None or max_price is not None or price_sort):
        errors.append({"field": "currency", "reason": "required to filter or sort by price"})
    if currency is not None:
        try:
            minor_units(currency)
        except ValueError as exc:
            errors.append({"field": "currency", "reason": str(exc)})
    if errors:
        raise _invalid(errors)
    low = _price_bound(min_price, currency, "min_price")
    high = _price_bound(max_price, currency, "max_price")

    if identity.role is Role.OPS:
        statuses: Sequence[str] = [status.value] if status else _VISIBLE_TO_OWNERS
    elif identity.role is Role.SELLER:
        if seller_id is not None and seller_id != identity.subject:
            raise Forbidden("A seller lists only its own listings.")
        seller_id = identity.subject
        if status is ListingStatus.DELETED:
            raise Forbidden("Deleted listings are visible to ops only.")
        statuses = [status.value] if status else _VISIBLE_TO_OWNERS
    else:
        if status is not None and status is not ListingStatus.PUBLISHED:
            raise Forbidden("Only published listings are visible to this role.")
        statuses = [ListingStatus.PUBLISHED.value]

    filters = SearchFilters(
        statuses=statuses,
        seller_id=seller_id,
        category=category,
        hs_prefix=hs_code,
        text=q,
        currency=currency,
        min_price_minor=low,
        max_price_minor=high,
        availability=availability_filter,
    )
    after = _decode_sort_key(cursor, sort) if cursor else None
    repo = CatalogueRepository(session)
    listings = await repo.search(filters, order=_SORTS[sort], after=after, limit=limit + 1)
    next_cursor = None
    if len(listings) > limit:
        listings = listings[:limit]
        next_cursor = encode_cursor({"s": sort.value, "k": _sort_key(listings[-1], sort)})
    rates = await _rate_table(repo)
    return Page[ListingOut](items=[listing_out(x, rates, ctx) for x in listings], next_cursor=next_cursor)


# ------------------------------------------------------------------------------------------ categories


def _category_out(node: Category) -> CategoryOut:
    return CategoryOut(
        id=node.id,
        name=node.name,
        path=category_label(node.id),
        parent=node.parent,
        leaf=node.is_leaf,
        hs_prefixes=list(allowed_hs_prefixes(node.id)),
        attributes=[AttributeOut(**spec.describe()) for spec in attribute_specs(node.id).values()],
        children=[_category_out(CATEGORIES[c]) for c in node.children],
    )


def categories() -> CategoriesOut:
    return CategoriesOut(items=[_category_out(c) for c in CATEGORIES.values() if c.parent is None])


def category(category_id: str) -> CategoryOut:
    node = CATEGORIES.get(category_id)
    if node is None:
        raise NotFound(f"Category {category_id} does not exist.")
    return _category_out(node)


# ------------------------------------------------------------------------------------------ stock


def _adjustment_out(a: StockAdjustment) -> StockAdjustmentOut:
    return StockAdjustmentOut(
        id=a.id, delta=a.delta, on_hand_after=a.on_hand_after, reason=a.reason, note=a.note, actor=a.actor, at=a.at
    )


async def _stock_out(repo: CatalogueRepository, listing: Listing) -> StockOut:
    recent = await repo.adjustments(listing.id, RECENT_ADJUSTMENTS)
    return StockOut(
        listing_id=listing.id,
        version=listing.version,
        stock=stock_level(listing),
        recent_adjustments=[_adjustment_out(a) for a in recent],
    )


async def get_stock(session: AsyncSession, listing_id: str, identity: Identity) -> StockOut:
    repo = CatalogueRepository(session)
    return await _stock_out(repo, await _load(repo, listing_id, identity))


async def adjust_stock(session: AsyncSession, listing_id: str, body: StockAdjustmentIn, identity: Identity) -> StockOut:
    if (body.delta is None) == (body.on_hand is None):
        raise _invalid([{"field": "delta", "reason": "give exactly one of delta or on_hand"}])
    if body.delta == 0:
        raise _invalid([{"field": "delta", "reason": "must not be zero"}])
    repo = CatalogueRepository(session)
    await repo.lock_writes()
    listing = await _load(repo, listing_id, identity)
    if listing.status == ListingStatus.DELETED:
        raise Conflict("A deleted listing has no stock to adjust.")
    delta = body.delta if body.delta is not None else (body.on_hand or 0) - listing.on_hand
    field_name = "delta" if body.delta is not None else "on_hand"
    now = utcnow()
    if delta != 0:
        row = await repo.adjust_on_hand(listing.id, delta, now)
        if row is None:
            raise _invalid(
                [
                    {
                        "field": field_name,
                        "reason": f"would leave on hand at {listing.on_hand + delta}, below the "
                        f"{listing.reserved} reserved for orders (or below zero)",
                    }
                ]
            )
        if row.status == ListingStatus.PUBLISHED:
            await repo.log_changes([_change(listing.id, ChangeOp.UPSERT, row.version, now)])
    listing = await repo.get_listing(listing_id) or listing
    await repo.add_adjustment(
        StockAdjustment(
            listing_id=listing.id,
            delta=delta,
            on_hand_after=listing.on_hand,
            reason=body.reason.value,
            note=body.note,
            actor=identity.actor,
            at=now,
        )
    )
    return await _stock_out(repo, listing)


# ------------------------------------------------------------------------------------------ FX


def _fx_out(rate: FxRate) -> FxRateOut:
    return FxRateOut(
        base=rate.base,
        quote=rate.quote,
        rate=rate.rate,
        source=rate.source,
        as_of=rate.as_of,
        set_by=rate.set_by,
        updated_at=rate.updated_at,
    )


async def set_fx_rate(session: AsyncSession, body: FxRateIn, identity: Identity) -> FxRateOut:
    now = utcnow()
    if body.as_of > now + FX_CLOCK_SKEW:
        raise _invalid([{"field": "as_of", "reason": "must not lie in the future"}])
    repo = CatalogueRepository(session)
    await repo.lock_writes()
    current = next((r for r in await repo.fx_rates() if (r.base, r.quote) == (body.base, body.quote)), None)
    if current is not None and body.as_of < current.as_of:
        raise Conflict(
            f"A newer {body.base}/{body.quote} rate (as of {current.as_of.isoformat()}) is already set.",
            current_as_of=current.as_of.isoformat(),
        )
    rate_text = format(body.rate.normalize(), "f")
    values = {
        "base": body.base,
        "quote": body.quote,
        "rate": rate_text,
        "source": body.source,
        "as_of": body.as_of,
        "set_by": identity.actor,
    }
    stored = await repo.put_fx_rate(FxRate(**values, updated_at=now), FxRateHistory(**values, at=now))
    return _fx_out(stored)


async def fx_rates(session: AsyncSession) -> FxRatesOut:
    return FxRatesOut(items=[_fx_out(r) for r in await CatalogueRepository(session).fx_rates()])


# ------------------------------------------------------------------------------------------ feed


async def feed_changes(session: AsyncSession, cursor: str, limit: int, ctx: CatalogueContext) -> dict[str, Any]:
    """Changes after `cursor`, in seq order: upserts with the current item, tombstones without.

    Within a page only the last row of each listing is kept (the earlier ones are superseded), and
    an upsert whose listing is no longer published is dropped: its tombstone follows later.
    """
    after = decode_feed_cursor(cursor)
    repo = CatalogueRepository(session)
    pruned = await repo.pruned_through()
    if after < pruned:
        raise Gone(
            "This cursor is older than the change log's retention window; take a new snapshot "
            f"(GET {SNAPSHOT_PATH}) and read changes from its X-Feed-Cursor.",
            snapshot=SNAPSHOT_PATH,
        )
    if after > await repo.high_water():
        raise Gone(
            f"This cursor is ahead of the change log (the feed was reset); take a new snapshot (GET {SNAPSHOT_PATH}).",
            snapshot=SNAPSHOT_PATH,
        )
    rows = list(await repo.changes_after(after, limit + 1))
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_seq = rows[-1].seq if rows else after
    last: dict[str, Any] = {}
    for row in rows:
        last.pop(row.listing_id, None)
        last[row.listing_id] = row
    upserts = [r.listing_id for r in last.values() if r.op == ChangeOp.UPSERT]
    current = await repo.published_rows(upserts)
    items: list[dict[str, Any]] = []
    for row in last.values():
        entry = {"seq": row.seq, "op": row.op, "listing_id": row.listing_id, "changed_at": row.changed_at}
        if row.op == ChangeOp.UPSERT:
            found = current.get(row.listing_id)
            if found is None:
                continue
            items.append({**entry, "version": found[FEED_VERSION], "reason": None, "item": ctx.renderer.item(found)})
        else:
            items.append({**entry, "version": row.version, "reason": row.reason, "item": None})
    return {"items": items, "next_cursor": encode_feed_cursor(next_seq), "has_more": has_more}


async def prune_feed(session: AsyncSession, retention: timedelta, now: datetime | None = None) -> int:
    """Delete change-log rows older than `retention`; cursors before them then get 410 Gone."""
    cutoff = (now or utcnow()) - retention
    return await CatalogueRepository(session).prune_changes(cutoff)


# ------------------------------------------------------------------------------------------ sellers


async def apply_seller_status(
    session: AsyncSession, seller_id: str, legal_name: str, status: SellerStatus, occurred_at: datetime
) -> None:
    """Keep the seller projection; a suspension takes all the seller's published listings down."""
    repo = CatalogueRepository(session)
    await repo.lock_writes()
    now = utcnow()
    seller = await repo.get_seller(seller_id)
    if seller is None:
        await repo.add_seller(
            SellerProjection(
                id=seller_id, legal_name=legal_name, status=status.value, status_at=occurred_at, updated_at=now
            )
        )
    elif occurred_at < seller.status_at:
        return  # an older event than the one already applied
    else:
        seller.legal_name = legal_name
        seller.status = status.value
        seller.status_at = occurred_at
        seller.updated_at = now
        await repo.flush()
    if status is SellerStatus.SUSPENDED:
        listings = await repo.published_of_seller(seller_id)
        await _take_down(session, repo, listings, ListingStatus.WITHDRAWN, WithdrawReason.SELLER_SUSPENDED.value)


# ------------------------------------------------------------------------------------------ reservations


class _NotReservable(Exception):
    pass


def _requested(order: OrderPlacedV1) -> dict[str, int]:
    wanted: dict[str, int] = {}
    for line in order.lines:
        wanted[line.listing_id] = wanted.get(line.listing_id, 0) + line.quantity
    return wanted


async def reserve_for_order(session: AsyncSession, order: OrderPlacedV1) -> bool:
    """Reserve every line of the order or none; emit stock.reserved or stock.rejected. True if reserved.

    Each listing's stock moves by one conditional UPDATE (`on_hand - reserved >= :q`), so no
    interleaving can oversell. The attempt runs in a savepoint: if any line cannot be reserved, the
    lines already reserved are rolled back and the rejection (with a reason per failing line) is
    recorded instead, in the same transaction as the consumer's inbox row.
    """
    repo = CatalogueRepository(session)
    await repo.lock_writes()
    if await repo.get_reservation(order.order_id) is not None:
        return False  # this order was already decided (a second order.placed for it)
    now = utcnow()
    wanted = _requested(order)
    versions: dict[str, int] = {}
    try:
        async with session.begin_nested():
            for listing_id in sorted(wanted):
                version = await repo.try_reserve(listing_id, wanted[listing_id], now)
                if version is None:
                    raise _NotReservable(listing_id)
                versions[listing_id] = version
    except _NotReservable:
        await _reject(session, repo, order, wanted, now)
        return False
    await repo.log_changes([_change(lid, ChangeOp.UPSERT, v, now) for lid, v in versions.items()])
    await repo.add_reservation(
        Reservation(
            order_id=order.order_id,
            marketplace_id=order.marketplace_id,
            status=ReservationStatus.RESERVED.value,
            release_reason=None,
            created_at=now,
            updated_at=now,
        ),
        [
            ReservationLine(
                order_id=order.order_id, line_id=line.line_id, listing_id=line.listing_id, quantity=line.quantity
            )
            for line in order.lines
        ],
    )
    reserved = [
        events.ReservedLine(line_id=line.line_id, listing_id=line.listing_id, quantity=line.quantity)
        for line in order.lines
    ]
    await publish(
        session,
        events.StockReservedV1(order_id=order.order_id, occurred_at=now, lines=reserved),
        source=SOURCE,
        subject=order.order_id,
    )
    return True


async def _reject(
    session: AsyncSession, repo: CatalogueRepository, order: OrderPlacedV1, wanted: Mapping[str, int], now: datetime
) -> None:
    facts = await repo.stock_facts(list(wanted))
    rejected: list[events.RejectedLine] = []
    for line in order.lines:
        found = facts.get(line.listing_id)
        reason: RejectReason | None
        available: int | None = None
        if found is None:
            reason = RejectReason.UNKNOWN_LISTING
        elif found[0] != ListingStatus.PUBLISHED:
            reason = RejectReason.NOT_PUBLISHED
        else:
            available = max(found[1] - found[2], 0)
            reason = RejectReason.INSUFFICIENT_STOCK if available < wanted[line.listing_id] else None
        if reason is not None:
            rejected.append(
                events.RejectedLine(
                    line_id=line.line_id,
                    listing_id=line.listing_id,
                    quantity=line.quantity,
                    reason=reason.value,
                    available=available,
                )
            )
    if not rejected:  # cannot happen while writers are serialised; say so rather than reject silently
        rejected = [
            events.RejectedLine(
                line_id=line.line_id,
                listing_id=line.listing_id,
                quantity=line.quantity,
                reason=RejectReason.INSUFFICIENT_STOCK.value,
            )
            for line in order.lines
        ]
    await repo.add_reservation(
        Reservation(
            order_id=order.order_id,
            marketplace_id=order.marketplace_id,
            status=ReservationStatus.REJECTED.value,
            release_reason=None,
            created_at=now,
            updated_at=now,
        ),
        [],
    )
    await publish(
        session,
        events.StockRejectedV1(order_id=order.order_id, occurred_at=now, lines=rejected),
        source=SOURCE,
        subject=order.order_id,
    )


async def release_for_order(session: AsyncSession, order_id: str, reason: str, *, cancelled: bool) -> bool:
    """Give back an order's reserved stock once; emit stock.released. True if something was released.

    Idempotent by reservation state: only a `reserved` reservation is released (compare-and-set), so
    a redelivered or repeated cancel/reject does nothing. A cancel that overtakes its order leaves a
    `released` marker, so a late order.placed reserves nothing.
    """
    if len(order_id) > 64:
        return False  # no order with such an id was ever reserved (see reserve_for_order)
    repo = CatalogueRepository(session)
    await repo.lock_writes()
    now = utcnow()
    reservation = await repo.get_reservation(order_id)
    if reservation is None:
        if cancelled:
            await repo.add_reservation(
                Reservation(
                    order_id=order_id,
                    marketplace_id="",
                    status=ReservationStatus.RELEASED.value,
                    release_reason=f"{reason} before any reservation",
                    created_at=now,
                    updated_at=now,
                ),
                [],
            )
        return False
    if reservation.status != ReservationStatus.RESERVED:
        return False
    if not await repo.set_reservation_status(
        order_id, ReservationStatus.RESERVED.value, ReservationStatus.RELEASED.value, reason, now
    ):
        return False
    lines = await repo.reservation_lines(order_id)
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.listing_id] = totals.get(line.listing_id, 0) + line.quantity
    changes = []
    for listing_id in sorted(totals):
        row = await repo.release(listing_id, totals[listing_id], now)
        if row is not None and row.status == ListingStatus.PUBLISHED:
            changes.append(_change(listing_id, ChangeOp.UPSERT, row.version, now))
    await repo.log_changes(changes)
    await publish(
        session,
        events.StockReleasedV1(
            order_id=order_id,
            occurred_at=now,
            lines=[events.ReservedLine(line_id=x.line_id, listing_id=x.listing_id, quantity=x.quantity) for x in lines],
            reason=reason,
        ),
        source=SOURCE,
        subject=order_id,
    )
    return True
