"""Forwarding to the services: the gateway's hot path.

Guarantees:
- The only identity a service sees is the one the gateway signs (`shared.auth.sign_identity`) for
  the authenticated key, bound to the method and to the path exactly as forwarded. Identity headers
  sent by the client, its API key, hop-by-hop headers and `Host` never reach a service.
- Bodies stream both ways with bounded memory: the request body goes up chunk by chunk as it
  arrives, and the response body comes back in chunks of at most `CHUNK_BYTES`, with backpressure
  from the client (a 100,000-item feed does not grow the gateway's memory).
- An upstream answer passes through unchanged: status (304, 410, ...), end-to-end headers (ETag,
  problem+json content type, compressed bodies: responses are not decompressed) and body. The gateway's
  own errors name the service: 503 not deployed, 502 unreachable or broken answer, 504 timed out.

One `aiohttp.ClientSession` serves every request (DESIGN.md: httpx's default transport is about 10x
slower here). Its connect timeout bounds reaching a service; `upstream_timeout_s` bounds each silence
of the service (`sock_read`: from the request sent to the response headers, then between two body
reads) rather than the whole exchange, so a long feed that keeps flowing is never cut off while a
stuck service still is.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Mapping

import aiohttp
from multidict import CIMultiDict
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from yarl import URL

from gateway.keys import Principal
from gateway.routing import Service, service_for, upstream_urls
from gateway.settings import GatewaySettings
from shared.auth import IDENTITY_HEADERS, sign_identity
from shared.errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    Problem,
    ServiceUnavailable,
    Unauthorized,
    problem_response,
)

__all__ = [
    "CHUNK_BYTES",
    "FORWARDED_METHODS",
    "BadGateway",
    "Forwarder",
    "ForwardingMiddleware",
    "GatewayTimeout",
    "downstream_headers",
    "upstream_headers",
]

log = logging.getLogger("ewtp.gateway.proxy")

CHUNK_BYTES = 65_536
FORWARDED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

#: RFC 9110 section 7.6.1: meaningful for one connection only, never forwarded.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
#: Request headers a service must never receive from the client. `x-request-id` is replaced by the
#: accepted one inside the signed identity; `expect` is answered by the gateway's own server.
_NOT_UPSTREAM = (
    HOP_BY_HOP
    | {b"host", b"expect", b"authorization", b"x-api-key", b"x-request-id"}
    | {h.encode() for h in IDENTITY_HEADERS}
)
#: Response headers the gateway sets itself (its server adds `server` and `date`; the request-id
#: layer adds `x-request-id`).
_NOT_DOWNSTREAM = HOP_BY_HOP | {b"server", b"date", b"x-request-id"}


class BadGateway(Problem):
    status, title, slug = 502, "Bad Gateway", "bad-gateway"


class GatewayTimeout(Problem):
    status, title, slug = 504, "Gateway Timeout", "gateway-timeout"


def _connection_listed(values: Iterable[bytes]) -> frozenset[bytes]:
    """Header names a `Connection` header declares hop-by-hop for this message."""
    return frozenset(token.strip().lower() for value in values for token in value.split(b",") if token.strip())


def upstream_headers(client: Iterable[tuple[bytes, bytes]], identity: Mapping[str, str]) -> CIMultiDict[str]:
    """The client's end-to-end headers, minus anything identity-bearing, plus the signed identity."""
    client = list(client)
    listed = _connection_listed(v for k, v in client if k.lower() == b"connection")
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in client:
        lowered = name.lower()
        if lowered in _NOT_UPSTREAM or lowered in listed:
            continue
        headers.add(name.decode("latin-1"), value.decode("latin-1"))
    headers.update(identity)
    return headers


