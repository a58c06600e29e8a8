"""Rate-card routes (ops): publish a card or its next version; list and read versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from services.logistics.config import Mode
from services.logistics.deps import ContextDep, ops
from services.logistics.ratecards import service
from services.logistics.schemas import RateCardIn, RateCardOut
from shared.auth import IdentityDep
from shared.idempotency import CommandDep
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.read import ReadSessionDep

router = APIRouter(prefix="/v1/logistics/rate-cards", tags=["rate cards"])

LocodeQuery = Annotated[str | None, Query(pattern=r"^[A-Z]{2}[A-Z2-9]{3}$")]
CardIdPath = Annotated[str, Path(pattern=r"^[A-Z0-9][A-Z0-9-]{0,63}$")]


def _location(model: object) -> str:
    assert isinstance(model, RateCardOut)
    return f"/v1/logistics/rate-cards/{model.card_id}"


@router.post("", status_code=201, response_model=RateCardOut, dependencies=[ops])
async def publish_rate_card(body: RateCardIn, identity: IdentityDep, command: CommandDep, ctx: ContextDep) -> Response:
    """Publish a rate card; an existing `card_id` gets its next version (issued quotes keep theirs)."""
    return await command.run(
        lambda s: service.publish_card(s, body, identity, ctx.cache), status_code=201, location=_location
    )


@router.get("", response_model=Page[RateCardOut], dependencies=[ops])
async def list_rate_cards(
    session: ReadSessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    mode: Mode | None = None,
    origin: LocodeQuery = None,
    destination: LocodeQuery = None,
) -> Page[RateCardOut]:
    return await service.search(
        session,
        limit=limit,
        cursor=cursor,
        mode=mode.value if mode else None,
        origin=origin,
        destination=destination,
    )


@router.get("/{card_id}", response_model=list[RateCardOut], dependencies=[ops])
async def rate_card_versions(card_id: CardIdPath, session: ReadSessionDep) -> list[RateCardOut]:
    """Every version of a card, newest first."""
    return await service.card_versions(session, card_id)
