"""Schemathesis over every registered service's OpenAPI, through the gateway, as ops and as a seller.

What it pins, for every operation of every service (a new service is covered by being registered):
no generated request, valid or not, gets a 5xx, and every answer matches the status and schema the
operation's OpenAPI document declares (problem+json included, see shared/openapi.py). Requests go
through the gateway with real API keys, so they cross the same identity signing, routing and
limits as a client's.

Bounded so that `make test` stays fast: a few examples per operation and mode (positive and
negative data), derandomised (the same cases every run, so a failure is reproducible and CI never
flakes on a case it happened to draw). By hand, `EWTP_FUZZ_EXAMPLES=50 EWTP_FUZZ_SEED=<n>` explores
further; found cases become fixes and, where the class is new, a test of their own.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from shared.registry import registered_services
from tests.support.factories import Seller, verified_seller
from tests.support.platform import Platform

#: schemathesis' own strategies draw from `random` (its concern, not ours); everything else stays an error.
pytestmark = pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")

SERVICES = [s.name for s in registered_services()]
ROLES = ("ops", "seller")
CHECKS = [not_a_server_error, response_schema_conformance]
#: Generated requests per service and role, spread over its operations and both generation modes
#: (2 to 8 examples each), so the module's time grows slowly as services are added.
BUDGET = 60
#: By hand: examples per operation and mode (instead of the budget) and a seed (instead of the fixed cases).
EXAMPLES = os.environ.get("EWTP_FUZZ_EXAMPLES")
SEED = os.environ.get("EWTP_FUZZ_SEED")


@pytest.fixture(scope="module")
async def fuzz_seller(platform: Platform) -> Seller:
    """A verified seller with its own key: the seller's view of every operation."""
    return await verified_seller(platform)


def _examples(operations: int) -> int:
    if EXAMPLES is not None:
        return int(EXAMPLES)
    return max(2, min(8, BUDGET // max(1, 2 * operations)))


def _settings(examples: int) -> Callable[[Any], Any]:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=SEED is None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )


def _fuzz_operation(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    base_url: str,
    headers: dict[str, str],
    session: requests.Session,
    examples: int,
    path_parameters: dict[str, str] | None = None,
) -> str | None:
    """The first failure schemathesis finds for one operation in one mode, as text; None if none."""

    @_settings(examples)
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def run(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, headers=headers, session=session, timeout=30)
        case.validate_response(response, checks=CHECKS, headers=headers)

    if SEED is not None:
        run = seed(int(SEED))(run)

    try:
        run()
    except Unsatisfiable:
        return None  # negative data for an operation that takes no input: nothing can be made invalid
    except Exception as exc:  # schemathesis' failures (an exception group) or a transport error
        return f"{mode.value} {operation.label}:\n{_describe(exc)}"
    return None


def _describe(exc: BaseException) -> str:
    """The failures themselves: Hypothesis wraps them (a flaky failure, a group of several)."""
    inner = getattr(exc, "exceptions", None)
    if inner:
        return "\n".join(_describe(e) for e in inner)
    return f"{type(exc).__name__}: {exc}"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", SERVICES)
def test_no_request_gets_a_server_error_or_an_undeclared_answer(
    platform: Platform, fuzz_seller: Seller, name: str, role: str
) -> None:
    key = platform.keys["ops"] if role == "ops" else fuzz_seller.key
    headers = {"Authorization": f"Bearer {key}"}
    schema = schemathesis.openapi.from_dict(platform.app(name).openapi())
    # Health probes and /metrics are not routed by the gateway.
    operations = [op for op in (r.ok() for r in schema.get_all_operations()) if op.path.startswith("/v1/")]
    examples = _examples(len(operations))
    failures: list[str] = []
    with requests.Session() as session:
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                # Valid data as a seller goes to the seller's own account, or it would only meet 404s.
                own = role == "seller" and mode is GenerationMode.POSITIVE and "{seller_id}" in operation.path
                fixed = {"seller_id": fuzz_seller.id} if own else None
                failure = _fuzz_operation(operation, mode, platform.gateway_url, headers, session, examples, fixed)
                if failure is not None:
                    failures.append(failure)
    assert not failures, "\n\n".join(failures)


def _get_operations(platform: Platform, name: str) -> list[tuple[str, list[str], list[str]]]:
    """(path template, path parameters, query parameters) of every GET under /v1, from the OpenAPI
    document (FastAPI's `app.routes` holds included routers unexpanded, so it is not a list of routes)."""
    found = []
    for path, item in platform.app(name).openapi()["paths"].items():
        get = item.get("get")
        if get is None or not path.startswith("/v1/"):
            continue
        params = get.get("parameters", [])
        found.append(
            (path, [p["name"] for p in params if p["in"] == "path"], [p["name"] for p in params if p["in"] == "query"])
        )
    return found


@pytest.mark.parametrize("name", SERVICES)
def test_a_nul_in_any_path_parameter_or_query_parameter_is_a_4xx_on_every_database(
    platform: Platform, name: str
) -> None:
    """PostgreSQL refuses NUL even as a bind parameter: every route, typed or not, must answer 4xx."""
    headers = {"Authorization": f"Bearer {platform.keys['ops']}"}
    operations = _get_operations(platform, name)
    assert operations, f"{name} has no GET operation under /v1"
    with requests.Session() as session:
        for template, path_params, query_params in operations:
            path = template
            for param in path_params:
                path = path.replace("{" + param + "}", "abc%00def")
            if path != template:
                answer = session.get(platform.gateway_url + path, headers=headers, timeout=30)
                assert answer.status_code == 404, (path, answer.text)
                assert answer.headers["content-type"] == "application/problem+json"
            for param in query_params:
                url = f"{platform.gateway_url}{path}?{param}=a%00b"
                answer = session.get(url, headers=headers, timeout=30)
                assert answer.status_code in (404, 422), (url, answer.text)
                if answer.status_code == 422:
                    assert param in {e["field"] for e in answer.json()["errors"]}, (url, answer.text)