def downstream_headers(upstream: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The upstream response's end-to-end headers, lower-cased for ASGI."""
    upstream = list(upstream)
    listed = _connection_listed(v for k, v in upstream if k.lower() == b"connection")
    out: list[tuple[bytes, bytes]] = []
    for name, value in upstream:
        lowered = name.lower()
        if lowered not in _NOT_DOWNSTREAM and lowered not in listed:
            out.append((lowered, value))
    return out


def _has_body(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return True
    return False


async def _request_body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        if chunk:  # an empty chunk would end a chunked upload early
            yield chunk
        if not message.get("more_body", False):
            return


class UpstreamResponse(Response):
    """The upstream's response, relayed as it arrives; the upstream connection is always given back."""

    def __init__(self, upstream: aiohttp.ClientResponse, service: Service) -> None:
        self.upstream = upstream
        self.service = service
        self.status_code = upstream.status
        self.raw_headers = downstream_headers(upstream.raw_headers)
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        complete = False
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            async for chunk in self.upstream.content.iter_chunked(CHUNK_BYTES):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            complete = True
        except (aiohttp.ClientError, OSError) as exc:  # OSError: timeouts and client disconnects too
            # The status line is out: all we can do is cut the connection, so the client sees a
            # truncated body rather than a complete-looking wrong one.
            log.warning("response from %s broken off: %r", self.service.value, exc)
        finally:
            if complete:
                self.upstream.release()
            else:
                self.upstream.close()


class Forwarder:
    """Routes a request by path prefix and relays it to the owning service over one shared session."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.upstreams = upstream_urls(settings)
        self.secret = settings.signing_secret.get_secret_value().encode()
        self.timeout = aiohttp.ClientTimeout(
            total=None, connect=settings.upstream_connect_timeout_s, sock_read=settings.upstream_timeout_s
        )
        self.max_connections = settings.upstream_max_connections
        self.keepalive_s = settings.upstream_keepalive_s
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self.max_connections, limit_per_host=0, keepalive_timeout=self.keepalive_s, ttl_dns_cache=60
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self.timeout,
            auto_decompress=False,  # compressed bodies pass through as the service sent them
            cookie_jar=aiohttp.DummyCookieJar(),  # one session serves all callers: it must keep no cookies
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Forward one request whose path the routing table owns; every failure is a problem response."""
        try:
            response = await self._forward(scope, receive)
        except Problem as exc:
            response = problem_response(exc, scope["path"])
        await response(scope, receive, send)

    async def _forward(self, scope: Scope, receive: Receive) -> Response:
        method: str = scope["method"]
        path: str = scope["path"]
        service = service_for(path)
        if service is None:
            raise NotFound(f"No route for {method} {path}.")
        if method not in FORWARDED_METHODS:
            raise MethodNotAllowed(f"{method} is not forwarded.", headers={"Allow": ", ".join(FORWARDED_METHODS)})
        state = scope.get("state", {})
        principal = state.get("principal")
        if not isinstance(principal, Principal):
            raise Unauthorized("An API key is required.", headers={"WWW-Authenticate": "Bearer"})
        base = self.upstreams[service]
        if not base:
            raise ServiceUnavailable(f"The {service.value} service is not deployed.", service=service.value)
        if self._session is None:
            raise ServiceUnavailable("The gateway is not started.", service=service.value)

        identity = sign_identity(
            self.secret,
            principal=principal.key_id,
            role=principal.role.value,
            subject=principal.subject,
            request_id=str(state["request_id"]),
            method=method,
            path=path,
        )
        raw_path: bytes = scope.get("raw_path") or path.encode()
        query: bytes = scope.get("query_string", b"")
        target = base + raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        body = _request_body(receive) if _has_body(scope["headers"]) else None
        try:
            upstream = await self._session.request(
                method,
                URL(target, encoded=True),  # sent as received: the signed path is what the service decodes
                headers=upstream_headers(scope["headers"], identity),
                data=body,
                allow_redirects=False,
            )
        except TimeoutError:  # before ClientError: aiohttp's timeouts are both
            log.warning("%s timed out on %s %s", service.value, method, path)
            detail = f"The {service.value} service did not answer in time."
            raise GatewayTimeout(detail, service=service.value) from None
        except aiohttp.ClientError as exc:
            log.warning("%s failed on %s %s: %r", service.value, method, path, exc)
            raise BadGateway(f"The {service.value} service could not be reached.", service=service.value) from None
        except ClientDisconnect:
            raise BadRequest("The client went away while sending its request body.") from None
        return UpstreamResponse(upstream, service)


class ForwardingMiddleware:
    """Hands every path the routing table owns straight to the forwarder; the rest goes to FastAPI.

    The forwarded path is the hot one: skipping FastAPI's router and exception layers for it is
    measurably cheaper, and the gateway's own routes (health, admin API) cannot be shadowed by it.
    """

    def __init__(self, app: ASGIApp, forwarder: Forwarder) -> None:
        self.app = app
        self.forwarder = forwarder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and service_for(scope["path"]) is not None:
            await self.forwarder(scope, receive, send)
        else:
            await self.app(scope, receive, send)
