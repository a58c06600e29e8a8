from __future__ import annotations

import random
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from services.sellers.models import Seller
from shared.tables import outbox_table
from tests.support.platform import Platform


def new_tin() -> str:
    return f"{random.randrange(10**8, 10**9)}"


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
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        response = await officer.post("/v1/sellers", json=seller_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def counts(platform: Platform) -> tuple[int, int]:
    """(sellers, outbox rows) in the sellers database: what 'nothing written' is checked against."""
    async with platform.db("sellers") as db, db.read() as session:
        sellers = (await session.execute(select(func.count()).select_from(Seller))).scalar_one()
        events = (await session.execute(select(func.count()).select_from(outbox_table))).scalar_one()
    return int(sellers), int(events)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())
