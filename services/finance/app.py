"""The finance service: `uvicorn services.finance.app:create_app --factory --port 8004`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.finance.api import routers
from services.finance.lending.tasks import sweep_arrears
from services.finance.projections.consumers import ORDERS_GROUP, SELLER_HANDLERS, SELLERS_GROUP, order_handlers
from services.finance.settings import FinanceSettings
from shared.contracts import orders, sellers
from shared.contracts.finance import TOPIC
from shared.periodic import run_periodically
from shared.registry import ServiceDefinition
from shared.service_app import ConsumerSpec, ServiceParts, create_service_app


def create_app(settings: FinanceSettings | None = None) -> FastAPI:
    settings = settings or FinanceSettings()
    config = settings.finance_config()

    async def arrears_sweeper(parts: ServiceParts) -> None:
        if settings.arrears_interval_s > 0:
            await run_periodically(
                "arrears sweep", settings.arrears_interval_s, lambda: sweep_arrears(parts.db, config)
            )

    app = create_service_app(
        title="eWTP finance",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        routers=routers,
        topics=[TOPIC],
        consumers=[
            # Two groups, so a backlog of orders never delays a seller's suspension (and vice versa).
            ConsumerSpec(group_id=SELLERS_GROUP, topics=[sellers.TOPIC], handlers=SELLER_HANDLERS),
            ConsumerSpec(group_id=ORDERS_GROUP, topics=[orders.TOPIC], handlers=order_handlers(config)),
        ],
        background=[arrears_sweeper],
    )
    app.state.finance_config = config
    return app


SERVICE = ServiceDefinition(name="finance", port=8004, settings=FinanceSettings, create_app=create_app)
