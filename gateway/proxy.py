"""Forwarding to the services: the gateway's hot path.

Guarantees:
- The only identity a service sees is the one the gateway signs (`shared.auth.sign_identity`) for
  the authenticated key, bound to the method, the path and query exactly as forwarded, and the body
  (`Content-Digest`), under a fresh nonce. Identity headers sent by the client, its API key,
  hop-by-hop headers and `Host` never reach a service.
- Memory stays bounded: the request body is read whole (it must be, to sign its digest; the body
  limit layer outside caps it at `max_body_bytes`), and the response body comes back in chunks of at
  most `CHUNK_BYTES`, with backpressure from the client (a 100,000-item feed does not grow the
  gateway's memory).
- A request never fails because of a stale pooled connection: when a reused connection is closed
  or reset before any response byte (the service dropped an idle keep-alive connection, or
  restarted), the request went nowhere, so it is sent once more on a fresh connection, whatever the
  method.
- No upstream address reaches the client: a `Location` pointing at a service's origin is made
  relative, and a path with a trailing slash (which no service routes) is the gateway's own 404.
- An upstream answer passes through unchanged: status (304, 410, ...), end-to-end headers (ETag,
  problem+json content type, compressed bodies: responses are not decompressed) and body. The gateway's
  own errors name the service: 503 not deployed, 502 unreachable or broken answer, 504 timed out.

Timeouts are per route kind (`GatewaySettings.upstream_timeout_s` for reads, `_write_timeout_s` for
writes, `_feed_timeout_s` for `/v1/feeds`). Retry-After, like every end-to-end header, passes through.

One `aiohttp.ClientSession` serves every request (DESIGN.md: httpx's default transport is about 10x
slower here). Its connect timeout bounds reaching a service; `upstream_timeout_s` bounds each silence
of the service (`sock_read`: from the request sent to the response headers, then between two body
reads) rather than the whole exchange, so a long feed that keeps flowing is never cut off while a
stuck service still is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from types import SimpleNamespace

import aiohttp
from multidict import CIMultiDict
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from yarl import URL

from gateway.edge import FORWARDING_HEADERS, ForwardedHeaders
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
from shared.metrics import GATEWAY_UPSTREAM_ERRORS
from shared.tracing import outgoing_headers

__all__ = [
    "CHUNK_BYTES",
    "FORWARDED_METHODS",
    "BadGateway",
    "Forwarder",
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
    | FORWARDING_HEADERS
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


def upstream_headers(
    client: Iterable[tuple[bytes, bytes]], identity: Mapping[str, str], forwarded: Mapping[str, str] | None = None
) -> CIMultiDict[str]:
    """The client's end-to-end headers, minus anything identity-bearing or forwarding-related, plus the
    signed identity and the gateway's own `X-Forwarded-*` (`gateway.edge.ForwardedHeaders`)."""
    client = list(client)
    listed = _connection_listed(v for k, v in client if k.lower() == b"connection")
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in client:
        lowered = name.lower()
        if lowered in _NOT_UPSTREAM or lowered in listed:
            continue
        headers.add(name.decode("latin-1"), value.decode("latin-1"))
    headers.update(identity)
    if forwarded:
        headers.update(forwarded)
    headers.update(outgoing_headers())  # the gateway's span, not the client's, is the service's parent
    return headers


_LOCATIONS = frozenset({b"location", b"content-location"})


def downstream_headers(
    upstream: Iterable[tuple[bytes, bytes]], internal_origins: Iterable[bytes] = ()
) -> list[tuple[bytes, bytes]]:
    """The upstream response's end-to-end headers, lower-cased for ASGI.

    A `Location` or `Content-Location` under one of `internal_origins` (the services' own addresses)
    loses its origin: the client follows it through the gateway and never learns the address.
    """
    upstream = list(upstream)
    listed = _connection_listed(v for k, v in upstream if k.lower() == b"connection")
    out: list[tuple[bytes, bytes]] = []
    for name, value in upstream:
        lowered = name.lower()
        if lowered not in _NOT_DOWNSTREAM and lowered not in listed:
            if lowered in _LOCATIONS:
                value = _relative(value, internal_origins)
            out.append((lowered, value))
    return out


