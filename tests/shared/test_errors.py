"""Every error a service returns is problem+json: unknown route, wrong method, bad fields, bad JSON, big body."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError

from shared.errors import PROBLEM_JSON, Conflict, install_problem_handlers
from shared.http import BodyLimitMiddleware


class Thing(BaseModel):
    name: str = Field(max_length=5)
    count: int = Field(ge=0)


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def create(thing: Thing) -> Thing:
        return thing

    @app.get("/conflict")
    async def conflict() -> None:
        raise Conflict("already there", current_status="verified")

    @app.get("/db-down")
    async def db_down() -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("bug")

    app.add_middleware(BodyLimitMiddleware, max_bytes=1000)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    r = await client.get("/nowhere")
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.json()["status"] == 404 and "/nowhere" in r.json()["detail"]


async def test_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    r = await client.delete("/things")
    assert r.status_code == 405 and r.headers["content-type"] == PROBLEM_JSON
    assert "POST" in r.headers["allow"]


async def test_each_bad_field_is_listed(client: httpx.AsyncClient) -> None:
    r = await client.post("/things", json={"name": "toolong", "count": -1})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM_JSON
    assert {e["field"] for e in r.json()["errors"]} == {"name", "count"}


async def test_missing_field_is_named(client: httpx.AsyncClient) -> None:
    r = await client.post("/things", json={"name": "ok"})
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "count", "reason": "Field required"}]


async def test_malformed_json_is_a_400(client: httpx.AsyncClient) -> None:
    r = await client.post("/things", content=b'{"name": ', headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM_JSON
    assert "JSON" in r.json()["detail"]


async def test_oversized_body_is_a_413_declared_or_chunked(client: httpx.AsyncClient) -> None:
    r = await client.post("/things", content=b"x" * 5000, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"] == PROBLEM_JSON

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 500

    r = await client.post("/things", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


async def test_typed_problems_carry_their_extensions(client: httpx.AsyncClient) -> None:
    r = await client.get("/conflict")
    assert r.status_code == 409
    assert r.json()["current_status"] == "verified" and r.json()["detail"] == "already there"


async def test_a_bug_is_a_500_problem_without_internals(client: httpx.AsyncClient) -> None:
    r = await client.get("/boom")
    assert r.status_code == 500 and r.headers["content-type"] == PROBLEM_JSON
    assert "bug" not in r.text


async def test_an_unavailable_database_is_a_retryable_503(client: httpx.AsyncClient) -> None:
    r = await client.get("/db-down")
    assert r.status_code == 503
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.headers["retry-after"] == "1"
    assert "refused" not in r.text
