"""What the catalogue's routes share: role guards, the app's context, the snapshot session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.context import CatalogueContext
from shared.auth import Role, require_roles
from shared.read import get_database

managers = require_roles(Role.OPS, Role.SELLER)
ops = require_roles(Role.OPS)
marketplaces = require_roles(Role.MARKETPLACE, Role.OPS)
anyone = require_roles(*Role)


async def _context(request: Request) -> CatalogueContext:
    ctx: CatalogueContext = request.app.state.catalogue
    return ctx


ContextDep = Annotated[CatalogueContext, Depends(_context)]


async def _snapshot_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_database(request).snapshot() as session:
        yield session


SnapshotSessionDep = Annotated[AsyncSession, Depends(_snapshot_session)]