def _relative(location: bytes, internal_origins: Iterable[bytes]) -> bytes:
    lowered = location.strip().lower()
    for origin in internal_origins:
        if lowered.startswith(origin) and lowered[len(origin) : len(origin) + 1] in (b"", b"/", b"?", b"#"):
            rest = location.strip()[len(origin) :]
            return rest if rest.startswith(b"/") else b"/" + rest
    return location


def _has_body(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return True
    return False


async def _request_body(receive: Receive) -> bytes:
    """The whole request body; bounded by `BodyLimitMiddleware`, which sits outside the forwarder."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


#: Failures of a connection that carried no response byte: the request never reached the app.
_STALE = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)


def _went_nowhere(exc: Exception, attempt: SimpleNamespace) -> bool:
    """True when `exc` is a reused pooled connection dropped before any byte of the response."""
    if not attempt.reused or isinstance(exc, aiohttp.ClientConnectorError):
        return False
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        # A partial response would be the parsed message; with nothing received it is the default text.
        return isinstance(exc.message, str)
    return isinstance(exc, aiohttp.ClientOSError)


async def _on_reuse(_session: aiohttp.ClientSession, ctx: SimpleNamespace, _params: object) -> None:
    if isinstance(ctx.trace_request_ctx, SimpleNamespace):  # the gateway's own calls carry none
        ctx.trace_request_ctx.reused = True


class UpstreamResponse(Response):
    """The upstream's response, relayed as it arrives; the upstream connection is always given back."""

    def __init__(self, upstream: aiohttp.ClientResponse, service: Service, internal_origins: Iterable[bytes]) -> None:
        self.upstream = upstream
        self.service = service
        self.status_code = upstream.status
        self.raw_headers = downstream_headers(upstream.raw_headers, internal_origins)
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        complete = False
        upstream = self.upstream
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            length = upstream.content_length
            if length is not None and length <= CHUNK_BYTES:
                # The common small answer: one body message (read whole, bounded by CHUNK_BYTES), not a
                # chunk and then an empty closing one; each message crosses every layer's send.
                body = await upstream.read()  # b"" for HEAD, 204 and 304, whatever Content-Length says
                await send({"type": "http.response.body", "body": body, "more_body": False})
            else:
                async for chunk in upstream.content.iter_chunked(CHUNK_BYTES):
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
        self.internal_origins = tuple({url.lower().encode() for url in self.upstreams.values() if url})
        self.secret = settings.signing_secret.get_secret_value().encode()
        connect = settings.upstream_connect_timeout_s
        self.timeout = aiohttp.ClientTimeout(total=None, connect=connect, sock_read=settings.upstream_timeout_s)
        self.write_timeout = aiohttp.ClientTimeout(
            total=None, connect=connect, sock_read=settings.upstream_write_timeout_s
        )
        self.feed_timeout = aiohttp.ClientTimeout(
            total=None, connect=connect, sock_read=settings.upstream_feed_timeout_s
        )
        self.forwarded = ForwardedHeaders(settings.trusted_proxies.split(","))
        self.max_connections = settings.upstream_max_connections
        self.keepalive_s = settings.upstream_keepalive_s
        self._session: aiohttp.ClientSession | None = None
        #: For the one retry of a request whose pooled connection went stale: never pooled.
        self._fresh: aiohttp.ClientSession | None = None

    def _new_session(self, connector: aiohttp.TCPConnector, trace: bool) -> aiohttp.ClientSession:
        traces = []
        if trace:  # tells a reused connection from a new one; the one signal is cheap
            config = aiohttp.TraceConfig()
            config.on_connection_reuseconn.append(_on_reuse)
            config.freeze()
            traces.append(config)
        return aiohttp.ClientSession(
            connector=connector,
            timeout=self.timeout,
            auto_decompress=False,  # compressed bodies pass through as the service sent them
            cookie_jar=aiohttp.DummyCookieJar(),  # one session serves all callers: it must keep no cookies
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
            trace_configs=traces,
        )

    async def start(self) -> None:
        pooled = aiohttp.TCPConnector(
            limit=self.max_connections, limit_per_host=0, keepalive_timeout=self.keepalive_s, ttl_dns_cache=60
        )
        self._session = self._new_session(pooled, trace=True)
        self._fresh = self._new_session(aiohttp.TCPConnector(force_close=True, ttl_dns_cache=60), trace=False)

    def _timeout(self, method: str, path: str) -> aiohttp.ClientTimeout:
        """Per route kind: the feed waits longest, writes least (see `GatewaySettings`)."""
        if path.startswith("/v1/feeds"):
            return self.feed_timeout
        return self.timeout if method in ("GET", "HEAD", "OPTIONS") else self.write_timeout

    def session(self) -> aiohttp.ClientSession | None:
        """The pooled session (None before `start`), for the gateway's own calls to services."""
        return self._session

    async def close(self) -> None:
        for session in (self._session, self._fresh):
            if session is not None:
                await session.close()
        self._session = self._fresh = None

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
        if path.endswith("/"):  # no service routes one; a service would redirect to its own address
            raise NotFound(f"No route for {method} {path}.")
        if self._session is None or self._fresh is None:
            raise ServiceUnavailable("The gateway is not started.", service=service.value)

        try:
            body = await _request_body(receive) if _has_body(scope["headers"]) else b""
        except ClientDisconnect:
            raise BadRequest("The client went away while sending its request body.") from None
        query = scope.get("query_string", b"").decode("latin-1")
        identity = sign_identity(
            self.secret,
            principal=principal.key_id,
            role=principal.role.value,
            subject=principal.subject,
            request_id=str(state["request_id"]),
            method=method,
            path=path,
            query=query,
            body=body,
        )
        raw_path: bytes = scope.get("raw_path") or path.encode()
        # Sent as received: the signed path is what the service decodes, the query is signed raw.
        url = URL(base + raw_path.decode("latin-1") + ("?" + query if query else ""), encoded=True)
        headers = upstream_headers(scope["headers"], identity, self.forwarded(scope))
        data = body if body else None
        timeout = self._timeout(method, path)
        attempt = SimpleNamespace(reused=False)
        try:
            try:
                upstream = await self._session.request(
                    method,
                    url,
                    headers=headers,
                    data=data,
                    allow_redirects=False,
                    trace_request_ctx=attempt,
                    timeout=timeout,
                )
            except _STALE as exc:
                if not _went_nowhere(exc, attempt):
                    raise
                log.info("%s: pooled connection was stale (%r); retrying %s on a new one", service.value, exc, method)
                upstream = await self._fresh.request(
                    method, url, headers=headers, data=data, allow_redirects=False, timeout=timeout
                )
        except TimeoutError:  # before ClientError: aiohttp's timeouts are both
            log.warning("%s timed out on %s %s", service.value, method, path)
            GATEWAY_UPSTREAM_ERRORS.labels(service.value, "timeout").inc()
            detail = f"The {service.value} service did not answer in time."
            raise GatewayTimeout(detail, service=service.value) from None
        except aiohttp.ClientError as exc:
            log.warning("%s failed on %s %s: %r", service.value, method, path, exc)
            GATEWAY_UPSTREAM_ERRORS.labels(service.value, "unreachable").inc()
            raise BadGateway(f"The {service.value} service could not be reached.", service=service.value) from None
        return UpstreamResponse(upstream, service, self.internal_origins)
