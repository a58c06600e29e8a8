"""Lender insight routes: an application's trade profile, the portfolio."""

from __future__ import annotations

from fastapi import APIRouter

from services.finance.deps import PREFIX, readers, staff
from services.finance.insights import service
from services.finance.schemas import PortfolioOut, TradeProfileOut
from shared.auth import IdentityDep
from shared.read import ReadSessionDep

router = APIRouter(prefix=PREFIX, tags=["finance"])


@router.get("/applications/{application_id}/trade-profile", response_model=TradeProfileOut, dependencies=[readers])
async def trade_profile(application_id: str, identity: IdentityDep, session: ReadSessionDep) -> TradeProfileOut:
    """The seller's trade record from finance's own projection of order events, as of the last one consumed."""
    return await service.trade_profile(session, application_id, identity)


@router.get("/portfolio", response_model=PortfolioOut, dependencies=[staff])
async def portfolio(session: ReadSessionDep) -> PortfolioOut:
    """Totals approved, disbursed, outstanding and in arrears, by product and by sector, per currency."""
    return await service.portfolio(session)
