"""The routing table: which service owns a public path.

Guarantee: a path belongs to a service only if its first two segments equal one of the prefixes
exactly (`/v1/sellers` and `/v1/sellers/...`, never `/v1/sellersX`), so a new public prefix cannot be
captured by an older one that happens to share its first letters. The lookup is one dict access per
request.
"""

from __future__ import annotations

from enum import StrEnum

from gateway.settings import GatewaySettings

__all__ = ["PREFIXES", "Service", "service_for", "upstream_urls"]


class Service(StrEnum):
    SELLERS = "sellers"
    CATALOGUE = "catalogue"
    ORDERS = "orders"
    FINANCE = "finance"
    LOGISTICS = "logistics"
    TOURISM = "tourism"


#: Public path prefix → owning service (DESIGN.md, "Public API").
PREFIXES: dict[str, Service] = {
    "/v1/sellers": Service.SELLERS,
    "/v1/listings": Service.CATALOGUE,
    "/v1/categories": Service.CATALOGUE,
    "/v1/feeds": Service.CATALOGUE,
    "/v1/orders": Service.ORDERS,
    "/v1/insights": Service.ORDERS,
    "/v1/finance": Service.FINANCE,
    "/v1/logistics": Service.LOGISTICS,
    "/v1/tourism": Service.TOURISM,
}


def service_for(path: str) -> Service | None:
    """The service owning `path` (decoded, as in the ASGI scope), or None when no prefix matches."""
    parts = path.split("/", 3)
    if len(parts) < 3 or parts[0]:
        return None
    return PREFIXES.get(f"/{parts[1]}/{parts[2]}")


def upstream_urls(settings: GatewaySettings) -> dict[Service, str]:
    """Each service's base URL; an empty string means the service is not deployed."""
    return {service: str(getattr(settings, f"{service.value}_url")) for service in Service}
