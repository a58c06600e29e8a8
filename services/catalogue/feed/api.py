"""Feed routes: the snapshot in three formats and the delta pages after a cursor."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response

from services.catalogue.deps import ContextDep, SnapshotSessionDep, marketplaces
from services.catalogue.feed import service
from services.catalogue.feed.render import SnapshotResponse
from services.catalogue.schemas import (
    ChangesPage,
    FeedFormat,
)
from shared.read import get_database

router = APIRouter(prefix="/v1/feeds", tags=["feeds"])

#: Delta pages hold at most this many change rows.
MAX_CHANGES = 1000


@router.get(
    "/listings",
    dependencies=[marketplaces],
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


@router.get("/listings/changes", response_model=ChangesPage, dependencies=[marketplaces])
async def feed_changes(
    session: SnapshotSessionDep,
    ctx: ContextDep,
    cursor: Annotated[str, Query(min_length=1, max_length=512, description="X-Feed-Cursor or next_cursor.")],
    limit: Annotated[int, Query(ge=1, le=MAX_CHANGES)] = 500,
) -> Response:
    """Changes after `cursor` in order: upserts with the item, tombstones; 410 when the cursor expired."""
    page = await service.feed_changes(session, cursor, limit, ctx)
    return Response(orjson.dumps(page, option=orjson.OPT_UTC_Z), media_type="application/json")
