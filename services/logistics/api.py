"""The logistics routes, by area; the gateway routes `/v1/logistics` here."""

from __future__ import annotations

from fastapi import APIRouter

from services.logistics.quotes.api import router as quotes
from services.logistics.ratecards.api import router as rate_cards
from services.logistics.shipments.api import router as shipments

routers: list[APIRouter] = [rate_cards, quotes, shipments]
