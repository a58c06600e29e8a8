"""Listings use cases: create, edit, publish, withdraw, delete, read, search, categories.

Each runs inside the one transaction its caller owns and only flushes. Every use case that writes
listings starts with `repo.lock_writes()` (see feed/repository.py), and every change a marketplace
can see appends a change-log row in the same transaction, so the feed and the listings never disagree.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.categories import CATEGORIES, Category, allowed_hs_prefixes, attribute_specs, category_label
from services.catalogue.context import (
    EVENTS,
    CatalogueContext,
)
from services.catalogue.domain import (
    ChangeOp,
    ListingFacts,
    ListingStatus,
    OutOfStockPolicy,
    Rate,
    SellerStatus,
    StockReason,
    WithdrawReason,
    availability,
    check_listing,
    convert,
    next_status,
    publication_problems,
)
from services.catalogue.feed.service import change_row
from services.catalogue.fx.repository import RATES
from services.catalogue.listings.repository import ListingReads, ListingRow, SearchFilters
from services.catalogue.models import (
    Listing,
    StockAdjustment,
)
from services.catalogue.repositories import Repositories
from services.catalogue.schemas import (
    AttributeOut,
    CategoriesOut,
    CategoryOut,
    DimensionsOut,
    DisplayPrice,
    ListingCreate,
    ListingOut,
    ListingSort,
    ListingUpdate,
    StockLevel,
)
from shared.auth import Identity, Role, ensure_seller_access
from shared.contracts import catalogue as events
from shared.db import Database, utcnow
from shared.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    PreconditionFailed,
    invalid,
    invalid_field,
)
from shared.money import Money, MoneyIn, format_minor, minor_units
from shared.pagination import (
    MalformedCursor,
    Page,
    cursor_datetime,
    cursor_id,
    cursor_int,
    cursor_text,
    decode_cursor,
    fetch_size,
    keyset_page,
)


async def rate_table(repo: Repositories) -> dict[tuple[str, str], Rate]:
    return {
        (r.base, r.quote): Rate(r.base, r.quote, Decimal(r.rate), r.source, r.as_of) for r in await repo.fx.fx_rates()
    }


def _display_prices(
    listing: Listing | ListingRow, rates: Mapping[tuple[str, str], Rate], currencies: Sequence[str]
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


def stock_level(listing: Listing | ListingRow) -> StockLevel:
    shown = availability(listing.on_hand, listing.reserved, listing.out_of_stock_policy)
    return StockLevel(
        on_hand=listing.on_hand,
        reserved=listing.reserved,
        available=max(listing.on_hand - listing.reserved, 0),
        availability=shown,
        availability_date=listing.availability_date,
        out_of_stock_policy=OutOfStockPolicy(listing.out_of_stock_policy),
    )


def listing_out(
    listing: Listing | ListingRow, rates: Mapping[tuple[str, str], Rate], ctx: CatalogueContext
) -> ListingOut:
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


async def listing_view(repo: Repositories, listing: Listing, ctx: CatalogueContext) -> ListingOut:
    return listing_out(listing, await rate_table(repo), ctx)


def listing_event(cls: type[events._ListingEvent], listing: Listing, at: datetime, **extra: Any) -> Any:
    return cls(
        listing_id=listing.id,
        seller_id=listing.seller_id,
        sku=listing.sku,
        title=listing.title,
        price=events.LinePrice(amount=format_minor(listing.price_minor, listing.currency), currency=listing.currency),
        hs_code=listing.hs_code,
        unit_net_weight_g=listing.unit_net_weight_g,
        status=listing.status,
        category=listing.category,
        version=listing.version,
        occurred_at=at,
        **extra,
    )


async def load_listing(repo: Repositories, listing_id: str, identity: Identity) -> Listing:
    """A listing the caller may manage: its seller's own, or any for ops."""
    listing = await repo.listings.get_listing(listing_id)
    if listing is None or (listing.status == ListingStatus.DELETED and identity.role is not Role.OPS):
        raise NotFound(f"Listing {listing_id} does not exist.")
    _ensure_visible_to_seller(identity, listing)
    return listing


def _ensure_visible_to_seller(identity: Identity, listing: Listing | ListingRow) -> None:
    """Another seller's listing answers 404, exactly as an id that does not exist: a status must not
    tell a seller which ids exist elsewhere (403 would). Roles that may not act at all still get 403
    from `ensure_seller_access`."""
    if identity.role is Role.SELLER and not identity.owns(listing.seller_id):
        raise NotFound(f"Listing {listing.id} does not exist.")
    ensure_seller_access(identity, listing.seller_id)


