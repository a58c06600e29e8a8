"""Booking routes: traveller apps hold, confirm, cancel, reschedule and rename; ops read every booking.

Writes go through CommandDep, so `Idempotency-Key` replays them; confirming requires the key, since a
retried payment confirmation must never confirm twice with different payments.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from services.tourism.bookings import service
from services.tourism.bookings.batcher import HoldBatcher
from services.tourism.context import ContextDep, apps, readers
from services.tourism.domain import BookingStatus
from services.tourism.offers.repository import OFFERS
from services.tourism.schemas import (
    BookingOut,
    CancelIn,
    ConfirmIn,
    HoldCreate,
    NameChangeIn,
    RescheduleBookingIn,
)
from shared.auth import IdentityDep
from shared.commands import CommandDep, json_response
from shared.errors import BadRequest
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.read import ReadSessionDep, get_database
from shared.types import BoundedDate, Id

router = APIRouter(prefix="/v1/tourism/bookings", tags=["tourism bookings"])

IdQuery = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")]


def _location(model: BaseModel) -> str:
    assert isinstance(model, BookingOut)
    return f"/v1/tourism/bookings/{model.id}"


@router.post("", status_code=201, response_model=BookingOut, dependencies=[apps])
async def hold(
    body: HoldCreate, request: Request, identity: IdentityDep, ctx: ContextDep, command: CommandDep
) -> Response:
    """Hold places for a party on a date; the hold lasts until `expires_at` unless confirmed."""
    offers = await OFFERS.get(get_database(request))
    batcher = getattr(request.app.state, "tourism_holds", None)
    if batcher is not None and "idempotency-key" not in request.headers:
        assert isinstance(batcher, HoldBatcher)
        booking = await batcher.hold(body, identity, offers)
        return json_response(booking, 201, {"location": _location(booking)})
    return await command.run(
        lambda s: service.hold(s, body, identity, ctx, offers), status_code=201, location=_location
    )


@router.get("", response_model=Page[BookingOut], dependencies=[readers])
async def list_bookings(
    identity: IdentityDep,
    session: ReadSessionDep,
    ctx: ContextDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    status: BookingStatus | None = None,
    offer_id: IdQuery = None,
    app_id: Annotated[IdQuery, Query(description="Ops only: one app's bookings.")] = None,
    visit_from: BoundedDate | None = None,
    visit_to: BoundedDate | None = None,
) -> Page[BookingOut]:
    return await service.search(
        session,
        identity,
        ctx,
        limit=limit,
        cursor=cursor,
        status=status,
        offer_id=offer_id,
        app_id=app_id,
        visit_from=visit_from,
        visit_to=visit_to,
    )


@router.get("/{booking_id}", response_model=BookingOut, dependencies=[readers])
async def get_booking(booking_id: Id, identity: IdentityDep, session: ReadSessionDep, ctx: ContextDep) -> BookingOut:
    return await service.get(session, booking_id, identity, ctx)


@router.post("/{booking_id}/confirm", response_model=BookingOut, dependencies=[apps])
async def confirm(
    booking_id: Id, body: ConfirmIn, request: Request, identity: IdentityDep, ctx: ContextDep, command: CommandDep
) -> Response:
    """Confirm a hold with its payment reference, before `expires_at` (409 after). Needs `Idempotency-Key`."""
    if "idempotency-key" not in request.headers:
        raise BadRequest(
            "Confirming a booking needs an Idempotency-Key header.",
            errors=[{"field": "Idempotency-Key", "reason": "required to confirm"}],
        )
    return await command.run(lambda s: service.confirm(s, booking_id, body, identity, ctx))


@router.post("/{booking_id}/cancel", response_model=BookingOut, dependencies=[apps])
async def cancel(
    booking_id: Id,
    identity: IdentityDep,
    ctx: ContextDep,
    command: CommandDep,
    body: Annotated[CancelIn | None, Body()] = None,
) -> Response:
    """Release a hold, or cancel a confirmed booking with the refund its policy gives today."""
    given = body or CancelIn()
    return await command.run(lambda s: service.cancel(s, booking_id, given, identity, ctx))


@router.post("/{booking_id}/reschedule", response_model=BookingOut, dependencies=[apps])
async def reschedule(
    booking_id: Id, body: RescheduleBookingIn, identity: IdentityDep, ctx: ContextDep, command: CommandDep
) -> Response:
    return await command.run(lambda s: service.reschedule(s, booking_id, body, identity, ctx))


@router.post("/{booking_id}/name-change", response_model=BookingOut, dependencies=[apps])
async def change_names(
    booking_id: Id, body: NameChangeIn, identity: IdentityDep, ctx: ContextDep, command: CommandDep
) -> Response:
    """Replace the travellers' names (at most twice, up to a day before the visit)."""
    return await command.run(lambda s: service.change_names(s, booking_id, body, identity, ctx))
