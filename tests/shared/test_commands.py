"""The unit of work is typed: what a command returns is checked against the route's `response_model`."""

import httpx
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from shared.auth import SignedIdentityMiddleware
from shared.commands import CommandDep
from shared.db import Database
from shared.errors import install_problem_handlers
from tests.shared.conftest import effects_table
from tests.support.signing import GatewaySigner

SECRET = b"s"


class Declared(BaseModel):
    id: str


class Other(BaseModel):
    note: str


def _app(db: Database) -> FastAPI:
    app = FastAPI()
    app.state.db = db
    install_problem_handlers(app)

    async def effect(session: AsyncSession) -> Other:
        await session.execute(insert(effects_table).values(note="should roll back"))
        return Other(note="not what the route declares")

    async def right(session: AsyncSession) -> Declared:
        return Declared(id="d1")

    @app.post("/wrong", response_model=Declared)
    async def wrong(command: CommandDep) -> Response:
        return await command.run(effect)

    @app.post("/right", response_model=Declared, status_code=201)
    async def fine(command: CommandDep) -> Response:
        return await command.run(right, status_code=201, location=lambda d: f"/right/{d.id}")

    app.add_middleware(SignedIdentityMiddleware, secret=SECRET, max_age_s=60)
    return app


async def test_a_result_that_is_not_the_declared_response_model_is_refused_and_rolled_back(db: Database) -> None:
    transport = httpx.ASGITransport(app=_app(db), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", auth=GatewaySigner(SECRET)) as client:
        wrong = await client.post("/wrong", headers={"Idempotency-Key": "w1"})
        right = await client.post("/right", headers={"Idempotency-Key": "r1"})
    assert wrong.status_code == 500
    assert right.status_code == 201 and right.headers["location"] == "/right/d1"
    async with db.read() as session:
        assert (await session.execute(select(func.count()).select_from(effects_table))).scalar_one() == 0
