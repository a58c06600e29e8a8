"""ASGI middleware shared by services and the gateway, and the HTTP protocol they are served with.

uvicorn answers a request it cannot parse (bad request line, bad header, bad chunking) itself,
before any application code, with a plain-text 400 and no request id. `ProblemHttpToolsProtocol`
and `ProblemH11Protocol` are uvicorn's own protocols with that one answer replaced by a problem+json
400 carrying a fresh `X-Request-ID` (header and body alike). They are selected with
`--http shared.http:ProblemHttpToolsProtocol` or `uvicorn.Config(http=ProblemHttpToolsProtocol)`;
`PROBLEM_HTTP_PROTOCOL` names the former for both.

What uvicorn does not allow: the override is of `send_400_response`, a method, not a documented hook,
so an upgrade of uvicorn must keep these tests green; the request id cannot be the caller's (the
request could not be parsed, so its headers are unknown); and its other own answers (the 500 when an
app crashes before starting a response, the 503 of `--limit-concurrency`) stay plain text: the first
cannot happen behind `UnexpectedErrorMiddleware`, the second is not configured here.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shared.errors import PROBLEM_JSON, BadRequest, NotFound, PayloadTooLarge, invalid, problem_response

__all__ = [
    "PROBLEM_HTTP_PROTOCOL",
    "BodyLimitMiddleware",
    "NulGuardMiddleware",
    "ProblemH11Protocol",
    "ProblemHttpToolsProtocol",
    "malformed_request_response",
]

#: The uvicorn `--http` value (an import string) of the protocol that answers malformed requests as problems.
PROBLEM_HTTP_PROTOCOL = "shared.http:ProblemHttpToolsProtocol"


def malformed_request_response() -> bytes:
    """The whole HTTP/1.1 400 problem answer to a request that could not be parsed."""
    request_id = str(uuid.uuid4())
    problem = BadRequest("The request is not valid HTTP/1.1 and could not be read.", request_id=request_id)
    body = orjson.dumps(problem.to_dict())
    head = (
        b"HTTP/1.1 400 Bad Request\r\n"
        b"content-type: " + PROBLEM_JSON.encode() + b"\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n"
        b"x-request-id: " + request_id.encode() + b"\r\n"
        b"connection: close\r\n\r\n"
    )
    return head + body


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; a request it cannot parse gets a problem+json 400."""

    def send_400_response(self, msg: str) -> None:
        self.transport.write(malformed_request_response())
        self.transport.close()


class ProblemH11Protocol(H11Protocol):
    """uvicorn's h11 protocol; a request it cannot parse gets a problem+json 400."""

    def send_400_response(self, msg: str) -> None:
        self.transport.write(malformed_request_response())
        self.transport.close()


class BodyLimitMiddleware:
    """Refuses request bodies above `max_bytes` with 413 before any route reads them.

    A declared Content-Length is checked up front; a chunked body is buffered up to the limit and
    replayed to the app, so the route sees either the whole body or nothing.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS", "DELETE"}:
            await self.app(scope, receive, send)
            return
        too_large = PayloadTooLarge(f"The request body exceeds {self.max_bytes} bytes.")
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await problem_response(too_large, scope["path"])(scope, receive, send)
                    return
                await self.app(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await problem_response(too_large, scope["path"])(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class NulGuardMiddleware:
    """Refuses a NUL (U+0000) in the path (404) or in a query parameter (422 naming it).

    PostgreSQL cannot hold NUL in text, not even as a query parameter: an id `abc%00` in a path or a
    `?q=%00` reached the driver and came back as a 500, where SQLite simply found nothing. Typed
    parameters (`shared.types.Id`, `Line`) refuse it too and name the field; this guard is the floor
    under every route of every service, including the `str` path parameters no one typed. A path
    that holds a NUL names no resource, hence 404 (a path parameter never gets a 422 from here).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if "\x00" in scope["path"]:
                missing = NotFound("No resource has a name with a NUL (U+0000) in it.")
                await problem_response(missing, scope["path"].replace("\x00", "\ufffd"))(scope, receive, send)
                return
            query: bytes = scope.get("query_string", b"")
            if b"%00" in query or b"\x00" in query:
                pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
                names = dict.fromkeys(name for name, value in pairs if "\x00" in name + value)
                errors = [{"field": name, "reason": "must not contain NUL (U+0000)"} for name in names]
                if errors:
                    await problem_response(invalid(errors), scope["path"])(scope, receive, send)
                    return
        await self.app(scope, receive, send)
