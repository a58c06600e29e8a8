"""The gateway: `uvicorn gateway.app:create_app --factory --port 8000`.

Layers, outermost first: request id (every response carries `X-Request-ID`), CORS per origin
(preflights answered here, `gateway.edge`), API key (only the health
probes and the API documents run without one; 401), rate limit per API key (429; every authenticated
request counts, refused ones too), the role × route table (`gateway.authz`; 403), body limit (413),
then the forwarder for a path the routing table owns (`GatewayApp.edge`: plain ASGI, the hot path)
and FastAPI for anything else (health, admin API, API documents, 404 problems).
The aiohttp session, the database and the rate-limit storage live as long as the lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api import router as admin_router
from gateway.apidocs import SWAGGER_ASSETS, ApiDocuments
from gateway.authz import AuthorizationMiddleware
from gateway.edge import CorsMiddleware
from gateway.keys import KeyStore, migrate
from gateway.middleware import ApiKeyMiddleware, RequestIdMiddleware
from gateway.proxy import Forwarder
from gateway.public import public_router
from gateway.ratelimit import RateLimiter, RateLimitMiddleware
from gateway.readiness import UpstreamReadiness
from gateway.routing import service_for, upstream_urls
from gateway.settings import GatewaySettings
from shared.db import Database
from shared.errors import install_problem_handlers
from shared.http import BodyLimitMiddleware
from shared.metrics import HttpMetricsMiddleware, metrics_route
from shared.observability import configure_logging
from shared.openapi import add_problem_responses
from shared.periodic import run_periodically
from shared.tracing import TraceMiddleware, install_log_fields

__all__ = ["GatewayApp", "create_app"]


class GatewayApp(FastAPI):
    """FastAPI for the gateway's own routes; forwarded paths skip it entirely (the hot path).

    A path the routing table owns goes to `edge`: the same layers as the FastAPI side (request id,
    CORS, key, rate limit, role table, body limit) around the forwarder, without Starlette's error
    and exception layers or its router, which only cost time on a request FastAPI never handles.
    The request-id layer turns any crash there into a 500 problem, as on the FastAPI side.
    """

    edge: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.edge is not None and scope["type"] == "http" and service_for(scope["path"]) is not None:
            await self.edge(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(settings: GatewaySettings | None = None) -> GatewayApp:
    settings = settings or GatewaySettings()
    configure_logging(settings.service_name, settings.log_level)
    install_log_fields()
    db = Database(settings.database_url)
    keys = KeyStore(db, cache_ttl_s=settings.key_cache_ttl_s)
    forwarder = Forwarder(settings)
    limiter = RateLimiter(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.run_migrations:
            await migrate(settings.database_url)
        await forwarder.start()
        flush = asyncio.create_task(
            run_periodically("last-used flush", settings.last_used_flush_s, lambda: keys.last_used.flush(db)),
            name="last-used-flush",
        )
        try:
            yield
        finally:
            flush.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flush
            with contextlib.suppress(Exception):  # a last flush, so a clean stop loses nothing
                await keys.last_used.flush(db)
            await forwarder.close()
            await limiter.close()
            await db.dispose()

    # No OpenAPI routes of its own: the public document is to be the merged one of all services
    # (DESIGN.md). `app.openapi()` still describes the admin API.
    app = GatewayApp(title="eWTP gateway", lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.db = db
    app.state.keys = keys
    app.state.forwarder = forwarder
    app.state.limiter = limiter
    install_problem_handlers(app)
    upstreams = upstream_urls(settings)
    deployed = frozenset(service.value for service, url in upstreams.items() if url)
    required = (
        deployed
        if settings.required_upstreams.strip() == "*"
        else frozenset(name.strip() for name in settings.required_upstreams.split(",") if name.strip())
    )
    readiness = UpstreamReadiness(upstreams, forwarder.session, ttl_s=settings.readiness_cache_s)
    documents = ApiDocuments(upstreams, app.openapi, forwarder.session)
    app.state.readiness = readiness
    app.state.documents = documents
    app.include_router(public_router(db, readiness, documents, settings.public_url, required))
    app.router.routes.append(metrics_route(settings.service_name))
    app.include_router(admin_router)
    app.mount("/docs/assets", StaticFiles(directory=SWAGGER_ASSETS), name="docs-assets")
    add_problem_responses(app)
    # add_middleware wraps: the last added is the outermost.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(AuthorizationMiddleware)
    app.add_middleware(RateLimitMiddleware, limiter=limiter)
    app.add_middleware(ApiKeyMiddleware, keys=keys)
    app.add_middleware(CorsMiddleware, origins=settings.cors_origins)
    app.add_middleware(RequestIdMiddleware)
    # Forwarded requests are labelled by the service they go to (bounded), not by their raw path.
    app.add_middleware(HttpMetricsMiddleware, service="gateway", route_of=lambda s: _forwarded_route(s["path"]))
    app.add_middleware(TraceMiddleware)
    # The forwarded paths: the same layers, innermost first, around the forwarder.
    edge: ASGIApp = BodyLimitMiddleware(forwarder, max_bytes=settings.max_body_bytes)
    edge = RateLimitMiddleware(AuthorizationMiddleware(edge), limiter=limiter)
    edge = ApiKeyMiddleware(edge, keys=keys)
    if settings.cors_origins:
        edge = CorsMiddleware(edge, origins=settings.cors_origins)
    edge = RequestIdMiddleware(edge)
    edge = HttpMetricsMiddleware(edge, service="gateway", route_of=lambda s: _forwarded_route(s["path"]))
    app.edge = TraceMiddleware(edge)
    return app


def _forwarded_route(path: str) -> str | None:
    service = service_for(path)
    return f"forward:{service.value}" if service else None
