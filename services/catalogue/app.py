"""The catalogue service: `uvicorn services.catalogue.app:create_app --factory --port 8002`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from services.catalogue.api import routers
from services.catalogue.consumers import ORDER_HANDLERS, ORDERS_GROUP, SELLER_HANDLERS, SELLERS_GROUP
from services.catalogue.context import CatalogueContext
from services.catalogue.feed.render import FeedRenderer
from services.catalogue.feed.tasks import run_pruner
from services.catalogue.gauges import register_gauges
from services.catalogue.settings import CatalogueSettings
from shared.contracts import orders, sellers
from shared.contracts.catalogue import TOPIC
from shared.registry import ServiceDefinition
from shared.service_app import ConsumerSpec, ServiceParts, create_service_app


def create_app(settings: CatalogueSettings | None = None) -> FastAPI:
    settings = settings or CatalogueSettings()
    retention = timedelta(seconds=settings.feed_retention_s)

    async def feed_pruner(parts: ServiceParts) -> None:
        if settings.feed_prune_interval_s > 0:
            await run_pruner(parts.db, retention, settings.feed_prune_interval_s)

    app = create_service_app(
        title="eWTP catalogue",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        routers=routers,
        topics=[TOPIC],
        consumers=[
            # Two groups, so a backlog of orders never delays a seller's suspension (and vice versa).
            ConsumerSpec(group_id=SELLERS_GROUP, topics=[sellers.TOPIC], handlers=SELLER_HANDLERS),
            ConsumerSpec(group_id=ORDERS_GROUP, topics=[orders.TOPIC], handlers=ORDER_HANDLERS),
        ],
        background=[feed_pruner],
    )
    app.state.catalogue = CatalogueContext(
        renderer=FeedRenderer(settings.listing_link_template),
        display_currencies=tuple(settings.display_currencies),
        retention=retention,
        chunk_size=settings.feed_chunk_size,
    )

    register_gauges(settings.service_name, app.state.db)
    return app


SERVICE = ServiceDefinition(name="catalogue", port=8002, settings=CatalogueSettings, create_app=create_app)
