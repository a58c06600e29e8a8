"""Gateway settings (`GATEWAY_` env prefix): one upstream base URL per service, empty when not deployed.

An upstream URL is a bare origin (`http://host:port`, no path): the gateway forwards the request path
unchanged and signs exactly that path, so a base path would make every signature fail in the service.

Rate limits are per API key, one per role, in the `limits` syntax (`600/minute`, `10 per second`);
`0` or empty switches the role's limit off. `rate_limit_storage` is `memory://` (each replica counts
on its own) or a Redis URL (`redis://127.0.0.1:6379/0`, shared by every replica that uses the same
`rate_limit_key_prefix`).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from limits import RateLimitItem, parse_many
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from shared.auth import Role
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
    #: Per route kind: reads (GET, HEAD, OPTIONS) ...
    upstream_timeout_s: float = Field(default=30.0, gt=0)
    #: ... writes (POST, PUT, PATCH, DELETE: short, a write that hangs should fail fast and be retried
    #: with its Idempotency-Key) ...
    upstream_write_timeout_s: float = Field(default=10.0, gt=0)
    #: ... and the marketplace feed (`/v1/feeds`: a full snapshot may take long to start).
    upstream_feed_timeout_s: float = Field(default=300.0, gt=0)
    #: Proxies (addresses or CIDR networks, comma-separated) whose X-Forwarded-* headers are believed.
    trusted_proxies: str = ""
    #: Browser origins allowed by CORS, each with the methods it may use, e.g. (as JSON in the env)
    #: `{"https://shop.example.cn": ["GET"], "https://app.visitrwanda.example": ["GET", "POST", "DELETE"]}`.
    cors_origins: dict[str, list[str]] = Field(default_factory=dict)
    #: How long a verified API key is trusted from memory; revocation in this process evicts at once.
    #: This is THE revocation bound: every other replica refuses a revoked key within this time.
    key_cache_ttl_s: float = Field(default=2.0, ge=0, le=60)
    #: How often the last-used times gathered in memory are written to the key table (one batch).
    last_used_flush_s: float = Field(default=30.0, gt=0)
    #: Connections kept to all upstreams together (aiohttp connector limit).
    upstream_max_connections: int = Field(default=256, ge=1)
    #: Idle upstream connections are dropped before the services' own keep-alive (uvicorn: 5 s) ends,
    #: so a request is rarely written into a connection the service is closing (when it is, the
    #: forwarder sends it again on a fresh connection).
    upstream_keepalive_s: float = Field(default=4.0, gt=0)

    #: The gateway's public base URL for the `servers` of `/openapi.json`; empty: relative (`/`).
    public_url: str = ""
    #: Upstreams whose readiness the gateway's own `/health/ready` requires (comma-separated names);
    #: `*` means every deployed one. Others are reported but do not fail the probe.
    required_upstreams: str = "*"
    #: How long one round of upstream readiness answers is reused by `/health/ready`.
    readiness_cache_s: float = Field(default=1.0, ge=0)

    #: Where rate-limit counters live: `memory://` (per replica) or `redis://host:port/db` (shared).
    rate_limit_storage: str = "memory://"
    #: Prefix of every rate-limit key in Redis: replicas that share limits share the prefix.
    rate_limit_key_prefix: str = Field(default="ewtp-gateway-rl", min_length=1)
    #: Connect and read timeout for the Redis storage; past it the request passes unlimited (fail open).
    rate_limit_storage_timeout_s: float = Field(default=0.25, gt=0)
    #: After a storage failure, requests pass unlimited for this long before Redis is tried again.
    rate_limit_retry_after_failure_s: float = Field(default=5.0, ge=0)
    #: Per-key limits by role. Ops tooling and marketplaces (feed snapshots and deltas, order pushes)
    #: get the most room; one traveller_app key carries every traveller of that app, hence more than
    #: a single seller's key.
    rate_limit_ops: str = "3000/minute"
    rate_limit_marketplace: str = "1200/minute"
    rate_limit_traveller_app: str = "600/minute"
    rate_limit_seller: str = "300/minute"
    rate_limit_rdb_officer: str = "300/minute"
    rate_limit_lender: str = "300/minute"

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

    @field_validator(
        "rate_limit_ops",
        "rate_limit_marketplace",
        "rate_limit_traveller_app",
        "rate_limit_seller",
        "rate_limit_rdb_officer",
        "rate_limit_lender",
        mode="after",
    )
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        value = value.strip()
        if value in {"", "0"}:
            return ""
        _parse_limit(value)
        return value

    @field_validator("trusted_proxies", mode="after")
    @classmethod
    def _networks(cls, value: str) -> str:
        for entry in value.split(","):
            if entry.strip():
                ipaddress.ip_network(entry.strip(), strict=False)  # ValueError names the bad entry
        return value

    @field_validator("cors_origins", mode="after")
    @classmethod
    def _origins(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        methods = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
        for origin, allowed in value.items():
            parts = urlsplit(origin)
            if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path not in {"", "/"}:
                raise ValueError(f"{origin!r} is not an origin such as https://shop.example.cn")
            if not allowed or not {m.upper() for m in allowed} <= methods:
                raise ValueError(f"{origin!r}: methods must be a non-empty subset of {sorted(methods)}")
        return value

    @field_validator("rate_limit_storage", mode="after")
    @classmethod
    def _rate_limit_storage(cls, value: str) -> str:
        value = value.strip()
        if urlsplit(value).scheme not in {"memory", "redis", "rediss"}:
            raise ValueError("must be memory:// or a Redis URL such as redis://127.0.0.1:6379/0")
        return value

    def rate_limit_for(self, role: Role) -> RateLimitItem | None:
        """The per-key limit of `role`, or None when that role is not limited."""
        value: str = getattr(self, f"rate_limit_{role.value}")
        return _parse_limit(value) if value else None


def _parse_limit(value: str) -> RateLimitItem:
    try:
        items = parse_many(value)
    except ValueError:
        items = []
    if len(items) != 1 or items[0].amount < 1:
        raise ValueError(f"{value!r} is not one rate limit such as '600/minute' (use 0 or empty to disable)")
    return items[0]
