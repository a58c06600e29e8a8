"""Stock routes: a listing's stock and its adjustments."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from services.catalogue.deps import managers
from services.catalogue.schemas import (
    StockAdjustmentIn,
    StockOut,
)
from services.catalogue.stock import service
from shared.auth import IdentityDep
from shared.idempotency import CommandDep
from shared.read import ReadSessionDep
from shared.types import Id

router = APIRouter(prefix="/v1/listings", tags=["stock"])


@router.get("/{listing_id}/stock", response_model=StockOut, dependencies=[managers])
async def get_stock(listing_id: Id, identity: IdentityDep, session: ReadSessionDep) -> StockOut:
    return await service.get_stock(session, listing_id, identity)


@router.post("/{listing_id}/stock/adjustments", response_model=StockOut, dependencies=[managers])
async def adjust_stock(listing_id: Id, body: StockAdjustmentIn, identity: IdentityDep, command: CommandDep) -> Response:
    """Change stock on hand by `delta`, or set it to a counted `on_hand`, with a reason."""
    return await command.run(lambda s: service.adjust_stock(s, listing_id, body, identity))
