"""Gateway settings (`GATEWAY_` env prefix): one upstream base URL per service, empty when not deployed.

An upstream URL is a bare origin (`http://host:port`, no path): the gateway forwards the request path
unchanged and signs exactly that path, so a base path would make every signature fail in the service.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

__all__ = ["GatewaySettings"]


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    database_url: str = "sqlite+aiosqlite:///.data/gateway.db"

    sellers_url: str = "http://127.0.0.1:8001"
    catalogue_url: str = "http://127.0.0.1:8002"
    orders_url: str = "http://127.0.0.1:8003"
    finance_url: str = "http://127.0.0.1:8004"
    logistics_url: str = "http://127.0.0.1:8005"
    tourism_url: str = "http://127.0.0.1:8006"

    upstream_connect_timeout_s: float = Field(default=2.0, gt=0)
    #: Longest silence from an upstream: before its response headers, and between two body reads.
    upstream_timeout_s: float = Field(default=30.0, gt=0)
    #: How long a verified API key is trusted from memory; revocation in this process evicts at once.
    key_cache_ttl_s: float = Field(default=5.0, ge=0)
    #: Connections kept to all upstreams together (aiohttp connector limit).
    upstream_max_connections: int = Field(default=256, ge=1)
    #: Idle upstream connections are dropped before the services' own keep-alive (uvicorn: 5 s) ends,
    #: so a POST is never written into a connection the service is closing (aiohttp retries only
    #: idempotent methods).
    upstream_keepalive_s: float = Field(default=4.0, gt=0)

    @field_validator(
        "sellers_url", "catalogue_url", "orders_url", "finance_url", "logistics_url", "tourism_url", mode="after"
    )
    @classmethod
    def _bare_origin(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value:
            return ""
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path or parts.query or parts.fragment:
            raise ValueError("must be empty (not deployed) or a bare origin such as http://127.0.0.1:8001")
        return value
