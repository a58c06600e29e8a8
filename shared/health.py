"""`/health/live` (the process answers) and `/health/ready` (database and broker reachable)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from starlette.responses import Response

from shared.errors import ServiceUnavailable, problem_response

__all__ = ["Check", "health_router"]

Check = Callable[[], Awaitable[None]]


def health_router(checks: dict[str, Check]) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/health/ready", response_model=None)
    async def ready(request: Request) -> dict[str, object] | Response:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), timeout=2.0)
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"failing: {exc!r}"[:200]
        if all(v == "ok" for v in results.values()):
            return {"status": "ok", "checks": results}
        return problem_response(ServiceUnavailable("A dependency is not ready.", checks=results), request.url.path)

    return router
