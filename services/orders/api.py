"""Thin routes: parse, authorise by role, hand over to `service`, render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from services.orders import insights, service
from services.orders.deps import ContextDep, placers, readers
from services.orders.domain import OrderStatus
from services.orders.schemas import (
    CancelIn,
    DemandOut,
    HistoryOut,
    Id,
    LandedCostOut,
    LandedCostRequest,
    OrderCreate,
    OrderOut,
)
from shared.auth import IdentityDep
from shared.idempotency import CommandDep
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.read import ReadSessionDep
from shared.types import Code, UtcDatetime

router = APIRouter(prefix="/v1/orders", tags=["orders"])
insights_router = APIRouter(prefix="/v1/insights", tags=["insights"])

HsQuery = Annotated[str, Code(r"^[0-9]{6}$", description="HS subheading: 6 ASCII digits.")]


def _location(model: BaseModel) -> str:
    assert isinstance(model, OrderOut)
    return f"/v1/orders/{model.id}"


@router.post("", status_code=201, response_model=OrderOut, dependencies=[placers])
async def place_order(body: OrderCreate, identity: IdentityDep, command: CommandDep, ctx: ContextDep) -> Response:
    """Place an order (`pending`); the same reference with the same content returns the order with 200."""
    created: list[bool] = []

    async def handler(session: AsyncSession) -> OrderOut:
        out, new = await service.place_order(session, body, identity, ctx)
        created.append(new)
        return out

    response = await command.run(handler, status_code=201, location=_location)
    if created and not created[0]:
        response.status_code = 200
        del response.headers["location"]
    return response


@router.post("/landed-cost", response_model=LandedCostOut, dependencies=[readers])
async def landed_cost(
    body: LandedCostRequest, identity: IdentityDep, session: ReadSessionDep, ctx: ContextDep
) -> LandedCostOut:
    """The landed cost in CNY of these lines for a buyer in China, without placing an order."""
    return await service.quote_landed_cost(session, body, identity, ctx)


@router.get("", response_model=Page[OrderOut], dependencies=[readers])
async def list_orders(
    identity: IdentityDep,
    session: ReadSessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    status: OrderStatus | None = None,
    seller_id: Annotated[Id | None, Query()] = None,
    marketplace_id: Annotated[Id | None, Query()] = None,
    placed_from: Annotated[UtcDatetime | None, Query()] = None,
    placed_to: Annotated[UtcDatetime | None, Query()] = None,
) -> Page[OrderOut]:
    return await service.search(
        session,
        identity,
        limit=limit,
        cursor=cursor,
        status=status,
        seller_id=seller_id,
        marketplace_id=marketplace_id,
        placed_from=placed_from,
        placed_to=placed_to,
    )


@router.get("/{order_id}", response_model=OrderOut, dependencies=[readers])
async def get_order(order_id: str, identity: IdentityDep, session: ReadSessionDep) -> OrderOut:
    return await service.get_order(session, order_id, identity)


@router.get("/{order_id}/history", response_model=HistoryOut, dependencies=[readers])
async def order_history(order_id: str, identity: IdentityDep, session: ReadSessionDep) -> HistoryOut:
    return await service.history(session, order_id, identity)


@router.post("/{order_id}/cancel", response_model=OrderOut, dependencies=[placers])
async def cancel_order(
    order_id: str, identity: IdentityDep, command: CommandDep, body: Annotated[CancelIn | None, Body()] = None
) -> Response:
    """Cancel before dispatch; the reserved stock is given back. A shipped or settled order is a 409."""
    given = body or CancelIn()
    return await command.run(lambda s: service.cancel(s, order_id, given, identity))


@insights_router.get("/demand", response_model=DemandOut, dependencies=[readers])
async def demand(
    identity: IdentityDep,
    session: ReadSessionDep,
    window: Annotated[int, Query(description="7, 30 or 90 days.")] = 30,
    category: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[a-z0-9:._-]+$")] = None,
    hs_code: Annotated[HsQuery | None, Query()] = None,
) -> DemandOut:
    """Export-opportunity insight: what was ordered per category and HS code, against the previous window."""
    return await insights.demand(session, identity, window=window, category=category, hs_code=hs_code)


routers = [router, insights_router]
