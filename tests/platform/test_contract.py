"""What every registered service must do, checked on each one directly (not through the gateway).

Parametrised over the registry (shared/registry.py), so a new service is covered by being written;
its own test files then test only its own rules. Migrations (up, check, down, up) are covered for
every registered service by tests/test_migrations.py.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from shared.registry import registered_services
from tests.support.platform import Platform
from tests.support.signing import signed_headers

SERVICES = [s.name for s in registered_services()]
PROBLEM = "application/problem+json"
#: Services whose API takes no JSON body at all (none today).
_NO_JSON_BODY: frozenset[str] = frozenset()


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert "location" not in response.headers
    return dict(response.json())


#: What fills a path parameter in a probe: a syntactically valid id (the probes fail before any lookup).
_ANY_ID = "00000000-0000-4000-8000-000000000000"


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", _ANY_ID, path)


def _operations(platform: Platform, name: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every /v1 operation as (method, path template, operation), read from the OpenAPI document.

    Not from `app.routes`: there an included router may stay one unexpanded object, so a probe built
    from it would test no real route (the fuzz tests read the same document)."""
    return [
        (method.upper(), path, operation)
        for path, item in platform.app(name).openapi()["paths"].items()
        if path.startswith("/v1/")
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def _get_routes(platform: Platform, name: str) -> list[str]:
    """The service's own /v1 GET routes, path parameters filled with an id."""
    return sorted({_fill(path) for method, path, _ in _operations(platform, name) if method == "GET"})


def _json_body_routes(platform: Platform, name: str) -> list[tuple[str, str]]:
    """(method, path) of every /v1 operation that takes a JSON body, path parameters filled with an id."""
    return [
        (method, _fill(path))
        for method, path, operation in _operations(platform, name)
        if "application/json" in operation.get("requestBody", {}).get("content", {})
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
    routes = _get_routes(platform, name)
    assert routes, f"{name} declares no GET route in its OpenAPI document"
    probes += [f"{path}/" for path in routes]
    async with httpx.AsyncClient(base_url=platform.servers[name].url) as client:
        for path in probes:
            body = _problem(await client.get(path, headers=signed_headers("GET", path)), 404)
            assert "127.0.0.1" not in str(body)


@pytest.mark.parametrize("name", SERVICES)
async def test_malformed_json_is_400_and_an_oversized_body_413(platform: Platform, name: str) -> None:
    routes = _json_body_routes(platform, name)
    assert routes or name in _NO_JSON_BODY, f"{name} declares no JSON body in its OpenAPI document"
    limit = platform.app(name).state.parts.settings.max_body_bytes
    method, target = routes[0] if routes else ("POST", "/v1/anything")
    body = b'{"unterminated'
    async with httpx.AsyncClient(base_url=platform.servers[name].url) as client:
        headers = signed_headers(method, target) | {"content-type": "application/json"}
        _problem(await client.request(method, target, content=b"x" * (limit + 1), headers=headers), 413)
        for method, path in routes:
            # The body fails before the route runs, whatever the ids in the path.
            headers = signed_headers(method, path, body=body) | {"content-type": "application/json"}
            problem = _problem(await client.request(method, path, content=body, headers=headers), 400)
            assert "127.0.0.1" not in str(problem), (method, path)
