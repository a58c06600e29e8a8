"""The sellers service: `uvicorn services.sellers.app:create_app --factory --port 8001`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.sellers.api import router
from services.sellers.settings import SellersSettings
from shared.contracts.sellers import TOPIC
from shared.registry import ServiceDefinition
from shared.service_app import create_service_app


def create_app(settings: SellersSettings | None = None) -> FastAPI:
    return create_service_app(
        title="eWTP sellers",
        settings=settings or SellersSettings(),
        migrations=Path(__file__).parent / "migrations",
        routers=[router],
        topics=[TOPIC],
    )


SERVICE = ServiceDefinition(name="sellers", port=8001, settings=SellersSettings, create_app=create_app)
