"""The platform's API documents through the running test platform (every registered service + gateway).

`/openapi.json` (merged), `/asyncapi.json` and `/docs` need no key; both documents validate against
their specifications; every public path of every registered service and every event contract is
described; and the docs page, opened in headless Chromium, renders every operation (screenshot saved
under `.data/artefacts/`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate

from gateway.apidocs import merge_openapi
from gateway.asyncapi import contracts, key_field
from gateway.routing import service_for
from shared.registry import registered_services
from tests.support.platform import Platform
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
ASYNCAPI_SCHEMA = Path(__file__).parent / "schemas" / "asyncapi-3.0.0.json"
ARTEFACTS = ROOT / ".data" / "artefacts"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@pytest.fixture(scope="module")
async def merged(platform: Platform) -> dict[str, Any]:
    """The merged document once every upstream's part is in.

    In the test platform all services share one Python process, and FastAPI/pydantic schema
    generation in two server threads at once can fail (a 500 from one service's /openapi.json, never
    seen with one service per process); the gateway then lists it as unavailable and retries after
    `RETRY_S`, which is what this waits for.
    """

    async def complete() -> dict[str, Any] | None:
        async with httpx.AsyncClient(base_url=platform.gateway_url) as anonymous:
            response = await anonymous.get("/openapi.json")
        assert response.status_code == 200, response.text
        document = dict(response.json())
        return None if "x-ewtp-unavailable" in document else document

    return await eventually(complete, timeout_s=30, what="every service's OpenAPI part")


@pytest.fixture(scope="module")
async def asyncapi(platform: Platform) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=platform.gateway_url) as anonymous:
        response = await anonymous.get("/asyncapi.json")
    assert response.status_code == 200, response.text
    return dict(response.json())


def operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, m) for path, item in document["paths"].items() for m in METHODS if m in item}


def test_the_merged_document_is_valid_openapi(merged: dict[str, Any]) -> None:
    validate(merged)
    assert merged["servers"] == [{"url": "/", "description": "The eWTP gateway"}]
    assert set(merged["components"]["securitySchemes"]) == {"ApiKey", "ApiKeyHeader"}
    assert "x-ewtp-unavailable" not in merged


async def test_every_public_operation_of_every_registered_service_is_there(
    platform: Platform, merged: dict[str, Any]
) -> None:
    assert registered_services(), "no service registered"
    ours = operations(merged)
    for definition in registered_services():
        async with httpx.AsyncClient(base_url=platform.servers[definition.name].url) as direct:
            own = (await direct.get("/openapi.json")).json()  # served unsigned by every service
        public = {(p, m) for p, m in operations(own) if service_for(p) is not None}
        assert public, f"{definition.name} has no public operation"
        assert public <= ours, f"{definition.name}: missing {sorted(public - ours)[:5]}"
        assert not {(p, m) for p, m in operations(own) if p.startswith("/health")} & ours
    assert ("/v1/admin/api-keys", "post") in ours
    assert all(service_for(p) is not None or p.startswith("/v1/admin") for p, _ in ours)
    ids = [merged["paths"][p][m]["operationId"] for p, m in ours]
    assert len(ids) == len(set(ids))


def test_every_operation_has_the_key_and_problem_responses(merged: dict[str, Any]) -> None:
    for path, method in operations(merged):
        operation = merged["paths"][path][method]
        assert operation["security"] == [{"ApiKey": []}, {"ApiKeyHeader": []}]
        for status in ("401", "403", "429", "502", "503", "504"):
            content = operation["responses"][status]["content"]
            assert content == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        if method in {"post", "put", "patch"}:
            assert "413" in operation["responses"], (path, method)


def test_every_reference_resolves(merged: dict[str, Any]) -> None:
    refs: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.add(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(merged)
    for ref in refs:
        _, _, kind, name = ref.split("/", 3)
        assert name in merged["components"][kind], ref


def _doc(schemas: dict[str, Any], ref: str, path: str = "/v1/orders") -> dict[str, Any]:
    operation = {
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": ref}}}}}
    }
    return {"openapi": "3.1.0", "paths": {path: {"get": operation}}, "components": {"schemas": schemas}}


def test_components_are_shared_when_equal_and_qualified_when_they_clash() -> None:
    problem = {"type": "object", "properties": {"title": {"type": "string"}}}
    money_a = {
        "type": "object",
        "properties": {"amount": {"type": "string"}, "cur": {"$ref": "#/components/schemas/Cur"}},
    }
    money_b = {"type": "object", "properties": {"amount": {"type": "number"}}}
    cur_a = {"type": "string", "pattern": "^[A-Z]{3}$"}
    orders = _doc({"Money": money_a, "Cur": cur_a, "Same": problem, "Unused": {}}, "#/components/schemas/Money")
    finance = _doc({"Money": money_b, "Same": problem}, "#/components/schemas/Money", "/v1/finance/x")
    finance["paths"]["/v1/finance/x"]["post"] = {
        "responses": {
            "200": {
                "description": "ok",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Same"}}},
            }
        }
    }
    finance["paths"]["/health/live"] = {"get": {"responses": {"200": {"description": "ok"}}}}
    merged = merge_openapi({"orders": orders, "finance": finance}, server_url="https://api.example")
    validate(merged)
    schemas = merged["components"]["schemas"]
    assert schemas["orders.Money"]["properties"]["cur"] == {"$ref": "#/components/schemas/Cur"}
    assert schemas["finance.Money"] == money_b
    assert "Money" not in schemas and "Unused" not in schemas
    assert schemas["Same"] == problem  # equal in both: one copy under its own name
    orders_ref = merged["paths"]["/v1/orders"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert orders_ref == {"$ref": "#/components/schemas/orders.Money"}
    assert "/health/live" not in merged["paths"]
    assert merged["servers"][0]["url"] == "https://api.example"


def test_a_clash_reached_only_through_a_reference_is_qualified_too() -> None:
    """Two `Line`s that differ only in what their `Cur` means must not be merged."""
    line = {"type": "object", "properties": {"c": {"$ref": "#/components/schemas/Cur"}}}
    one = _doc({"Line": line, "Cur": {"type": "string"}}, "#/components/schemas/Line")
    two = _doc({"Line": line, "Cur": {"type": "integer"}}, "#/components/schemas/Line", "/v1/tourism/x")
    schemas = merge_openapi({"orders": one, "tourism": two}, server_url="/")["components"]["schemas"]
    assert {"orders.Line", "tourism.Line", "orders.Cur", "tourism.Cur"} <= set(schemas)
    assert schemas["tourism.Line"]["properties"]["c"] == {"$ref": "#/components/schemas/tourism.Cur"}


def test_the_asyncapi_document_is_valid_and_names_every_contract(asyncapi: dict[str, Any]) -> None:
    schema = json.loads(ASYNCAPI_SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{list(e.path)}: {e.message[:200]}" for e in validator.iter_errors(asyncapi)]
    assert not errors, errors[:5]
    broken = json.loads(json.dumps(asyncapi))
    next(iter(broken["operations"].values()))["action"] = "publish"  # AsyncAPI 2's verb: invalid in 3.0
    assert not validator.is_valid(broken)

    messages = asyncapi["components"]["messages"]
    found = contracts()
    assert len(found) >= 30
    for contract in found:
        message = messages[contract.__name__]
        assert message["name"] == contract.TYPE
        channel = asyncapi["channels"][contract.TOPIC.replace(".", "_")]
        assert channel["address"] == contract.TOPIC
        assert contract.__name__ in channel["messages"]
        assert message["payload"]["properties"]["type"]["const"] == contract.TYPE
        data = message["payload"]["properties"]["data"]["$ref"].rsplit("/", 1)[1]
        assert key_field(contract) in asyncapi["components"]["schemas"][data]["properties"], contract.TYPE
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
    topics = {c.TOPIC for c in found}
    assert {channel["address"] for channel in asyncapi["channels"].values()} == topics | {f"{t}.dlq" for t in topics}


async def test_the_documents_and_the_page_need_no_key(platform: Platform) -> None:
    async with httpx.AsyncClient(base_url=platform.gateway_url) as anonymous:
        for path in ("/openapi.json", "/asyncapi.json", "/docs", "/docs/assets/swagger-ui-bundle.js"):
            assert (await anonymous.get(path)).status_code == 200, path
        page = (await anonymous.get("/docs")).text
        assert "/docs/assets/swagger-ui-bundle.js" in page and "http" not in page.split("<body>")[1]
        assert (await anonymous.get("/docs/assets/nothing.js")).status_code == 404
        assert (await anonymous.get("/v1/sellers")).status_code == 401


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium binary, installed from Debian's packages when missing; skipped only if that is impossible."""
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    if shutil.which("apt-get") is None:
        pytest.skip("chromium is not installed and apt-get is not available to install it")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
        if result.returncode != 0:
            pytest.skip(f"chromium could not be installed ({' '.join(command)}): {result.stderr[-300:]}")
    found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium was installed but is not on PATH")
    return found


def _headless(chromium: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--virtual-time-budget=15000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.timeout(300)  # two headless Chromium runs (up to 15 s of page time each) on a loaded machine
def test_the_docs_page_renders_every_operation_in_headless_chromium(
    platform: Platform, merged: dict[str, Any], chromium: str
) -> None:
    url = f"{platform.gateway_url}/docs"
    dom = _headless(chromium, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-500:]
    html = dom.stdout
    assert "swagger-ui" in html and "opblock" in html, html[:500]
    missing = [(p, m) for p, m in operations(merged) if f'data-path="{p}"' not in html]
    assert not missing, f"not rendered: {missing[:5]}"
    for definition in registered_services():
        assert f'data-tag="{definition.name}' in html, definition.name
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / "gateway-docs.png"
    taken = _headless(chromium, f"--screenshot={shot}", "--window-size=1400,3000", "--hide-scrollbars", url)
    assert taken.returncode == 0 and shot.stat().st_size > 10_000, taken.stderr[-500:]
