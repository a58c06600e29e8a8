"""Listings routes (and the category tree they are filed under)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from starlette.responses import Response

from services.catalogue.deps import ContextDep, anyone, managers
from services.catalogue.domain import Availability, ListingStatus
from services.catalogue.listings import service
from services.catalogue.schemas import (
    CategoriesOut,
    CategoryOut,
    ListingCreate,
    ListingOut,
    ListingSort,
    ListingUpdate,
)
from shared.auth import IdentityDep
from shared.commands import CommandDep, json_response
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.read import DatabaseDep
from shared.types import Id, Line

router = APIRouter(prefix="/v1/listings", tags=["listings"])
categories = APIRouter(prefix="/v1/categories", tags=["categories"])


def _location(model: ListingOut) -> str:
    return f"/v1/listings/{model.id}"


@router.post("", status_code=201, response_model=ListingOut, dependencies=[managers])
async def create_listing(body: ListingCreate, identity: IdentityDep, command: CommandDep, ctx: ContextDep) -> Response:
    """A seller (or ops on its behalf) creates a draft listing."""
    return await command.run(
        lambda s: service.create_listing(s, body, identity, ctx), status_code=201, location=_location
    )


@router.get("", response_model=Page[ListingOut], dependencies=[anyone])
async def search_listings(
    identity: IdentityDep,
    db: DatabaseDep,
    ctx: ContextDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    sort: ListingSort = ListingSort.NEWEST,
    category: Annotated[Annotated[str, Line(50)] | None, Query()] = None,
    seller_id: Id | None = None,
    hs_code: Annotated[
        str | None, Query(pattern=r"^[0-9]{2}([0-9]{2}){0,2}$", description="HS prefix: 2, 4 or 6 ASCII digits.")
    ] = None,
    q: Annotated[Annotated[str, Line(100)] | None, Query(description="Text in the title.")] = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    min_price: Annotated[str | None, Query(pattern=r"^[0-9]{1,15}(\.[0-9]{1,4})?$")] = None,
    max_price: Annotated[str | None, Query(pattern=r"^[0-9]{1,15}(\.[0-9]{1,4})?$")] = None,
    availability: Availability | None = None,
    status: ListingStatus | None = None,
) -> Response:
    """Browse and search: sellers see their own listings, everyone else what is published."""
    page = await service.search(
        db,
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
    return json_response(page)


@router.get("/{listing_id}", response_model=ListingOut, dependencies=[anyone])
async def get_listing(listing_id: Id, identity: IdentityDep, db: DatabaseDep, ctx: ContextDep) -> Response:
    out = await service.read_listing(db, listing_id, identity, ctx)
    return json_response(out, headers={"etag": f'"{out.version}"'})


@router.patch("/{listing_id}", response_model=ListingOut, dependencies=[managers])
async def update_listing(
    listing_id: Id,
    body: ListingUpdate,
    identity: IdentityDep,
    command: CommandDep,
    ctx: ContextDep,
    if_match: Annotated[str | None, Header(description="The listing's ETag; 412 if it changed.")] = None,
) -> Response:
    return await command.run(lambda s: service.update_listing(s, listing_id, body, identity, ctx, if_match))


@router.delete("/{listing_id}", response_model=ListingOut, dependencies=[managers])
async def delete_listing(listing_id: Id, identity: IdentityDep, command: CommandDep, ctx: ContextDep) -> Response:
    """Soft delete; a published listing leaves the feed with a tombstone."""
    return await command.run(lambda s: service.delete_listing(s, listing_id, identity, ctx))


@router.post("/{listing_id}/publish", response_model=ListingOut, dependencies=[managers])
async def publish_listing(listing_id: Id, identity: IdentityDep, command: CommandDep, ctx: ContextDep) -> Response:
    """Put a draft or withdrawn listing on the marketplaces; the seller must be verified."""
    return await command.run(lambda s: service.publish_listing(s, listing_id, identity, ctx))


@router.post("/{listing_id}/withdraw", response_model=ListingOut, dependencies=[managers])
async def withdraw_listing(listing_id: Id, identity: IdentityDep, command: CommandDep, ctx: ContextDep) -> Response:
    """Take a published listing off the marketplaces (a tombstone in the feed); it may be published again."""
    return await command.run(lambda s: service.withdraw_listing(s, listing_id, identity, ctx))


@categories.get("", response_model=CategoriesOut, dependencies=[anyone])
async def list_categories() -> Response:
    """The category tree, with the HS headings and product attributes each category takes."""
    return Response(service.categories_json(), media_type="application/json")


@categories.get("/{category_id}", response_model=CategoryOut, dependencies=[anyone])
async def get_category(category_id: Annotated[str, Line(50)]) -> Response:
    return Response(service.category_json(category_id), media_type="application/json")
