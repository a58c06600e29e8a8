"""Thin routes: parse, authorise by role, hand over to `service`, render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from starlette.responses import Response

from services.sellers import service
from services.sellers.domain import Decision, District, Sector, SellerStatus
from services.sellers.schemas import (
    DecisionIn,
    DocumentCreate,
    DocumentOut,
    HistoryOut,
    SellerCreate,
    SellerOut,
    SellerUpdate,
)
from shared.auth import IdentityDep, Role, require_roles
from shared.commands import CommandDep, json_response
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.read import DatabaseDep, ReadSessionDep
from shared.types import Id, Line

router = APIRouter(prefix="/v1/sellers", tags=["sellers"])

_staff = require_roles(Role.OPS, Role.RDB_OFFICER)
_anyone_seller_side = require_roles(Role.OPS, Role.RDB_OFFICER, Role.SELLER)


def _location(model: SellerOut) -> str:
    return f"/v1/sellers/{model.id}"


@router.post("", status_code=201, response_model=SellerOut, dependencies=[_staff])
async def register_seller(body: SellerCreate, identity: IdentityDep, command: CommandDep) -> Response:
    """Register an exporter (RDB officer or ops); it starts `pending_verification`."""
    return await command.run(lambda s: service.register(s, body, identity), status_code=201, location=_location)


@router.get("", response_model=Page[SellerOut], dependencies=[_anyone_seller_side])
async def list_sellers(
    identity: IdentityDep,
    db: DatabaseDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    status: SellerStatus | None = None,
    sector: Sector | None = None,
    district: District | None = None,
    name: Annotated[Annotated[str, Line(100)] | None, Query(description="Text in the legal name.")] = None,
) -> Response:
    return json_response(
        await service.search(
            db,
            identity,
            limit=limit,
            cursor=cursor,
            status=status,
            sector=sector.value if sector else None,
            district=district.value if district else None,
            name=name,
        )
    )


@router.get("/{seller_id}", response_model=SellerOut, dependencies=[_anyone_seller_side])
async def get_seller(seller_id: Id, identity: IdentityDep, db: DatabaseDep) -> Response:
    return json_response(await service.read(db, seller_id, identity))


@router.patch("/{seller_id}", response_model=SellerOut, dependencies=[require_roles(Role.OPS, Role.SELLER)])
async def update_seller(seller_id: Id, body: SellerUpdate, identity: IdentityDep, command: CommandDep) -> Response:
    """A seller edits its own contact details, district, sectors and NAEB number."""
    return await command.run(lambda s: service.update_profile(s, seller_id, body, identity))


@router.post("/{seller_id}/documents", status_code=201, response_model=DocumentOut, dependencies=[_anyone_seller_side])
async def add_document(seller_id: Id, body: DocumentCreate, identity: IdentityDep, command: CommandDep) -> Response:
    return await command.run(lambda s: service.add_document(s, seller_id, body, identity), status_code=201)


@router.get("/{seller_id}/documents", response_model=list[DocumentOut], dependencies=[_anyone_seller_side])
async def list_documents(seller_id: Id, identity: IdentityDep, session: ReadSessionDep) -> list[DocumentOut]:
    return await service.documents(session, seller_id, identity)


@router.get("/{seller_id}/history", response_model=HistoryOut, dependencies=[_anyone_seller_side])
async def seller_history(seller_id: Id, identity: IdentityDep, session: ReadSessionDep) -> HistoryOut:
    return await service.history(session, seller_id, identity)


def _decision_route(decision: Decision, roles: tuple[Role, ...]) -> None:
    async def decide(
        seller_id: Id, identity: IdentityDep, command: CommandDep, body: Annotated[DecisionIn | None, Body()] = None
    ) -> Response:
        given = body or DecisionIn()
        return await command.run(lambda s: service.decide(s, seller_id, decision, given, identity))

    router.add_api_route(
        f"/{{seller_id}}/{decision.value}",
        decide,
        methods=["POST"],
        response_model=SellerOut,
        dependencies=[require_roles(*roles)],
        name=f"{decision.value}_seller",
        summary=f"{decision.value.capitalize()} a seller",
    )


_decision_route(Decision.VERIFY, (Role.RDB_OFFICER,))
_decision_route(Decision.REJECT, (Role.RDB_OFFICER,))
_decision_route(Decision.SUSPEND, (Role.RDB_OFFICER, Role.OPS))
_decision_route(Decision.REINSTATE, (Role.RDB_OFFICER, Role.OPS))
