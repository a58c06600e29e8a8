"""What every registered service must do, checked on each one directly (not through the gateway).

Parametrised over the registry (shared/registry.py), so a new service is covered by being written;
its own test files then test only its own rules. Migrations (up, check, down, up) are covered for
every registered service by tests/test_migrations.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from shared.registry import registered_services
from tests.support.platform import Platform
from tests.support.signing import signed_headers

SERVICES = [s.name for s in registered_services()]
PROBLEM = "application/problem+json"


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert "location" not in response.headers
    return dict(response.json())


def _get_routes(platform: Platform, name: str) -> list[str]:
    """The service's own /v1 GET routes without path parameters."""
    return [
        route.path
        for route in platform.app(name).routes
        if isinstance(route, APIRoute)
        and "GET" in route.methods
        and route.path.startswith("/v1/")
        and "{" not in route.path
    ]


@pytest.mark.parametrize("name", SERVICES)
async def test_health_answers_without_a_signature(platform: Platform, name: str) -> None:
    async with httpx.AsyncClient(base_url=platform.servers[name].url) as client:
        assert (await client.get("/health/live")).status_code == 200
        assert (await client.get("/health/ready")).status_code == 200


@pytest.mark.parametrize("name", SERVICES)
async def test_an_unsigned_or_forged_request_is_refused(platform: Platform, name: str) -> None:
    path = "/v1/anything"
    async with httpx.AsyncClient(base_url=platform.servers[name].url) as client:
        _problem(await client.get(path), 401)
        forged = signed_headers("GET", path) | {"x-ewtp-role": "seller"}
        _problem(await client.get(path, headers=forged), 401)


@pytest.mark.parametrize("name", SERVICES)
async def test_an_unknown_route_is_404_and_a_trailing_slash_never_redirects(platform: Platform, name: str) -> None:
    """A 307 would put the service's internal address in `location` (issue 7, item 8)."""
    probes = ["/v1/no-such-route", "/health/live/"]
    probes += [f"{path}/" for path in _get_routes(platform, name)]
    async with httpx.AsyncClient(base_url=platform.servers[name].url) as client:
        for path in probes:
            body = _problem(await client.get(path, headers=signed_headers("GET", path)), 404)
            assert "127.0.0.1" not in str(body)


@pytest.mark.parametrize("name", SERVICES)
async def test_malformed_json_is_400_and_an_oversized_body_413(platform: Platform, name: str) -> None:
    posts = [
        route.path
        for route in platform.app(name).routes
        if isinstance(route, APIRoute) and "POST" in route.methods and route.body_field is not None
    ]
    limit = platform.app(name).state.parts.settings.max_body_bytes
    target = posts[0] if posts else "/v1/anything"
    async with httpx.AsyncClient(base_url=platform.servers[name].url) as client:
        headers = signed_headers("POST", target) | {"content-type": "application/json"}
        _problem(await client.post(target, content=b"x" * (limit + 1), headers=headers), 413)
        if posts:
            # Path parameters are filled with a syntactically valid id; the body fails before the route runs.
            path = "/".join("00000000-0000-4000-8000-000000000000" if "_id" in p else p for p in target.split("/"))
            body = b'{"unterminated'
            headers = signed_headers("POST", path, body=body) | {"content-type": "application/json"}
            _problem(await client.post(path, content=body, headers=headers), 400)