def _check_if_match(if_match: str | None, version: int) -> None:
    if if_match is None:
        return
    tags = {t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")}
    if "*" not in tags and str(version) not in tags:
        raise PreconditionFailed(
            f"The listing is at version {version}; reload it and apply your change again.", current_version=version
        )


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
        raise invalid([{"field": "seller_id", "reason": "required when ops create a listing"}])
    else:
        seller_id = body.seller_id
    ensure_seller_access(identity, seller_id)
    repo = Repositories(session)
    values = _column_values(body, set(ListingCreate.model_fields))
    attributes, errors = check_listing(_facts(values))
    if errors:
        raise invalid(errors)
    await repo.lock_writes()
    if await repo.listings.sku_owner(seller_id, body.sku):
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
    await repo.listings.add_listing(listing)
    if body.on_hand:
        await repo.stock.add_adjustment(
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
    return await listing_view(repo, listing, ctx)


async def update_listing(
    session: AsyncSession,
    listing_id: str,
    body: ListingUpdate,
    identity: Identity,
    ctx: CatalogueContext,
    if_match: str | None = None,
) -> ListingOut:
    repo = Repositories(session)
    await repo.lock_writes()
    listing = await load_listing(repo, listing_id, identity)
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
        raise invalid(errors)
    merged["attributes"] = attributes
    changed = {k: v for k, v in merged.items() if current[k] != v}
    if not changed:
        return await listing_view(repo, listing, ctx)
    if "sku" in changed and await repo.listings.sku_owner(listing.seller_id, changed["sku"]):
        raise Conflict(f"SKU {changed['sku']} is already used by another of this seller's listings.", field="sku")
    now = utcnow()
    for name, value in changed.items():
        setattr(listing, name, value)
    listing.version += 1
    listing.updated_at = now
    await repo.listings.flush()
    if listing.status == ListingStatus.PUBLISHED:
        await repo.feed.log_changes([change_row(listing.id, ChangeOp.UPSERT, listing.version, now)])
        await EVENTS.publish(session, listing_event(events.ListingUpdatedV1, listing, now), subject=listing.id)
    return await listing_view(repo, listing, ctx)


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
    repo = Repositories(session)
    await repo.lock_writes()
    listing = await load_listing(repo, listing_id, identity)
    target = next_status(ListingStatus(listing.status), "publish")
    seller = await repo.sellers.get_seller(listing.seller_id)
    if seller is None or seller.status != SellerStatus.VERIFIED:
        known = seller.status if seller else "not yet known to the catalogue"
        raise Conflict(
            f"Only a verified seller can publish; seller {listing.seller_id} is {known}.",
            seller_status=seller.status if seller else None,
        )
    problems = publication_problems(_facts({c: getattr(listing, c) for c in _LISTING_COLUMNS}))
    if problems:
        raise invalid(problems)
    now = utcnow()
    listing.status = target.value
    listing.withdrawn_reason = None
    listing.published_at = now
    listing.updated_at = now
    listing.version += 1
    await repo.listings.flush()
    await repo.feed.log_changes([change_row(listing.id, ChangeOp.UPSERT, listing.version, now)])
    await EVENTS.publish(session, listing_event(events.ListingPublishedV1, listing, now), subject=listing.id)
    return await listing_view(repo, listing, ctx)


async def take_down(
    session: AsyncSession, repo: Repositories, listings: Sequence[Listing], target: ListingStatus, reason: str
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
            changes.append(change_row(listing.id, ChangeOp.DELETE, listing.version, now, reason))
    await repo.listings.flush()
    await repo.feed.log_changes(changes)
    withdrawn = {c["listing_id"] for c in changes}
    for listing in listings:
        if listing.id in withdrawn:
            await EVENTS.publish(
                session,
                listing_event(events.ListingWithdrawnV1, listing, now, reason=reason),
                subject=listing.id,
            )


async def withdraw_listing(
    session: AsyncSession, listing_id: str, identity: Identity, ctx: CatalogueContext
) -> ListingOut:
    repo = Repositories(session)
    await repo.lock_writes()
    listing = await load_listing(repo, listing_id, identity)
    target = next_status(ListingStatus(listing.status), "withdraw")
    await take_down(session, repo, [listing], target, WithdrawReason.SELLER.value)
    return await listing_view(repo, listing, ctx)


async def delete_listing(
    session: AsyncSession, listing_id: str, identity: Identity, ctx: CatalogueContext
) -> ListingOut:
    """A soft delete: the row stays (reservations and history point at it), the SKU stays taken."""
    repo = Repositories(session)
    await repo.lock_writes()
    listing = await load_listing(repo, listing_id, identity)
    target = next_status(ListingStatus(listing.status), "delete")
    await take_down(session, repo, [listing], target, WithdrawReason.DELETED.value)
    return await listing_view(repo, listing, ctx)


async def get_listing(session: AsyncSession, listing_id: str, identity: Identity, ctx: CatalogueContext) -> ListingOut:
    repo = Repositories(session)
    listing = _visible(await repo.listings.get_listing(listing_id), listing_id, identity)
    return await listing_view(repo, listing, ctx)


async def read_listing(db: Database, listing_id: str, identity: Identity, ctx: CatalogueContext) -> ListingOut:
    """`get_listing` on the hot path: one Core read, the FX rates from the in-process cache."""
    listing = _visible(await ListingReads(db).get(listing_id), listing_id, identity)
    return listing_out(listing, await RATES.get(db), ctx)


_L = TypeVar("_L", Listing, ListingRow)


def _visible(listing: _L | None, listing_id: str, identity: Identity) -> _L:
    # Partner apps and marketplaces see what is on sale, nothing else.
    on_sale_only = identity.role not in (Role.OPS, Role.SELLER)
    if listing is not None and on_sale_only and listing.status != ListingStatus.PUBLISHED:
        listing = None
    if listing is None or (listing.status == ListingStatus.DELETED and identity.role is not Role.OPS):
        raise NotFound(f"Listing {listing_id} does not exist.")
    if identity.role is Role.SELLER:
        _ensure_visible_to_seller(identity, listing)
    return listing


_SORTS: dict[ListingSort, list[tuple[Any, bool]]] = {
    ListingSort.NEWEST: [(Listing.created_at, True), (Listing.id, True)],
    ListingSort.OLDEST: [(Listing.created_at, False), (Listing.id, False)],
    ListingSort.PRICE_ASC: [(Listing.price_minor, False), (Listing.id, False)],
    ListingSort.PRICE_DESC: [(Listing.price_minor, True), (Listing.id, True)],
    ListingSort.TITLE: [(Listing.title, False), (Listing.id, False)],
}

_VISIBLE_TO_OWNERS = (ListingStatus.DRAFT.value, ListingStatus.PUBLISHED.value, ListingStatus.WITHDRAWN.value)


def _sort_key(listing: Listing | ListingRow, sort: ListingSort) -> list[Any]:
    if sort in (ListingSort.NEWEST, ListingSort.OLDEST):
        return [listing.created_at.isoformat(), listing.id]
    if sort in (ListingSort.PRICE_ASC, ListingSort.PRICE_DESC):
        return [listing.price_minor, listing.id]
    return [listing.title, listing.id]


def _decode_sort_key(cursor: str, sort: ListingSort) -> list[Any]:
    position = decode_cursor(cursor, ("s", "k"))
    key = position["k"]
    malformed = MalformedCursor("Malformed cursor; pass back the next_cursor you were given with the same sort.")
    if position["s"] != sort.value or not isinstance(key, list) or len(key) != 2:
        raise malformed
    try:
        if sort in (ListingSort.NEWEST, ListingSort.OLDEST):
            return [cursor_datetime(key[0]), cursor_id(key[1])]
        if sort in (ListingSort.PRICE_ASC, ListingSort.PRICE_DESC):
            return [cursor_int(key[0], minimum=0), cursor_id(key[1])]
        return [cursor_text(key[0]), cursor_id(key[1])]
    except MalformedCursor:
        raise malformed from None


def _price_bound(value: str | None, currency: str | None, name: str) -> int | None:
    if value is None:
        return None
    assert currency is not None
    try:
        bound = MoneyIn(amount=value, currency=currency)
    except ValueError:
        places = minor_units(currency)
        raise invalid_field(name, f"must be a non-negative amount with at most {places} decimal places") from None
    return bound.minor


async def search(
    session: AsyncSession | Database,
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
        raise invalid(errors)
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

    def position(last: Listing | ListingRow) -> dict[str, Any]:
        return {"s": sort.value, "k": _sort_key(last, sort)}

    page: Sequence[Listing | ListingRow]
    if isinstance(session, Database):
        # The hot path: Core statements and the cached rates (the `Database` given instead of a session).
        reads = ListingReads(session)
        rows = await reads.search(filters, sort=sort.value, order=_SORTS[sort], after=after, limit=fetch_size(limit))
        page, next_cursor = keyset_page(rows, limit, position)
        rates = await RATES.get(session)
    else:
        repo = Repositories(session)
        found = await repo.listings.search(filters, order=_SORTS[sort], after=after, limit=fetch_size(limit))
        page, next_cursor = keyset_page(found, limit, position)
        rates = await rate_table(repo)
    return Page[ListingOut](items=[listing_out(x, rates, ctx) for x in page], next_cursor=next_cursor)


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


# The category tree is data in code (categories.py): it changes only with a deploy, so its JSON is
# rendered once per process and never needs invalidating.


@cache
def categories_json() -> bytes:
    return categories().__pydantic_serializer__.to_json(categories())


def category_json(category_id: str) -> bytes:
    if category_id not in CATEGORIES:
        raise NotFound(f"Category {category_id} does not exist.")
    return _category_json(category_id)


@cache
def _category_json(category_id: str) -> bytes:
    out = category(category_id)
    return out.__pydantic_serializer__.to_json(out)
