"""Schemathesis over every registered service's OpenAPI, through the gateway, as ops and as a seller.

What it pins, for every operation of every service (a new service is covered by being registered):
no generated request, valid or not, gets a 5xx, and every answer matches the status and schema the
operation's OpenAPI document declares (problem+json included, see shared/openapi.py). Requests go
through the gateway with real API keys, so they cross the same identity signing, routing and
limits as a client's.

Bounded so that `make test` stays fast: a few examples per operation and mode (positive and
negative data), derandomised (the same cases every run, so a failure is reproducible and CI never
flakes on a case it happened to draw). `EWTP_FUZZ_EXAMPLES=200 EWTP_FUZZ_SEED=<n>` explores further
by hand.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
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
#: Examples per operation and generation mode; small by default (see the module docstring).
EXAMPLES = int(os.environ.get("EWTP_FUZZ_EXAMPLES", "8"))
SEED = os.environ.get("EWTP_FUZZ_SEED")


@pytest.fixture(scope="module")
async def fuzz_seller(platform: Platform) -> Seller:
    """A verified seller with its own key: the seller's view of every operation."""
    return await verified_seller(platform)


def _settings() -> Callable[[Any], Any]:
    return settings(
        max_examples=EXAMPLES,
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
) -> str | None:
    """The first failure schemathesis finds for one operation in one mode, as text; None if none."""

    @_settings()
    @given(case=operation.as_strategy(generation_mode=mode), _seed=st.just(SEED))
    def run(case: schemathesis.Case, _seed: str | None) -> None:
        response = case.call(base_url=base_url, headers=headers, session=session, timeout=30)
        case.validate_response(response, checks=CHECKS, headers=headers)

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
    failures: list[str] = []
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            if not operation.path.startswith("/v1/"):
                continue  # health probes: not routed by the gateway
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                failure = _fuzz_operation(operation, mode, platform.gateway_url, headers, session)
                if failure is not None:
                    failures.append(failure)
    assert not failures, "\n\n".join(failures)
