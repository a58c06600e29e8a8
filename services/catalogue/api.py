"""The catalogue's routes, by area; the gateway routes `/v1/listings`, `/v1/categories` and `/v1/feeds` here.

Order matters where prefixes overlap: FX (`/v1/listings/fx-rates`) is included before listings, so
"fx-rates" is never taken for a listing id.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.catalogue.feed.api import router as feed
from services.catalogue.fx.api import router as fx
from services.catalogue.listings.api import categories
from services.catalogue.listings.api import router as listings
from services.catalogue.stock.api import router as stock

routers: list[APIRouter] = [fx, listings, stock, categories, feed]
