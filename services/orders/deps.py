"""What the orders routes share: role guards and the app's context."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.orders.context import OrdersContext
from shared.auth import Role, require_roles

placers = require_roles(Role.MARKETPLACE, Role.OPS)
readers = require_roles(Role.MARKETPLACE, Role.OPS, Role.SELLER)


async def _context(request: Request) -> OrdersContext:
    ctx = request.app.state.orders
    assert isinstance(ctx, OrdersContext)
    return ctx


ContextDep = Annotated[OrdersContext, Depends(_context)]
