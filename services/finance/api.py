"""Finance's routes, by area, all under `/v1/finance` (the gateway routes that prefix here).

Order matters only where paths overlap, and none do: every area's paths are distinct literals after
`/applications/{application_id}` or `/portfolio`.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.finance.applications.api import router as applications
from services.finance.insights.api import router as insights
from services.finance.lending.api import router as lending

routers: list[APIRouter] = [applications, insights, lending]
