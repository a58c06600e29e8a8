"""Quote routes: ask for a quote (sellers, marketplaces, ops) and read it back (the asker and ops)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from services.logistics.deps import ContextDep, quoters
from services.logistics.quotes import service
from services.logistics.schemas import QuoteOut, QuoteRequest
from shared.auth import IdentityDep
from shared.db import utcnow
from shared.idempotency import CommandDep
from shared.read import DatabaseDep

router = APIRouter(prefix="/v1/logistics/quotes", tags=["quotes"])

QuoteIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


def _location(model: object) -> str:
    assert isinstance(model, QuoteOut)
    return f"/v1/logistics/quotes/{model.id}"


@router.post("", status_code=201, response_model=QuoteOut, dependencies=[quoters])
async def request_quote(body: QuoteRequest, identity: IdentityDep, command: CommandDep, ctx: ContextDep) -> Response:
    """Price the parcels on every lane and mode the Incoterm allows: one option per mode and carrier
    (road to a port + sea for sea freight), or no option and the reason."""
    issued = service.price(body, identity, await ctx.cache.cards(), ctx.config, utcnow())
    location = {"location": f"/v1/logistics/quotes/{issued.quote_id}"}
    if command.request.headers.get("idempotency-key") is None:
        # The common path: committed with concurrent quotes (quotes/writer.py), the JSON serialised
        # once (the generic runner would validate and dump the body as models again).
        await ctx.writer.write(issued)
        return Response(issued.json, status_code=201, media_type="application/json", headers=location)

    async def issue_replayable(session: AsyncSession) -> QuoteOut:
        await service.issue_many(session, [issued])
        return issued.model()

    return await command.run(issue_replayable, status_code=201, location=_location)


@router.get("/{quote_id}", response_model=QuoteOut, dependencies=[quoters])
async def get_quote(quote_id: QuoteIdPath, identity: IdentityDep, db: DatabaseDep) -> Response:
    """The quote exactly as it was issued (a newer rate-card version changes nothing in it)."""
    return Response(await service.get_quote(db, quote_id, identity), media_type="application/json")
