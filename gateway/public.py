"""What the gateway serves without a key: health probes, the API documents and the docs page.

The documents describe, they expose no data: `/openapi.json` (every service's public operations,
merged), `/asyncapi.json` (every event contract), `/docs` (Swagger UI over `/openapi.json`, its assets
under `/docs/assets/` from the pinned `fastapi-offline` wheel: no CDN, works offline).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from gateway.apidocs import ApiDocuments, docs_page
from gateway.asyncapi import asyncapi_document
from gateway.readiness import UpstreamReadiness
from shared.db import Database
from shared.errors import ServiceUnavailable, problem_response

__all__ = ["ASSETS_PREFIX", "PUBLIC_PATHS", "is_public", "public_router"]

ASSETS_PREFIX = "/docs/assets/"
#: /metrics is public on the gateway's own port but never routed by the Ingress (k8s/).
PUBLIC_PATHS = frozenset({"/health/live", "/health/ready", "/metrics", "/openapi.json", "/asyncapi.json", "/docs"})


def is_public(path: str) -> bool:
    """True for the paths served without an API key."""
    return path in PUBLIC_PATHS or path.startswith(ASSETS_PREFIX)


def public_router(
    db: Database, readiness: UpstreamReadiness, documents: ApiDocuments, public_url: str, required: frozenset[str]
) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/health/ready", response_model=None)
    async def ready(request: Request) -> dict[str, Any] | Response:
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(db.ping(), timeout=2.0)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"failing: {exc!r}"[:200]
        upstreams = await readiness.snapshot()
        checks.update(upstreams)
        failing = [name for name, state in checks.items() if state != "ok" and (name == "database" or name in required)]
        if not failing:
            return {"status": "ok", "checks": checks}
        problem = ServiceUnavailable(f"Not ready: {', '.join(sorted(failing))}.", checks=checks)
        return problem_response(problem, request.url.path)

    @router.get("/openapi.json")
    async def openapi() -> Response:
        return Response(orjson.dumps(await documents.merged(public_url or "/")), media_type="application/json")

    @router.get("/asyncapi.json")
    async def asyncapi() -> Response:
        return Response(orjson.dumps(asyncapi_document()), media_type="application/json")

    @router.get("/docs")
    async def docs() -> HTMLResponse:
        return HTMLResponse(docs_page())

    return router
