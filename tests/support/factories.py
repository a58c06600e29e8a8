"""Things tests need made, made the way clients make them: through the gateway's public API.

Every call makes new sellers (random TINs) and listings (random SKUs), so tests never depend on each
other's order or data.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.platform import Platform

__all__ = [
    "Seller",
    "create_listing",
    "listing_body",
    "new_sku",
    "new_tin",
    "register",
    "seller_body",
    "verified_seller",
]


def new_tin() -> str:
    return f"{random.randrange(10**8, 10**9)}"


def new_sku(prefix: str = "SKU") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class Seller:
    id: str
    key: str


def seller_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "legal_name": f"Kivu Hills Coffee {uuid.uuid4().hex[:6]}",
        "tin": new_tin(),
        "sectors": ["coffee"],
        "district": "rutsiro",
        "contact_email": "export@kivuhills.rw",
        "contact_phone": "+250788123456",
        "naeb_registration_number": "NAEB-CE-0042",
    }
    body.update(overrides)
    return body


async def register(platform: Platform, **overrides: Any) -> dict[str, Any]:
    """A seller registered by an RDB officer (pending verification); the API's answer."""
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        response = await officer.post("/v1/sellers", json=seller_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def verified_seller(platform: Platform, *, verified: bool = True, **overrides: Any) -> Seller:
    """A seller registered (and verified) by an RDB officer, with its own seller key."""
    created = await register(platform, **overrides)
    if verified:
        async with platform.client(platform.keys["rdb_officer"]) as officer:
            response = await officer.post(f"/v1/sellers/{created['id']}/verify", json={"reason": "documents checked"})
            assert response.status_code == 200, response.text
    return Seller(id=str(created["id"]), key=platform.issue_key("seller", created["id"]))


def listing_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": new_sku("RW-GC"),
        "title": "Rwanda Huye Mountain green coffee, fully washed, 1 kg",
        "description": "Red Bourbon from the Huye Mountain washing station, grown at 1,900 m.",
        "category": "coffee.green",
        "hs_code": "090111",
        "national_tariff_code": "0901110000",
        "price": {"amount": "15.00", "currency": "USD"},
        "unit_net_weight_g": 1000,
        "packed_dimensions": {"length_cm": 30, "width_cm": 20, "height_cm": 10.5},
        "brand": "Huye Mountain",
        "mpn": "HM-GC-1KG",
        "images": ["https://images.example.rw/huye/1.jpg", "https://images.example.rw/huye/2.jpg"],
        "attributes": {"process": "fully_washed", "variety": "Red Bourbon", "altitude_m": 1900, "cupping_score": 86.5},
        "certifications": ["rainforest_alliance"],
        "on_hand": 100,
    }
    body.update(overrides)
    return body


async def create_listing(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/v1/listings", json=listing_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())
