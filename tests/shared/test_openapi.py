"""Every operation declares the problem statuses it can answer, with the problem+json schema."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Header
from pydantic import BaseModel

from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from shared.errors import PROBLEM_JSON
from shared.openapi import add_problem_responses
from shared.registry import registered_services
from tests.support.platform import service_settings


class Thing(BaseModel):
    name: str


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/things")
    async def listing(cursor: str | None = None) -> list[Thing]:
        return []

    @app.get("/things/{thing_id}")
    async def one(thing_id: str) -> Thing:
        return Thing(name=thing_id)

    @app.post("/things", status_code=201)
    async def create(thing: Thing, idempotency_key: Annotated[str | None, Header()] = None) -> Thing:
        return thing

    @app.patch("/things/{thing_id}")
    async def change(thing_id: str, thing: Thing, if_match: Annotated[str | None, Header()] = None) -> Thing:
        return thing

    @app.get("/other")
    async def other() -> dict[str, str]:
        return {}

    @app.get("/health/ready")
    async def health() -> dict[str, str]:
        return {}

    add_problem_responses(app)
    return app


def _problems(operation: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {
        int(status): r for status, r in operation["responses"].items() if status != "default" and int(status) >= 400
    }


def test_statuses_follow_from_the_operation() -> None:
    paths = _app().openapi()["paths"]
    assert sorted(_problems(paths["/other"]["get"])) == [401, 403, 429, 503]
    assert sorted(_problems(paths["/health/ready"]["get"])) == [503]
    assert sorted(_problems(paths["/things"]["get"])) == [400, 401, 403, 422, 429, 503]
    assert sorted(_problems(paths["/things/{thing_id}"]["get"])) == [401, 403, 404, 422, 429, 503]
    assert sorted(_problems(paths["/things"]["post"])) == [400, 401, 403, 409, 413, 422, 429, 503]
    assert sorted(_problems(paths["/things/{thing_id}"]["patch"])) == [400, 401, 403, 404, 409, 412, 413, 422, 429, 503]


def test_every_problem_is_problem_json_with_the_problem_schema() -> None:
    document = _app().openapi()
    assert document["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]
    for item in document["paths"].values():
        for operation in item.values():
            for status, response in _problems(operation).items():
                assert list(response["content"]) == [PROBLEM_JSON], status
                assert response["content"][PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/Problem"}


@pytest.mark.parametrize("name", [s.name for s in registered_services()])
def test_every_service_operation_declares_its_problems(name: str, tmp_path: Any) -> None:
    definition = next(s for s in registered_services() if s.name == name)
    app = definition.create_app(service_settings(name, f"sqlite+aiosqlite:///{tmp_path}/x.db", "127.0.0.1:1"))
    paths = app.openapi()["paths"]
    operations = [op for path, item in paths.items() if not path.startswith("/health/") for op in item.values()]
    assert operations
    for operation in operations:
        problems = _problems(operation)
        assert {401, 403, 429, 503} <= set(problems), operation["operationId"]
        assert all(PROBLEM_JSON in r["content"] for r in problems.values())


def test_the_gateway_admin_api_declares_its_problems(tmp_path: Any) -> None:
    app = create_gateway(GatewaySettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/g.db"))
    paths = app.openapi()["paths"]
    assert 400 in _problems(paths["/v1/admin/api-keys"]["get"])
    assert {404, 409} <= set(_problems(paths["/v1/admin/api-keys/{key_id}"]["delete"]))
    assert {400, 413, 422} <= set(_problems(paths["/v1/admin/api-keys"]["post"]))
