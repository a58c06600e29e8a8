"""Thin routes: parse, authorise by role, hand over to `service`, render.

Paths live under the three prefixes the gateway routes to catalogue: `/v1/listings` (listings,
their stock, and the FX table behind display prices), `/v1/categories` and `/v1/feeds`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from services.catalogue import service
from services.catalogue.domain import Availability, ListingStatus
from services.catalogue.feed import SnapshotResponse
from services.catalogue.schemas import (
    CategoriesOut,
    CategoryOut,
    ChangesPage,
    FeedFormat,
    FxRateIn,
    FxRateOut,
    FxRatesOut,
    ListingCreate,
    ListingOut,
    ListingSort,
    ListingUpdate,
    StockAdjustmentIn,
    StockOut,
)
from services.catalogue.service import CatalogueContext
from shared.auth import IdentityDep, Role, require_roles
from shared.errors import UnprocessableContent
from shared.idempotency import CommandDep, json_response
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.read import ReadSessionDep, get_database

listings = APIRouter(prefix="/v1/listings", tags=["listings"])
categories = APIRouter(prefix="/v1/categories", tags=["categories"])
feeds = APIRouter(prefix="/v1/feeds", tags=["feeds"])
routers = [listings, categories, feeds]

_managers = require_roles(Role.OPS, Role.SELLER)
_ops = require_roles(Role.OPS)
_marketplaces = require_roles(Role.MARKETPLACE, Role.OPS)
_anyone = require_roles(*Role)

#: Delta pages hold at most this many change rows.
MAX_CHANGES = 1000


async def _context(request: Request) -> CatalogueContext:
    ctx = request.app.state.catalogue
    assert isinstance(ctx, CatalogueContext)
    return ctx


ContextDep = Annotated[CatalogueContext, Depends(_context)]


async def _snapshot_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_database(request).snapshot() as session:
        yield session


SnapshotSessionDep = Annotated[AsyncSession, Depends(_snapshot_session)]


def _location(model: object) -> str:
    assert isinstance(model, ListingOut)
    return f"/v1/listings/{model.id}"


# ------------------------------------------------------------------------------------------ FX rates
# Declared before /{listing_id} so that "fx-rates" is never taken for a listing id.


@listings.put("/fx-rates/{base}/{quote}", response_model=FxRateOut, dependencies=[_ops])
async def put_fx_rate(base: str, quote: str, body: FxRateIn, identity: IdentityDep, command: CommandDep) -> Response:
    """Set the indicative rate 1 `base` = `rate` `quote` (ops only); the path must match the body."""
    if (base, quote) != (body.base, body.quote):
        raise UnprocessableContent(
            "Invalid fields: base.", errors=[{"field": "base", "reason": "the path pair must match the body"}]
        )
    return await command.run(lambda s: service.set_fx_rate(s, body, identity))


@listings.post("/fx-rates", response_model=FxRateOut, dependencies=[_ops])
async def post_fx_rate(body: FxRateIn, identity: IdentityDep, command: CommandDep) -> Response:
    """Set the indicative rate 1 `base` = `rate` `quote` (ops only); the history keeps every rate set."""
    return await command.run(lambda s: service.set_fx_rate(s, body, identity))


@listings.get("/fx-rates", response_model=FxRatesOut, dependencies=[_anyone])
async def get_fx_rates(session: ReadSessionDep) -> FxRatesOut:
    return await service.fx_rates(session)


# ------------------------------------------------------------------------------------------ listings


@listings.post("", status_code=201, response_model=ListingOut, dependencies=[_managers])
async def create_listing(body: ListingCreate, identity: IdentityDep, command: CommandDep, ctx: ContextDep) -> Response:
    """A seller (or ops on its behalf) creates a draft listing."""
    return await command.run(
        lambda s: service.create_listing(s, body, identity, ctx), status_code=201, location=_location
    )


@listings.get("", response_model=Page[ListingOut], dependencies=[_anyone])
async def search_listings(
    identity: IdentityDep,
    session: ReadSessionDep,
    ctx: ContextDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    sort: ListingSort = ListingSort.NEWEST,
    category: Annotated[str | None, Query(max_length=50)] = None,
    seller_id: Annotated[str | None, Query(max_length=64)] = None,
    hs_code: Annotated[
        str | None, Query(pattern=r"^\d{2}(\d{2}){0,2}$", description="HS prefix: 2, 4 or 6 digits.")
    ] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="Text in the title.")] = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    min_price: Annotated[str | None, Query(pattern=r"^\d{1,15}(\.\d+)?$")] = None,
    max_price: Annotated[str | None, Query(pattern=r"^\d{1,15}(\.\d+)?$")] = None,
    availability: Availability | None = None,
    status: ListingStatus | None = None,
) -> Page[ListingOut]:
    """Browse and search: sellers see their own listings, everyone else what is published."""
    return await service.search(
        session,
        identity,
        ctx,
        limit=limit,
        cursor=cursor,
        sort=sort,
        category=category,
        seller_id=seller_id,
        hs_code=hs_code,
        q=q,
        currency=currency,
        min_price=min_price,
        max_price=max_price,
        availability_filter=availability.value if availability else None,
        status=status,
    )


@listings.get("/{listing_id}", response_model=ListingOut, dependencies=[_anyone])
async def get_listing(listing_id: str, identity: IdentityDep, session: ReadSessionDep, ctx: ContextDep) -> Response:
    out = await service.get_listing(session, listing_id, identity, ctx)
    return json_response(out, headers={"etag": f'"{out.version}"'})


@listings.patch("/{listing_id}", response_model=ListingOut, dependencies=[_managers])
async def update_listing(
    listing_id: str,
    body: ListingUpdate,
    identity: IdentityDep,
    command: CommandDep,
    ctx: ContextDep,
    if_match: Annotated[str | None, Header(description="The listing's ETag; 412 if it changed.")] = None,
) -> Response:
    return await command.run(lambda s: service.update_listing(s, listing_id, body, identity, ctx, if_match))


@listings.delete("/{listing_id}", response_model=ListingOut, dependencies=[_managers])
async def delete_listing(listing_id: str, identity: IdentityDep, command: CommandDep, ctx: ContextDep) -> Response:
    """Soft delete; a published listing leaves the feed with a tombstone."""
    return await command.run(lambda s: service.delete_listing(s, listing_id, identity, ctx))


@listings.post("/{listing_id}/publish", response_model=ListingOut, dependencies=[_managers])
async def publish_listing(listing_id: str, identity: IdentityDep, command: CommandDep, ctx: ContextDep) -> Response:
    """Put a draft or withdrawn listing on the marketplaces; the seller must be verified."""
    return await command.run(lambda s: service.publish_listing(s, listing_id, identity, ctx))


@listings.post("/{listing_id}/withdraw", response_model=ListingOut, dependencies=[_managers])
async def withdraw_listing(listing_id: str, identity: IdentityDep, command: CommandDep, ctx: ContextDep) -> Response:
    """Take a published listing off the marketplaces (a tombstone in the feed); it may be published again."""
    return await command.run(lambda s: service.withdraw_listing(s, listing_id, identity, ctx))


@listings.get("/{listing_id}/stock", response_model=StockOut, dependencies=[_managers])
async def get_stock(listing_id: str, identity: IdentityDep, session: ReadSessionDep) -> StockOut:
    return await service.get_stock(session, listing_id, identity)


@listings.post("/{listing_id}/stock/adjustments", response_model=StockOut, dependencies=[_managers])
async def adjust_stock(
    listing_id: str, body: StockAdjustmentIn, identity: IdentityDep, command: CommandDep
) -> Response:
    """Change stock on hand by `delta`, or set it to a counted `on_hand`, with a reason."""
    return await command.run(lambda s: service.adjust_stock(s, listing_id, body, identity))


# ------------------------------------------------------------------------------------------ categories


@categories.get("", response_model=CategoriesOut, dependencies=[_anyone])
async def list_categories() -> CategoriesOut:
    """The category tree, with the HS headings and product attributes each category takes."""
    return service.categories()


@categories.get("/{category_id}", response_model=CategoryOut, dependencies=[_anyone])
async def get_category(category_id: str) -> CategoryOut:
    return service.category(category_id)


# ------------------------------------------------------------------------------------------ feeds


@feeds.get(
    "/listings",
    dependencies=[_marketplaces],
    response_class=Response,
    responses={
        200: {
            "description": "The snapshot, streamed; `X-Feed-Cursor` is where to read changes from.",
            "content": {"application/x-ndjson": {}, "text/csv": {}, "application/xml": {}},
        },
        304: {"description": "Unchanged since the ETag given in If-None-Match."},
    },
)
async def feed_snapshot(
    request: Request,
    ctx: ContextDep,
    fmt: Annotated[FeedFormat, Query(alias="format")] = FeedFormat.JSONL,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Every published listing, in one consistent snapshot (JSON lines, CSV or GMC-style XML)."""
    return SnapshotResponse(get_database(request), ctx.renderer, fmt, if_none_match, ctx.chunk_size)


@feeds.get("/listings/changes", response_model=ChangesPage, dependencies=[_marketplaces])
async def feed_changes(
    session: SnapshotSessionDep,
    ctx: ContextDep,
    cursor: Annotated[str, Query(min_length=1, max_length=512, description="X-Feed-Cursor or next_cursor.")],
    limit: Annotated[int, Query(ge=1, le=MAX_CHANGES)] = 500,
) -> Response:
    """Changes after `cursor` in order: upserts with the item, tombstones; 410 when the cursor expired."""
    page = await service.feed_changes(session, cursor, limit, ctx)
    return Response(orjson.dumps(page, option=orjson.OPT_UTC_Z), media_type="application/json")
