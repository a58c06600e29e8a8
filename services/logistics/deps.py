"""What the logistics routes share: role guards and the app's context (the rate-card cache)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.logistics.config import DEFAULT_CONFIG, LogisticsConfig
from services.logistics.quotes.writer import QuoteWriter
from services.logistics.ratecards.cache import RateCardCache
from shared.auth import Role, require_roles

__all__ = ["ContextDep", "LogisticsContext", "ops", "quoters", "readers"]

ops = require_roles(Role.OPS)
#: Who may ask for a quote: exporters, marketplaces (landed cost for a basket) and ops.
quoters = require_roles(Role.OPS, Role.SELLER, Role.MARKETPLACE)
#: Who may read shipments: ops, and the marketplace or quote owner a shipment belongs to.
readers = require_roles(Role.OPS, Role.SELLER, Role.MARKETPLACE)


@dataclass(frozen=True)
class LogisticsContext:
    """Built once per app: the rate-card cache, the quotes' group-commit writer, the configuration."""

    cache: RateCardCache
    writer: QuoteWriter
    config: LogisticsConfig = DEFAULT_CONFIG


async def _context(request: Request) -> LogisticsContext:
    ctx = request.app.state.logistics
    assert isinstance(ctx, LogisticsContext)
    return ctx


ContextDep = Annotated[LogisticsContext, Depends(_context)]
