"""The gateway's outer ASGI layers: request ids, then API-key authentication.

Guarantees:
- Every response carries `X-Request-ID`, errors included (401, 413, 404 and unexpected 500s): the
  caller's id when it is well formed (`^[A-Za-z0-9._:-]{8,128}$`), a new uuid4 otherwise. The same id
  reaches the service in the signed identity and appears in every log line of the request.
- Nothing but the health probes and the API documents (`gateway.public.is_public`) runs without a
  valid API key. Authentication sits in
  front of routing, so an anonymous caller learns nothing about which paths exist and never makes the
  gateway buffer a request body.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable

from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.keys import KeyStore
from gateway.public import is_public
from shared.errors import Problem, ServiceUnavailable, Unauthorized, problem_response
from shared.observability import request_id_var
from shared.tracing import set_principal

__all__ = ["ApiKeyMiddleware", "RequestIdMiddleware", "accept_request_id", "presented_key"]

log = logging.getLogger("ewtp.gateway")

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def accept_request_id(incoming: str | None) -> str:
    """The caller's request id if it is safe to propagate and log, else a fresh uuid4."""
    if incoming is not None and REQUEST_ID_RE.fullmatch(incoming):
        return incoming
    return str(uuid.uuid4())


def presented_key(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The API key from `Authorization: Bearer <key>`, else from `X-API-Key`, else None."""
    authorization: bytes | None = None
    api_key: bytes | None = None
    for name, value in headers:
        if name == b"authorization":
            authorization = value
        elif name == b"x-api-key":
            api_key = value
    if authorization is not None:
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    if api_key is not None:
        return api_key.decode("latin-1").strip() or None
    return None


class RequestIdMiddleware:
    """Outermost layer: assigns the request id, stamps it on the response, turns crashes into 500 problems.

    Starlette renders unexpected errors outside every user middleware; catching them here is what
    keeps the request id on a 500 too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None)
        request_id = accept_request_id(incoming)
        scope.setdefault("state", {})["request_id"] = request_id
        stamp = (b"x-request-id", request_id.encode())
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"]
                headers.append(stamp)
                message = {**message, "headers": headers}
            await send(message)

        token = request_id_var.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if started:
                raise
            log.exception("unhandled error")
            await problem_response(Problem("An unexpected error occurred."), scope["path"])(
                scope, receive, send_with_id
            )
        finally:
            request_id_var.reset(token)


class ApiKeyMiddleware:
    """Authenticates every request but the health probes; the principal goes to `scope["state"]`."""

    def __init__(self, app: ASGIApp, keys: KeyStore) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.keys.authenticate(presented_key(scope["headers"]))
        except Unauthorized as exc:
            await problem_response(exc, scope["path"])(scope, receive, send)
            return
        except (SQLAlchemyError, OSError):
            log.exception("API key store unreachable")
            problem = ServiceUnavailable("API keys cannot be checked right now; retry shortly.")
            await problem_response(problem, scope["path"])(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        set_principal(principal.key_id)
        await self.app(scope, receive, send)
