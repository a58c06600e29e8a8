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

    @app.post("/things/{thing_id}", response_model=Declared)
    async def thing(thing_id: str, command: CommandDep) -> Response:
        async def made(session: AsyncSession) -> Declared:
            await session.execute(insert(effects_table).values(note=thing_id[:10].replace("\x00", "0")))
            return Declared(id=thing_id[:10].replace("\x00", "0"))

        return await command.run(made)

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


async def test_an_idempotency_key_belongs_to_the_party_not_to_one_of_its_keys(db: Database) -> None:
    """Two keys of one seller share a key's record (a retry across a key rotation replays); the
    same key of another seller, or of an unbound key, is its own."""
    app = _app(db)

    def client(principal: str, subject: str | None, role: str = "seller") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        signer = GatewaySigner(SECRET, principal=principal, role=role, subject=subject)
        return httpx.AsyncClient(transport=transport, base_url="http://t", auth=signer)

    key = {"Idempotency-Key": "k1"}
    async with client("key1", "s-1") as old, client("key2", "s-1") as new, client("key3", "s-2") as other:
        first = await old.post("/things/a", headers=key)
        again = await new.post("/things/a", headers=key)
        theirs = await other.post("/things/a", headers=key)
    async with client("ops1", None, "ops") as ops1, client("ops2", None, "ops") as ops2:
        by_ops = [await ops1.post("/things/a", headers=key), await ops2.post("/things/a", headers=key)]
    assert [r.status_code for r in (first, again, theirs, *by_ops)] == [200] * 5
    assert again.headers.get("idempotent-replayed") == "true"
    assert not any(r.headers.get("idempotent-replayed") for r in (theirs, *by_ops))


async def test_a_scope_too_long_or_with_a_nul_for_its_column_is_kept_as_a_digest(db: Database) -> None:
    """On both databases: never a 500, and the retry still replays."""
    transport = httpx.ASGITransport(app=_app(db), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", auth=GatewaySigner(SECRET)) as client:
        for thing_id in ("x" * 400, "a%00b"):
            first = await client.post(f"/things/{thing_id}", headers={"Idempotency-Key": "long"})
            again = await client.post(f"/things/{thing_id}", headers={"Idempotency-Key": "long"})
            assert (first.status_code, again.status_code) == (200, 200), first.text
            assert again.headers["idempotent-replayed"] == "true"
