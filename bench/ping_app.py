"""The reference every speed figure is a ratio to: a bare FastAPI `GET /ping`, served as the services are.

    uvicorn bench.ping_app:create_app --factory --http shared.http:ProblemHttpToolsProtocol

No middleware, no database: what FastAPI and uvicorn cost on this machine, in this run.
"""

from __future__ import annotations

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    return app
