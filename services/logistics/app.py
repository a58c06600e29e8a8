"""The logistics service: `uvicorn services.logistics.app:create_app --factory --port 8005`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.logistics.api import routers
from services.logistics.consumers import ORDER_HANDLERS, ORDERS_GROUP
from services.logistics.deps import LogisticsContext
from services.logistics.quotes.writer import QuoteWriter
from services.logistics.ratecards.cache import RateCardCache
from services.logistics.seed import SEED_RATE_CARDS
from services.logistics.settings import LogisticsSettings
from shared.contracts import orders
from shared.contracts.logistics import TOPIC
from shared.registry import ServiceDefinition
from shared.service_app import ConsumerSpec, ServiceParts, create_service_app


def create_app(settings: LogisticsSettings | None = None) -> FastAPI:
    settings = settings or LogisticsSettings()

    async def watch_rate_cards(parts: ServiceParts) -> None:
        """Warm the rate-card cache (seeding the cards) at start-up."""
        await context.cache.run()

    async def write_quotes(parts: ServiceParts) -> None:
        """The quotes' group-commit writer (quotes/writer.py)."""
        await context.writer.run()

    app = create_service_app(
        title="eWTP logistics",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        routers=routers,
        topics=[TOPIC],
        consumers=[ConsumerSpec(group_id=ORDERS_GROUP, topics=[orders.TOPIC], handlers=ORDER_HANDLERS)],
        background=[watch_rate_cards, write_quotes],
    )
    db = app.state.db
    context = LogisticsContext(
        cache=RateCardCache(db, SEED_RATE_CARDS if settings.seed_rate_cards else ()),
        writer=QuoteWriter(db),
    )
    app.state.logistics = context
    return app


SERVICE = ServiceDefinition(name="logistics", port=8005, settings=LogisticsSettings, create_app=create_app)
