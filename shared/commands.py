"""The HTTP unit of work: one state-changing request, one transaction, honouring `Idempotency-Key`.

Guarantee: the stored response commits in the same transaction as the effect. For one caller and
route, the same key with the same body replays the first response byte for byte (with
`Idempotent-Replayed: true`); the same key with another body is refused with 422; a request still in
flight under that key gets 409. A key whose request failed with a problem is released, so the caller
may retry it; a key left in flight by a crashed process is taken over after `LOCK_TIMEOUT`.

How, per database:
- PostgreSQL (several replicas): the key is reserved (`in_flight`) in a transaction of its own, so a
  concurrent request on another replica sees it and gets 409; the effect's transaction completes it;
  a failure deletes the reservation.
- SQLite (one process owns the file): the reservation is a set of keys in flight in this process
  (`Database.keys_in_flight`), and the key's row is written once, `completed`, inside the effect's
  transaction. One write transaction per command instead of two (three on failure), and a failure
  leaves nothing to release: the rollback is the release.

Typed: `run` is generic in the handler's result type, so `location` receives that type without
`isinstance` asserts, and the result is checked against the route's declared `response_model`
(a mismatch is a programming error, answered 500, never silently rendered).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Request
from pydantic import BaseModel
from sqlalchemy import bindparam, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from shared.auth import IdentityDep
from shared.db import Database, insert_ignore, utcnow
from shared.errors import BadRequest, Conflict, UnprocessableContent
from shared.fastread import Query
from shared.read import get_database
from shared.tables import idempotency_table

__all__ = ["LOCK_TIMEOUT", "CommandDep", "CommandRunner", "json_response"]

T = TypeVar("T", bound=BaseModel)

_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")
#: The length of the idempotency table's `scope` column.
_SCOPE_MAX = 300
LOCK_TIMEOUT = timedelta(seconds=60)

_t = idempotency_table.c
_STORED = Query(
    select(_t.fingerprint, _t.state, _t.status_code, _t.headers, _t.body, _t.created_at).where(
        _t.scope == bindparam("scope"), _t.key == bindparam("key")
    )
)


def json_response(model: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        model.__pydantic_serializer__.to_json(model),
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


async def _no_flush_wait(session: AsyncSession) -> None:
    """PostgreSQL: commit this transaction without waiting for its WAL flush.

    Safe for the reservation and its release: the effect's transaction commits later with a flush,
    and WAL is flushed in order, so once the effect is durable its reservation is too; a crash before
    that loses both, and the client's retry finds the key free. It spares one disk flush per command.
    """
    await session.execute(text("SET LOCAL synchronous_commit = off"))


def _in_progress() -> Conflict:
    return Conflict("A request with this Idempotency-Key is still in progress.")


def _other_body() -> UnprocessableContent:
    return UnprocessableContent(
        "This Idempotency-Key was already used with a different request body.",
        errors=[{"field": "Idempotency-Key", "reason": "reused with a different body"}],
    )


def _replay(status_code: int, headers_json: str | None, body: bytes | None) -> Response:
    headers = orjson.loads(headers_json or "{}")
    headers["idempotent-replayed"] = "true"
    return Response(bytes(body or b""), status_code=status_code, headers=headers)


class CommandRunner:
    """Runs one state-changing request in one transaction, honouring `Idempotency-Key`."""

    def __init__(self, db: Database, request: Request, party: str) -> None:
        self.db = db
        self.request = request
        scope = f"{party} {request.method} {request.url.path}"
        # The column holds 300 characters of text: a longer scope (a long path), or one a database
        # might refuse (NUL, a lone surrogate from a percent-encoded path), is kept as its digest.
        if len(scope) > _SCOPE_MAX or not (scope.isascii() and scope.isprintable()):
            scope = "sha256:" + hashlib.sha256(scope.encode(errors="surrogatepass")).hexdigest()
        self.scope = scope

    async def run(
        self,
        handler: Callable[[AsyncSession], Awaitable[T]],
        *,
        status_code: int = 200,
        location: Callable[[T], str] | None = None,
    ) -> Response:
        key = self.request.headers.get("idempotency-key")
        if key is None:
            async with self.db.transaction() as session:
                return self._render(await handler(session), status_code, location)
        if not _KEY_RE.match(key):
            raise BadRequest("Idempotency-Key must be 1 to 200 visible ASCII characters.")
        fingerprint = _fingerprint(await self.request.body())
        if self.db.is_sqlite:
            return await self._run_in_process(key, fingerprint, handler, status_code, location)
        replay = await self._reserve(key, fingerprint)
        if replay is not None:
            return replay
        try:
            async with self.db.transaction() as session:
                response = self._render(await handler(session), status_code, location)
                await session.execute(
                    update(idempotency_table)
                    .where(_t.scope == self.scope, _t.key == key)
                    .values(state="completed", completed_at=utcnow(), **self._stored(response))
                )
                return response
        except BaseException:
            async with self.db.transaction() as session:
                await _no_flush_wait(session)
                await session.execute(
                    delete(idempotency_table).where(_t.scope == self.scope, _t.key == key, _t.state == "in_flight")
                )
            raise

    async def _run_in_process(
        self,
        key: str,
        fingerprint: str,
        handler: Callable[[AsyncSession], Awaitable[T]],
        status_code: int,
        location: Callable[[T], str] | None,
    ) -> Response:
        claim = (self.scope, key)
        if claim in self.db.keys_in_flight:
            raise _in_progress()
        self.db.keys_in_flight.add(claim)
        try:
            now = utcnow()
            stale = False
            row = await self.db.fetch_one(_STORED, {"scope": self.scope, "key": key})
            if row is not None:
                stored_fingerprint, state, stored_status, headers, body, created_at = row
                if stored_fingerprint != fingerprint:
                    raise _other_body()
                if state == "completed":
                    return _replay(stored_status, headers, body)
                # Left in flight by another process (a PostgreSQL-style reservation, or a crash).
                if now - created_at < LOCK_TIMEOUT:
                    raise _in_progress()
                stale = True
            async with self.db.transaction() as session:
                response = self._render(await handler(session), status_code, location)
                if stale:
                    await session.execute(delete(idempotency_table).where(_t.scope == self.scope, _t.key == key))
                values = {
                    "scope": self.scope,
                    "key": key,
                    "fingerprint": fingerprint,
                    "state": "completed",
                    "created_at": now,
                    "completed_at": utcnow(),
                    **self._stored(response),
                }
                try:
                    await session.execute(insert(idempotency_table).values(values))
                except IntegrityError:
                    raise _in_progress() from None  # another process took the key meanwhile
                return response
        finally:
            self.db.keys_in_flight.discard(claim)

    async def _reserve(self, key: str, fingerprint: str) -> Response | None:
        """Claim `key` for this request, or return the stored response to replay."""
        now = utcnow()
        async with self.db.transaction() as session:
            await _no_flush_wait(session)
            values = {
                "scope": self.scope,
                "key": key,
                "fingerprint": fingerprint,
                "state": "in_flight",
                "created_at": now,
            }
            if await insert_ignore(session, idempotency_table, values):
                return None
            row = (await session.execute(select(idempotency_table).where(_t.scope == self.scope, _t.key == key))).one()
            if row.fingerprint != fingerprint:
                raise _other_body()
            if row.state == "completed":
                return _replay(row.status_code, row.headers, row.body)
            if now - row.created_at < LOCK_TIMEOUT:
                raise _in_progress()
            await session.execute(
                update(idempotency_table).where(_t.scope == self.scope, _t.key == key).values(created_at=now)
            )
            return None

    def _render(self, model: T, status_code: int, location: Callable[[T], str] | None) -> Response:
        self._check_response_model(model)
        headers = {"location": location(model)} if location else None
        return json_response(model, status_code, headers)

    def _check_response_model(self, model: BaseModel) -> None:
        route = self.request.scope.get("route")
        declared: Any = getattr(route, "response_model", None)
        if isinstance(declared, type) and issubclass(declared, BaseModel) and not isinstance(model, declared):
            raise TypeError(f"{type(model).__name__} returned where the route declares {declared.__name__}")

    @staticmethod
    def _stored(response: Response) -> dict[str, Any]:
        replayable = {k: v for k, v in response.headers.items() if k in {"content-type", "location"}}
        return {
            "status_code": response.status_code,
            "headers": orjson.dumps(replayable).decode(),
            "body": bytes(response.body),
        }


async def _runner(request: Request, identity: IdentityDep) -> CommandRunner:
    # Keys are scoped to the party, not the key: a retry sent with the new key of a rotation replays.
    return CommandRunner(get_database(request), request, identity.party)


CommandDep = Annotated[CommandRunner, Depends(_runner)]
