"""Shipment routes: read a shipment with its timeline, list them, and post tracking events (ops)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from services.logistics.deps import ops, readers
from services.logistics.domain.tracking import ShipmentStatus
from services.logistics.schemas import ShipmentOut, TrackingEventIn
from services.logistics.shipments import service
from shared.auth import IdentityDep
from shared.idempotency import CommandDep
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.read import ReadSessionDep

router = APIRouter(prefix="/v1/logistics/shipments", tags=["shipments"])

ShipmentIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
OrderIdQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]


@router.get("", response_model=Page[ShipmentOut], dependencies=[readers])
async def list_shipments(
    identity: IdentityDep,
    session: ReadSessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    order_id: OrderIdQuery = None,
    status: ShipmentStatus | None = None,
) -> Page[ShipmentOut]:
    """Shipments by order and status, oldest first (cursor pagination)."""
    return await service.search(session, identity, limit=limit, cursor=cursor, order_id=order_id, status=status)


@router.get("/{shipment_id}", response_model=ShipmentOut, dependencies=[readers])
async def get_shipment(shipment_id: ShipmentIdPath, identity: IdentityDep, session: ReadSessionDep) -> ShipmentOut:
    """A shipment with its timeline sorted by time."""
    return await service.get_shipment(session, shipment_id, identity)


@router.post("/{shipment_id}/tracking-events", response_model=ShipmentOut, dependencies=[ops])
async def post_tracking_event(
    shipment_id: ShipmentIdPath, body: TrackingEventIn, identity: IdentityDep, command: CommandDep
) -> Response:
    """Record a carrier's tracking event (ops); a repeat is ignored. Answers the shipment as it now is."""
    return await command.run(lambda s: service.track(s, shipment_id, body, identity))
