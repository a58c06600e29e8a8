"""What the gateway tells services about the client (`X-Forwarded-*`) and what browsers may do (CORS).

Guarantees:
- `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Host` reaching a service are set by the
  gateway. A client's own values (and RFC 7239 `Forwarded`) are believed only when the TCP peer is a
  configured trusted proxy (`GatewaySettings.trusted_proxies`, addresses or CIDR networks, e.g. the
  ingress controller); then the peer is appended to the chain. From anyone else they are dropped and
  replaced by the peer address, the scheme and the `Host` the gateway saw, so no client can make a
  service believe it comes from another address.
- CORS is per origin: `GatewaySettings.cors_origins` maps each allowed browser origin to the methods
  it may use. A preflight from an allowed origin is answered by the gateway itself (204, no key
  needed: browsers send none); an actual request from it gets `Access-Control-Allow-Origin` on every
  answer (errors and 429s included, so the page can read them) with the useful headers exposed. Any
  other origin gets no CORS header at all, so the browser withholds the answer. With no origin
  configured the layer costs nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["FORWARDING_HEADERS", "CorsMiddleware", "ForwardedHeaders"]

#: Client-supplied forwarding headers: never passed on as sent (see `ForwardedHeaders`).
FORWARDING_HEADERS = frozenset({b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"forwarded"})
_MAX_CACHED_PEERS = 4096


class ForwardedHeaders:
    """Computes the `X-Forwarded-*` headers of one request from its ASGI scope."""

    def __init__(self, trusted: Iterable[str] = ()) -> None:
        self.networks = [ipaddress.ip_network(entry.strip(), strict=False) for entry in trusted if entry.strip()]
        self._trusted_peers: dict[str, bool] = {}

    def trusts(self, peer: str) -> bool:
        if not self.networks:
            return False
        known = self._trusted_peers.get(peer)
        if known is None:
            try:
                address = ipaddress.ip_address(peer)
                known = any(address in network for network in self.networks)
            except ValueError:
                known = False
            if len(self._trusted_peers) >= _MAX_CACHED_PEERS:
                self._trusted_peers.clear()
            self._trusted_peers[peer] = known
        return known

    def __call__(self, scope: Scope) -> dict[str, str]:
        client = scope.get("client")
        peer = client[0] if client else "unknown"
        host = proto = chain = None
        trusted = self.trusts(peer)
        for name, value in scope["headers"]:
            if name == b"host":
                host = host or value.decode("latin-1")
            elif trusted and name == b"x-forwarded-for":
                chain = f"{chain}, {value.decode('latin-1')}" if chain else value.decode("latin-1")
            elif trusted and name == b"x-forwarded-proto":
                proto = value.decode("latin-1").strip()
            elif trusted and name == b"x-forwarded-host":
                host = value.decode("latin-1").strip()
        headers = {
            "X-Forwarded-For": f"{chain}, {peer}" if chain else peer,
            "X-Forwarded-Proto": proto or str(scope.get("scheme", "http")),
        }
        if host:
            headers["X-Forwarded-Host"] = host
        return headers


_EXPOSED = (
    b"X-Request-ID, ETag, Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, "
    b"Idempotent-Replayed"
)
_ALLOWED_HEADERS = b"Authorization, X-API-Key, Content-Type, Idempotency-Key, If-Match, If-None-Match, X-Request-ID"


class CorsMiddleware:
    """Per-origin CORS (outside authentication: a preflight carries no key)."""

    def __init__(self, app: ASGIApp, origins: Mapping[str, Iterable[str]], max_age_s: int = 600) -> None:
        self.app = app
        self.origins = {
            origin.rstrip("/").encode(): ", ".join(sorted({m.upper() for m in methods})).encode()
            for origin, methods in origins.items()
        }
        self.max_age = str(max_age_s).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.origins or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = preflight = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                preflight = value
        methods = self.origins.get(origin) if origin is not None else None
        if methods is None or origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and preflight is not None:
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [
                        (b"access-control-allow-origin", origin),
                        (b"access-control-allow-methods", methods),
                        (b"access-control-allow-headers", _ALLOWED_HEADERS),
                        (b"access-control-max-age", self.max_age),
                        (b"vary", b"Origin"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        allowed_origin = origin

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", ()) if not k.lower().startswith(b"access-control-")
                ]
                headers += [
                    (b"access-control-allow-origin", allowed_origin),
                    (b"access-control-expose-headers", _EXPOSED),
                    (b"vary", b"Origin"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)
