"""The routing table matches whole path segments and nothing else."""

from __future__ import annotations

import pytest

from gateway.routing import PREFIXES, Service, service_for, upstream_urls
from gateway.settings import GatewaySettings


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/v1/sellers", Service.SELLERS),
        ("/v1/sellers/", Service.SELLERS),
        ("/v1/sellers/abc/documents", Service.SELLERS),
        ("/v1/listings/lst-1", Service.CATALOGUE),
        ("/v1/categories", Service.CATALOGUE),
        ("/v1/feeds/tmall/snapshot", Service.CATALOGUE),
        ("/v1/orders", Service.ORDERS),
        ("/v1/insights/demand", Service.ORDERS),
        ("/v1/finance/applications", Service.FINANCE),
        ("/v1/logistics/quotes", Service.LOGISTICS),
        ("/v1/tourism/offers", Service.TOURISM),
    ],
)
def test_a_public_prefix_routes_to_its_service(path: str, service: Service) -> None:
    assert service_for(path) is service


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "",
        "/v1",
        "/v1/",
        "/v1/sellersX",
        "/v1/seller",
        "/v1/sellers-admin/x",
        "/v2/sellers",
        "/V1/sellers",
        "//v1/sellers",
        "v1/sellers",
        "/v1/admin/api-keys",
        "/health/live",
    ],
)
def test_anything_else_routes_nowhere(path: str) -> None:
    assert service_for(path) is None


def test_every_service_has_an_upstream_setting_and_a_prefix() -> None:
    urls = upstream_urls(GatewaySettings(sellers_url=""))
    assert set(urls) == set(Service) == set(PREFIXES.values())
    assert urls[Service.SELLERS] == ""
    assert urls[Service.TOURISM] == "http://127.0.0.1:8006"
