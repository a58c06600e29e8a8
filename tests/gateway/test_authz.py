"""The role × route matrix, every cell asserted through a running gateway in front of an echoing upstream.

The expected matrix is written out here by hand (not derived from `gateway.authz.RULES`), so a change
to the table is a change to this test too. An allowed cell reaches the upstream (which echoes what it
received); a refused one is the gateway's own 403 problem and never reaches it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from gateway.app import create_app
from gateway.authz import ADMIN_PREFIX, RULES, allowed, route_group
from gateway.keys import create_key_sync
from gateway.settings import GatewaySettings
from shared.auth import Role
from tests.gateway.conftest import SECRET, Gateway, Upstream, problem
from tests.support.broker import free_port
from tests.support.databases import Databases
from tests.support.servers import ServerThread
from tests.support.waiting import eventually

ROLES = ("ops", "rdb_officer", "seller", "marketplace", "lender", "traveller_app")
EVERYONE = " ".join(ROLES)

#: group → (roles that may read, roles that may write). Hand-written: the contract of the table.
EXPECTED: dict[str, tuple[str, str]] = {
    "/v1/sellers": ("ops rdb_officer seller", "ops rdb_officer seller"),
    "/v1/listings": (EVERYONE, "ops seller"),
    "/v1/categories": (EVERYONE, "ops"),
    "/v1/feeds": ("ops marketplace", "ops"),
    "/v1/orders": ("ops marketplace seller", "ops marketplace"),
    "/v1/orders/landed-cost": ("ops marketplace seller", "ops marketplace seller"),
    "/v1/insights": ("ops seller rdb_officer", "ops"),
    "/v1/finance": ("ops seller lender", "ops seller lender"),
    "/v1/logistics": ("ops seller marketplace", "ops"),
    "/v1/logistics/quotes": ("ops seller marketplace", "ops seller marketplace"),
    "/v1/tourism": ("ops traveller_app", "ops traveller_app"),
    "/v1/admin": ("ops", "ops"),
}
READS = ("GET", "HEAD", "OPTIONS")
WRITES = ("POST", "PUT", "PATCH", "DELETE")
SUBJECTS = {"seller": "slr-matrix", "marketplace": "mkt-matrix", "traveller_app": "app-matrix"}


def cells() -> Iterator[tuple[str, str, str, bool]]:
    for group, (readers, writers) in EXPECTED.items():
        for role in ROLES:
            for method in READS:
                yield group, role, method, role in readers.split()
            for method in WRITES:
                yield group, role, method, role in writers.split()


@pytest.fixture(scope="module")
def open_gateway(upstream: Upstream, databases: Databases) -> Iterator[tuple[Gateway, dict[str, str]]]:
    """A gateway whose every upstream is the echo service (so every allowed cell answers 200), no limits."""
    database_url = databases.url("gateway_authz")
    upstreams = {f"{name}_url": upstream.url for name in ("sellers", "catalogue", "orders", "finance")}
    upstreams |= {f"{name}_url": upstream.url for name in ("logistics", "tourism")}
    settings = GatewaySettings(
        database_url=database_url,
        signing_secret=SECRET,
        log_level="WARNING",
        **upstreams,
        **{f"rate_limit_{role}": "0" for role in ROLES},
    )
    server = ServerThread(create_app(settings), free_port()).start()
    keys = {
        role: create_key_sync(database_url, name=f"matrix {role}", role=role, subject_id=SUBJECTS.get(role))
        for role in ROLES
    }
    yield Gateway(server=server, database_url=database_url, ops_key=keys["ops"]), keys
    server.stop()


def test_the_expected_matrix_covers_every_group_of_the_table() -> None:
    assert set(EXPECTED) == set(RULES)
    for group, (readers, writers) in EXPECTED.items():
        assert {r.value for r in RULES[group].read} == set(readers.split()), group
        assert {r.value for r in RULES[group].write} == set(writers.split()), group


@pytest.mark.parametrize(
    ("path", "group"),
    [
        ("/v1/sellers", "/v1/sellers"),
        ("/v1/sellers/slr-1/documents", "/v1/sellers"),
        ("/v1/logistics/quotes", "/v1/logistics/quotes"),
        ("/v1/logistics/quotes/q-1", "/v1/logistics/quotes"),
        ("/v1/logistics/quotesX", "/v1/logistics"),
        ("/v1/orders/landed-cost", "/v1/orders/landed-cost"),
        ("/v1/orders/o-1", "/v1/orders"),
        ("/v1/logistics/shipments/s-1", "/v1/logistics"),
        ("/v1/admin/api-keys", "/v1/admin"),
        ("/v1/sellersX", None),
        ("/v2/sellers", None),
        ("/health/live", None),
        ("", None),
        ("v1/sellers", None),
    ],
)
def test_a_path_belongs_to_its_most_specific_group(path: str, group: str | None) -> None:
    assert route_group(path) == group
    if group is None:
        assert allowed(Role.OPS, "GET", path) is None


async def test_every_cell_of_the_matrix_through_the_gateway(
    open_gateway: tuple[Gateway, dict[str, str]],
) -> None:
    gateway, keys = open_gateway
    wrong: list[str] = []
    checked = 0
    clients = {role: gateway.client(keys[role]) for role in ROLES}
    try:
        for group, role, method, expected in cells():
            path = f"{group}/x-matrix" if group != ADMIN_PREFIX else f"{group}/api-keys"
            response = await clients[role].request(method, path, json={} if method in WRITES else None)
            checked += 1
            refused = response.status_code == 403 and "may not" in response.text
            if method == "HEAD":  # no body to read: the status says it
                refused = response.status_code == 403
            if expected and refused or not expected and not refused:
                wanted = "allowed" if expected else "403"
                wrong.append(f"{role} {method} {path}: {response.status_code} (expected {wanted})")
                continue
            if not expected and method != "HEAD":
                problem(response, 403)
            elif expected and group != ADMIN_PREFIX:
                # Reached the upstream, which echoes the method and path it received.
                assert response.status_code == 200, (role, method, path, response.text)
                if method != "HEAD":
                    assert (response.json()["method"], response.json()["path"]) == (method, path)
    finally:
        for client in clients.values():
            await client.aclose()
    assert not wrong, "\n".join(wrong)
    assert checked == len(EXPECTED) * len(ROLES) * (len(READS) + len(WRITES))


async def test_the_admin_api_answers_ops_itself(open_gateway: tuple[Gateway, dict[str, str]]) -> None:
    gateway, keys = open_gateway
    async with gateway.client(keys["ops"]) as ops:
        assert (await ops.get("/v1/admin/api-keys", params={"limit": 1})).status_code == 200
        problem(await ops.post("/v1/admin/api-keys", json={}), 422)


async def test_unknown_revoked_and_expired_keys_are_401(open_gateway: tuple[Gateway, dict[str, str]]) -> None:
    gateway, keys = open_gateway
    async with gateway.client("ewtp_abcdefgh_" + "a" * 43) as unknown:
        problem(await unknown.get("/v1/listings"), 401)
    async with gateway.client() as anonymous:
        problem(await anonymous.get("/v1/tourism/offers"), 401)
    async with gateway.client(keys["ops"]) as ops:
        issued = (await ops.post("/v1/admin/api-keys", json={"name": "to revoke", "role": "lender"})).json()
        async with gateway.client(issued["key"]) as lender:
            assert (await lender.get("/v1/finance/applications")).status_code == 200
            assert (await ops.delete(f"/v1/admin/api-keys/{issued['id']}")).status_code == 204
            assert "revoked" in problem(await lender.get("/v1/finance/applications"), 401)["detail"]
        soon = datetime.now(UTC) + timedelta(seconds=1.5)
        created = await ops.post(
            "/v1/admin/api-keys", json={"name": "short", "role": "lender", "expires_at": soon.isoformat()}
        )
        assert created.status_code == 201, created.text
        assert created.json()["expires_at"] is not None
    async with gateway.client(created.json()["key"]) as short:
        assert (await short.get("/v1/finance/applications")).status_code == 200

        async def expired() -> httpx.Response | None:
            response = await short.get("/v1/finance/applications")
            return response if response.status_code == 401 else None

        refused = await eventually(expired, timeout_s=10, what="the key to expire")
        assert "expired" in problem(refused, 401)["detail"]
