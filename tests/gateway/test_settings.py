"""Gateway settings: env prefix, defaults, and upstream URLs that are bare origins or empty."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.settings import GatewaySettings


def test_defaults_follow_the_design_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = GatewaySettings()
    assert settings.service_name == "gateway"
    assert settings.database_url == "sqlite+aiosqlite:///.data/gateway.db"
    ports = [settings.sellers_url, settings.catalogue_url, settings.orders_url]
    ports += [settings.finance_url, settings.logistics_url, settings.tourism_url]
    assert ports == [f"http://127.0.0.1:{p}" for p in range(8001, 8007)]
    assert (settings.upstream_connect_timeout_s, settings.upstream_timeout_s, settings.key_cache_ttl_s) == (2, 30, 2)


def test_the_gateway_prefix_configures_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_ORDERS_URL", "")
    monkeypatch.setenv("GATEWAY_SELLERS_URL", "http://sellers:8001/")
    monkeypatch.setenv("GATEWAY_KEY_CACHE_TTL_S", "0")
    settings = GatewaySettings()
    assert (settings.orders_url, settings.sellers_url, settings.key_cache_ttl_s) == ("", "http://sellers:8001", 0)


@pytest.mark.parametrize("url", ["sellers:8001", "ftp://sellers", "http://sellers:8001/api", "http://", "http://h?x=1"])
def test_an_upstream_url_must_be_a_bare_origin(url: str) -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(sellers_url=url)


def test_the_development_secret_is_refused_in_production() -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(environment="production")
