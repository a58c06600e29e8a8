"""The tourism service's routes, by area; the gateway routes `/v1/tourism` here."""

from __future__ import annotations

from fastapi import APIRouter

from services.tourism.bookings.api import router as bookings
from services.tourism.offers.api import router as offers

routers: list[APIRouter] = [offers, bookings]
