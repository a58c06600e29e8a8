"""`Idempotency-Key` for state-changing POSTs.

Guarantee: the stored response commits in the same transaction as the effect. For one caller and
route, the same key with the same body replays the first response byte for byte (with
`Idempotent-Replayed: true`); the same key with another body is refused with 422; a request still in
flight under that key gets 409. A key whose request failed with a problem is released, so the caller
may retry it; a key left in flight by a crashed process is taken over after `lock_timeout`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

import orjson
from fastapi import Depends, Request
from pydantic import BaseModel
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from shared.auth import IdentityDep
from shared.db import Database, insert_ignore, utcnow
from shared.errors import BadRequest, Conflict, UnprocessableContent
from shared.read import get_database
from shared.tables import idempotency_table

__all__ = ["CommandDep", "CommandRunner", "json_response"]

_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")
LOCK_TIMEOUT = timedelta(seconds=60)
Handler = Callable[[AsyncSession], Awaitable[BaseModel]]


def json_response(model: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(model.model_dump(mode="json")),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def _fingerprint(body: bytes) -> str:
    """Semantically equal JSON bodies (key order, whitespace) share a fingerprint."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


class CommandRunner:
    """Runs one state-changing request in one transaction, honouring `Idempotency-Key`."""

    def __init__(self, db: Database, request: Request, principal: str) -> None:
        self.db = db
        self.request = request
        self.scope = f"{principal} {request.method} {request.url.path}"

    async def run(
        self,
        handler: Handler,
        *,
        status_code: int = 200,
        location: Callable[[BaseModel], str] | None = None,
    ) -> Response:
        key = self.request.headers.get("idempotency-key")
        if key is None:
            async with self.db.transaction() as session:
                return self._render(await handler(session), status_code, location)
        if not _KEY_RE.match(key):
            raise BadRequest("Idempotency-Key must be 1 to 200 visible ASCII characters.")
        fingerprint = _fingerprint(await self.request.body())
        replay = await self._reserve(key, fingerprint)
        if replay is not None:
            return replay
        try:
            async with self.db.transaction() as session:
                response = self._render(await handler(session), status_code, location)
                await session.execute(
                    update(idempotency_table)
                    .where(idempotency_table.c.scope == self.scope, idempotency_table.c.key == key)
                    .values(
                        state="completed",
                        status_code=response.status_code,
                        headers=orjson.dumps(self._replayable_headers(response)).decode(),
                        body=bytes(response.body),
                        completed_at=utcnow(),
                    )
                )
                return response
        except BaseException:
            async with self.db.transaction() as session:
                await session.execute(
                    delete(idempotency_table).where(
                        idempotency_table.c.scope == self.scope,
                        idempotency_table.c.key == key,
                        idempotency_table.c.state == "in_flight",
                    )
                )
            raise

    async def _reserve(self, key: str, fingerprint: str) -> Response | None:
        """Claim `key` for this request, or return the stored response to replay."""
        now = utcnow()
        async with self.db.transaction() as session:
            values = {
                "scope": self.scope,
                "key": key,
                "fingerprint": fingerprint,
                "state": "in_flight",
                "created_at": now,
            }
            if await insert_ignore(session, idempotency_table, values):
                return None
            row = (
                await session.execute(
                    select(idempotency_table).where(
                        idempotency_table.c.scope == self.scope, idempotency_table.c.key == key
                    )
                )
            ).one()
            if row.fingerprint != fingerprint:
                raise UnprocessableContent(
                    "This Idempotency-Key was already used with a different request body.",
                    errors=[{"field": "Idempotency-Key", "reason": "reused with a different body"}],
                )
            if row.state == "completed":
                headers = orjson.loads(row.headers or "{}")
                headers["idempotent-replayed"] = "true"
                return Response(bytes(row.body or b""), status_code=row.status_code, headers=headers)
            if now - row.created_at < LOCK_TIMEOUT:
                raise Conflict("A request with this Idempotency-Key is still in progress.")
            await session.execute(
                update(idempotency_table)
                .where(idempotency_table.c.scope == self.scope, idempotency_table.c.key == key)
                .values(created_at=now)
            )
            return None

    @staticmethod
    def _render(model: BaseModel, status_code: int, location: Callable[[BaseModel], str] | None) -> Response:
        headers = {"location": location(model)} if location else None
        return json_response(model, status_code, headers)

    @staticmethod
    def _replayable_headers(response: Response) -> dict[str, str]:
        return {k: v for k, v in response.headers.items() if k in {"content-type", "location"}}


async def _runner(request: Request, identity: IdentityDep) -> CommandRunner:
    return CommandRunner(get_database(request), request, identity.principal)


CommandDep = Annotated[CommandRunner, Depends(_runner)]
