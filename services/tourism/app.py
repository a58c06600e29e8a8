"""The tourism service: `uvicorn services.tourism.app:create_app --factory --port 8006`."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI

from services.tourism.api import routers
from services.tourism.bookings.service import sweep
from services.tourism.context import TourismContext
from services.tourism.offers.service import seed
from services.tourism.settings import TourismSettings
from shared.contracts.tourism import TOPIC
from shared.periodic import run_periodically
from shared.registry import ServiceDefinition
from shared.service_app import ServiceParts, create_service_app

log = logging.getLogger("ewtp.tourism")


def create_app(settings: TourismSettings | None = None) -> FastAPI:
    settings = settings or TourismSettings()
    ctx = TourismContext(figures=settings.figures(), sweep_batch=settings.sweep_batch)

    async def seed_offers(parts: ServiceParts) -> None:
        if settings.seed_offers:
            async with parts.db.transaction() as session:
                added = await seed(session, ctx)
            if added:
                log.info("seeded %d offers", added)

    async def hold_sweeper(parts: ServiceParts) -> None:
        await run_periodically("expired-hold sweeper", settings.sweep_interval_s, lambda: sweep(parts.db, ctx))

    app = create_service_app(
        title="eWTP tourism",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        routers=routers,
        topics=[TOPIC],
        background=[seed_offers, hold_sweeper],
    )
    app.state.tourism = ctx
    return app


SERVICE = ServiceDefinition(name="tourism", port=8006, settings=TourismSettings, create_app=create_app)
