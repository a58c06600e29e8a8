"""Idempotency-Key: replay byte for byte, refuse another body, 409 while in flight, commit with the effect."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import SignedIdentityMiddleware
from shared.db import Database
from shared.errors import Conflict, install_problem_handlers
from shared.idempotency import CommandDep
from tests.shared.conftest import effects_table
from tests.support.signing import GatewaySigner

SECRET = b"s"


class Note(BaseModel):
    note: str


class Created(BaseModel):
    id: str
    note: str


def _app(db: Database, gate: asyncio.Event, entered: asyncio.Event) -> FastAPI:
    app = FastAPI()
    app.state.db = db
    install_problem_handlers(app)
    flaky_failures = [Conflict("refused the first time")]

    async def effect(session: AsyncSession, body: Note) -> Created:
        if body.note == "slow":
            entered.set()
            await gate.wait()
        if body.note == "flaky" and flaky_failures:
            raise flaky_failures.pop()
        await session.execute(insert(effects_table).values(note=body.note))
        return Created(id=str(uuid.uuid4()), note=body.note)

    @app.post("/notes", status_code=201)
    async def create(body: Note, command: CommandDep) -> object:
        return await command.run(lambda s: effect(s, body), status_code=201)

    app.add_middleware(SignedIdentityMiddleware, secret=SECRET, max_age_s=60)
    return app


def _signed(key: str | None) -> dict[str, str]:
    """The idempotency key header; the client's `GatewaySigner` signs each request as sent."""
    return {"Idempotency-Key": key} if key else {}


@pytest.fixture
async def setup(db: Database) -> AsyncIterator[tuple[httpx.AsyncClient, Database, asyncio.Event, asyncio.Event]]:
    gate, entered = asyncio.Event(), asyncio.Event()
    transport = httpx.ASGITransport(app=_app(db, gate, entered))
    async with httpx.AsyncClient(transport=transport, base_url="http://t", auth=GatewaySigner(SECRET)) as client:
        yield client, db, gate, entered


async def _effects(db: Database) -> int:
    async with db.read() as s:
        return int((await s.execute(select(func.count()).select_from(effects_table))).scalar_one())


async def test_same_key_same_body_replays_the_first_response(setup: tuple) -> None:  # type: ignore[type-arg]
    client, db, _, _ = setup
    first = await client.post("/notes", json={"note": "a"}, headers=_signed("k1"))
    again = await client.post(
        "/notes", content=b'{ "note" :"a"}', headers=_signed("k1") | {"content-type": "application/json"}
    )
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert await _effects(db) == 1


async def test_same_key_other_body_is_refused(setup: tuple) -> None:  # type: ignore[type-arg]
    client, db, _, _ = setup
    await client.post("/notes", json={"note": "a"}, headers=_signed("k2"))
    other = await client.post("/notes", json={"note": "b"}, headers=_signed("k2"))
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await _effects(db) == 1


async def test_a_key_in_flight_gets_409(setup: tuple) -> None:  # type: ignore[type-arg]
    client, db, gate, entered = setup
    slow = asyncio.create_task(client.post("/notes", json={"note": "slow"}, headers=_signed("k3")))
    await entered.wait()
    concurrent = await client.post("/notes", json={"note": "slow"}, headers=_signed("k3"))
    gate.set()
    assert concurrent.status_code == 409
    assert (await slow).status_code == 201
    assert await _effects(db) == 1


async def test_a_failed_request_releases_its_key(setup: tuple) -> None:  # type: ignore[type-arg]
    """After a refusal the same key and body act afresh: neither replayed (409 stored) nor in flight (409)."""
    client, db, _, _ = setup
    refused = await client.post("/notes", json={"note": "flaky"}, headers=_signed("k4"))
    assert refused.status_code == 409
    assert await _effects(db) == 0
    again = await client.post("/notes", json={"note": "flaky"}, headers=_signed("k4"))
    assert again.status_code == 201, again.text
    assert "idempotent-replayed" not in again.headers
    assert await _effects(db) == 1


async def test_without_a_key_each_request_acts(setup: tuple) -> None:  # type: ignore[type-arg]
    client, db, _, _ = setup
    await client.post("/notes", json={"note": "x"}, headers=_signed(None))
    await client.post("/notes", json={"note": "x"}, headers=_signed(None))
    assert await _effects(db) == 2


async def test_a_malformed_key_is_a_400(setup: tuple) -> None:  # type: ignore[type-arg]
    client, _, _, _ = setup
    r = await client.post("/notes", json={"note": "x"}, headers=_signed("has space"))
    assert r.status_code == 400
