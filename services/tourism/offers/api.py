"""Offer routes: ops manage offers and dates; ops and traveller apps read offers and availability."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from services.tourism.context import ContextDep, ops, readers
from services.tourism.domain import OfferKind, VisitorCategory
from services.tourism.offers import service
from services.tourism.offers.repository import OFFERS
from services.tourism.schemas import (
    AvailabilityPage,
    DateOut,
    DateSettingIn,
    OfferCreate,
    OfferOut,
    OfferUpdate,
)
from shared.commands import CommandDep
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.read import ReadSessionDep, get_database
from shared.types import BoundedDate, Id

router = APIRouter(prefix="/v1/tourism", tags=["tourism offers"])

PlaceQuery = Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")]


def _location(model: BaseModel) -> str:
    assert isinstance(model, OfferOut)
    return f"/v1/tourism/offers/{model.id}"


@router.post("/offers", status_code=201, response_model=OfferOut, dependencies=[ops])
async def create_offer(body: OfferCreate, ctx: ContextDep, command: CommandDep) -> Response:
    return await command.run(lambda s: service.create(s, body, ctx), status_code=201, location=_location)


@router.get("/offers", response_model=Page[OfferOut], dependencies=[readers])
async def list_offers(
    session: ReadSessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    kind: OfferKind | None = None,
    place: PlaceQuery = None,
) -> Page[OfferOut]:
    return await service.search(session, limit=limit, cursor=cursor, kind=kind, place=place, active_only=False)


@router.get("/offers/{offer_id}", response_model=OfferOut, dependencies=[readers])
async def get_offer(offer_id: Id, session: ReadSessionDep) -> OfferOut:
    return await service.get(session, offer_id)


@router.patch("/offers/{offer_id}", response_model=OfferOut, dependencies=[ops])
async def update_offer(offer_id: Id, body: OfferUpdate, ctx: ContextDep, command: CommandDep) -> Response:
    """Change prices, terms, the default capacity (dates without an override follow it) or withdraw it."""
    return await command.run(lambda s: service.update(s, offer_id, body, ctx))


@router.put("/offers/{offer_id}/dates/{day}", response_model=DateOut, dependencies=[ops])
async def set_offer_date(
    offer_id: Id, day: BoundedDate, body: DateSettingIn, ctx: ContextDep, command: CommandDep
) -> Response:
    """A date's capacity override (null: the default again) and closure."""
    return await command.run(lambda s: service.set_date(s, offer_id, day, body, ctx))


@router.get("/offers/{offer_id}/dates", response_model=list[DateOut], dependencies=[ops])
async def offer_dates(
    offer_id: Id,
    session: ReadSessionDep,
    ctx: ContextDep,
    first: Annotated[BoundedDate, Query(alias="from")],
    last: Annotated[BoundedDate, Query(alias="to")],
) -> list[DateOut]:
    return await service.dates(session, offer_id, first, last, ctx)


@router.get("/availability", response_model=AvailabilityPage, dependencies=[readers])
async def availability(
    request: Request,
    session: ReadSessionDep,
    ctx: ContextDep,
    first: Annotated[BoundedDate, Query(alias="from")],
    last: Annotated[BoundedDate, Query(alias="to")],
    party: Annotated[int, Query(ge=1, le=1000)] = 1,
    visitor_category: VisitorCategory = VisitorCategory.FOREIGN_NON_RESIDENT,
    kind: OfferKind | None = None,
    place: PlaceQuery = None,
    offer_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")] = None,
) -> AvailabilityPage:
    """Places left and the party's price per offer and date (at most 62 days per search)."""
    offers = await OFFERS.get(get_database(request))
    return await service.availability(
        session,
        ctx,
        offers,
        first=first,
        last=last,
        party=party,
        category=visitor_category,
        kind=kind,
        place=place,
        offer_id=offer_id,
    )
