"""The orders service: `uvicorn services.orders.app:create_app --factory --port 8003`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.orders.api import routers
from services.orders.consumers import CATALOGUE_GROUP, CATALOGUE_HANDLERS, LOGISTICS_GROUP, LOGISTICS_HANDLERS
from services.orders.context import OrdersContext
from services.orders.gauges import register_gauges
from services.orders.saga import sweep_timeouts
from services.orders.settings import OrdersSettings
from shared.contracts import catalogue, logistics
from shared.contracts.orders import TOPIC
from shared.periodic import run_periodically
from shared.registry import ServiceDefinition
from shared.service_app import ConsumerSpec, ServiceParts, create_service_app


def create_app(settings: OrdersSettings | None = None) -> FastAPI:
    settings = settings or OrdersSettings()

    async def timeout_sweeper(parts: ServiceParts) -> None:
        if settings.timeout_sweep_interval_s > 0:
            await run_periodically(
                "pending-order timeouts", settings.timeout_sweep_interval_s, lambda: sweep_timeouts(parts.db)
            )

    app = create_service_app(
        title="eWTP orders",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        routers=routers,
        topics=[TOPIC],
        consumers=[
            # Two groups, so a backlog of listing updates never delays a shipment (and vice versa).
            ConsumerSpec(group_id=CATALOGUE_GROUP, topics=[catalogue.TOPIC], handlers=CATALOGUE_HANDLERS),
            ConsumerSpec(group_id=LOGISTICS_GROUP, topics=[logistics.TOPIC], handlers=LOGISTICS_HANDLERS),
        ],
        background=[timeout_sweeper],
    )
    app.state.orders = OrdersContext(
        rules=settings.rules(),
        cny_rates=dict(settings.cny_rates),
        fx_source=settings.fx_source,
        fx_as_of=settings.fx_as_of,
    )
    register_gauges(settings.service_name, app.state.db)
    return app


SERVICE = ServiceDefinition(name="orders", port=8003, settings=OrdersSettings, create_app=create_app)
