"""FX routes: the indicative rates behind display prices (ops set them, anyone reads them)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from services.catalogue.deps import anyone, ops
from services.catalogue.fx import service
from services.catalogue.schemas import (
    FxRateIn,
    FxRateOut,
    FxRatesOut,
)
from shared.auth import IdentityDep
from shared.errors import invalid_field
from shared.idempotency import CommandDep
from shared.read import ReadSessionDep
from shared.types import Currency

router = APIRouter(prefix="/v1/listings/fx-rates", tags=["fx"])


@router.put("/{base}/{quote}", response_model=FxRateOut, dependencies=[ops])
async def put_fx_rate(
    base: Currency, quote: Currency, body: FxRateIn, identity: IdentityDep, command: CommandDep
) -> Response:
    """Set the indicative rate 1 `base` = `rate` `quote` (ops only); the path must match the body."""
    if (base, quote) != (body.base, body.quote):
        raise invalid_field("base", "the path pair must match the body")
    return await command.run(lambda s: service.set_fx_rate(s, body, identity))


@router.post("", response_model=FxRateOut, dependencies=[ops])
async def post_fx_rate(body: FxRateIn, identity: IdentityDep, command: CommandDep) -> Response:
    """Set the indicative rate 1 `base` = `rate` `quote` (ops only); the history keeps every rate set."""
    return await command.run(lambda s: service.set_fx_rate(s, body, identity))


@router.get("", response_model=FxRatesOut, dependencies=[anyone])
async def get_fx_rates(session: ReadSessionDep) -> FxRatesOut:
    return await service.fx_rates(session)
