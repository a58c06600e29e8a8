"""The gateway-signed identity, and its verification in every service.

Guarantees (a service acts on a request only if all hold):
- Its identity headers carry an HMAC-SHA256 by the gateway over (principal, role, subject, timestamp,
  request id, nonce, method, full target = path and query, Content-Digest). A captured signature
  cannot be bent to another route, another query (`?limit=200`) or another body.
- The body is the one signed: its SHA-256 (`Content-Digest: sha-256=:...:`, RFC 9530) is recomputed
  here and a mismatch is refused before any route runs. The body is read whole for that, which is
  bounded because `BodyLimitMiddleware` sits outside this middleware (413 past `max_body_bytes`).
- It was signed less than `max_age` seconds ago (30 s by default: clocks are NTP-synced and the
  gateway signs just before sending), and its nonce (fresh per forwarded request; not the client's
  `X-Request-ID`, which a client may repeat when it retries) has not been seen by this replica within
  the window: a replay is refused. The replay cache is per replica, so a replay to another replica
  of the same service is bounded only by the window; keep the window short.
- During a secret rotation several secrets verify (the current one and `signing_secret_previous`);
  the gateway always signs with the current one.
Health probes and the OpenAPI document are the only unsigned paths.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import Forbidden, ServiceUnavailable, Unauthorized, problem_response
from shared.observability import request_id_var

__all__ = [
    "IDENTITY_HEADERS",
    "Identity",
    "IdentityDep",
    "ReplayCache",
    "Role",
    "SignedIdentityMiddleware",
    "content_digest",
    "ensure_seller_access",
    "new_nonce",
    "require_roles",
    "sign_identity",
    "verify_identity",
]


class Role(StrEnum):
    OPS = "ops"
    RDB_OFFICER = "rdb_officer"
    SELLER = "seller"
    MARKETPLACE = "marketplace"
    LENDER = "lender"
    TRAVELLER_APP = "traveller_app"


H_PRINCIPAL = "x-ewtp-principal"
H_ROLE = "x-ewtp-role"
H_SUBJECT = "x-ewtp-subject"
H_TIMESTAMP = "x-ewtp-timestamp"
H_NONCE = "x-ewtp-nonce"
H_SIGNATURE = "x-ewtp-signature"
H_DIGEST = "content-digest"
H_REQUEST_ID = "x-request-id"
#: Headers the gateway strips from every client request and sets itself.
IDENTITY_HEADERS = (H_PRINCIPAL, H_ROLE, H_SUBJECT, H_TIMESTAMP, H_NONCE, H_SIGNATURE, H_DIGEST)

UNSIGNED_PATHS = frozenset({"/health/live", "/health/ready", "/openapi.json", "/metrics"})


def content_digest(body: bytes) -> str:
    """The RFC 9530 `Content-Digest` field value of `body` (sha-256)."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


EMPTY_DIGEST = content_digest(b"")


def new_nonce() -> str:
    """128 random bits, hex: unique per forwarded request."""
    return os.urandom(16).hex()


@dataclass(frozen=True, slots=True)
class Identity:
    principal: str
    role: Role
    #: The seller, marketplace or traveller app id the key is bound to; None for other roles. What such a
    #: key owns is bound to this, never to `principal` (the key id, which changes at each rotation).
    subject: str | None
    request_id: str

    def owns(self, seller_id: str) -> bool:
        return self.role is Role.SELLER and self.subject == seller_id

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.principal}"

    @property
    def party(self) -> str:
        """Who the caller acts for: `role:subject` for a bound key (the same for every key of that
        seller, marketplace or app, so across a key rotation too), else the key id itself."""
        return f"{self.role.value}:{self.subject}" if self.subject else self.principal


def _message(*parts: str) -> bytes:
    return "\n".join(("v2", *parts)).encode()


def _target(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


def sign_identity(
    secret: bytes,
    *,
    principal: str,
    role: str,
    subject: str | None,
    request_id: str,
    method: str,
    path: str,
    query: str = "",
    body: bytes = b"",
    nonce: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The identity headers for one forwarded request (a fresh nonce unless one is given).

    `path` is the decoded path as the service's ASGI scope will hold it, `query` the raw query string,
    `body` the exact bytes sent.
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or new_nonce()
    digest = EMPTY_DIGEST if not body else content_digest(body)
    message = _message(
        principal, role, subject or "", ts, request_id, nonce, method.upper(), _target(path, query), digest
    )
    return {
        H_PRINCIPAL: principal,
        H_ROLE: role,
        H_SUBJECT: subject or "",
        H_TIMESTAMP: ts,
        H_REQUEST_ID: request_id,
        H_NONCE: nonce,
        H_DIGEST: digest,
        H_SIGNATURE: hmac.new(secret, message, hashlib.sha256).hexdigest(),
    }


def verify_identity(
    secrets: bytes | Sequence[bytes],
    headers: dict[str, str],
    method: str,
    path: str,
    max_age_s: int,
    now: float | None = None,
    *,
    query: str = "",
) -> Identity:
    """Check signature (under any of `secrets`) and freshness; raise `Unauthorized` otherwise.

    The body is not read here: the signature covers the `Content-Digest` header, and
    `SignedIdentityMiddleware` checks the body against it.
    """
    try:
        principal, role, subject = headers[H_PRINCIPAL], headers[H_ROLE], headers.get(H_SUBJECT, "")
        ts, request_id, signature = headers[H_TIMESTAMP], headers[H_REQUEST_ID], headers[H_SIGNATURE]
        nonce, digest = headers[H_NONCE], headers[H_DIGEST]
    except KeyError:
        raise Unauthorized("Missing gateway identity; call this API through the gateway.") from None
    message = _message(principal, role, subject, ts, request_id, nonce, method.upper(), _target(path, query), digest)
    keys = (secrets,) if isinstance(secrets, bytes) else secrets
    valid = False
    for secret in keys:  # every secret is tried: no timing hint of which one matched
        valid |= hmac.compare_digest(hmac.new(secret, message, hashlib.sha256).hexdigest(), signature)
    if not valid:
        raise Unauthorized("Invalid gateway identity signature.")
    try:
        age = abs((time.time() if now is None else now) - int(ts))
        parsed_role = Role(role)
    except ValueError:
        raise Unauthorized("Malformed gateway identity.") from None
    if age > max_age_s:
        raise Unauthorized("Expired gateway identity.")
    return Identity(principal=principal, role=parsed_role, subject=subject or None, request_id=request_id)


class ReplayCache:
    """Nonces seen by this replica, each kept until no signature carrying it can still be fresh.

    Entries expire in insertion order (a fixed lifetime from insertion), so a deque prunes in O(1)
    amortised. When `max_entries` are live the cache refuses new ones (503, retryable) rather than
    forget a nonce early, which would reopen replays.
    """

    def __init__(self, lifetime_s: float, max_entries: int = 1_000_000) -> None:
        self.lifetime_s = lifetime_s
        self.max_entries = max_entries
        self._seen: set[str] = set()
        self._order: deque[tuple[float, str]] = deque()

    def __len__(self) -> int:
        return len(self._seen)

    def add(self, nonce: str, now: float | None = None) -> bool:
        """Record `nonce`; False if it was already seen within its lifetime."""
        now = time.monotonic() if now is None else now
        order, seen = self._order, self._seen
        while order and order[0][0] <= now:
            seen.discard(order.popleft()[1])
        if nonce in seen:
            return False
        if len(seen) >= self.max_entries:
            raise ServiceUnavailable(
                "Too many requests in flight to check for replays; retry shortly.", headers={"retry-after": "1"}
            )
        seen.add(nonce)
        order.append((now + self.lifetime_s, nonce))
        return True


def _has_body(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return True
    return False


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None if the client went away. Bounded by the outer body limit."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class SignedIdentityMiddleware:
    """Refuses every unsigned, stale, replayed or bent request (health and OpenAPI aside) before any route.

    It sits in front of routing on purpose: no route can forget to check, and unknown paths are
    refused as unauthenticated rather than revealing which exist. It must sit inside
    `BodyLimitMiddleware`, which bounds the body it reads to check the digest.
    """

    def __init__(
        self,
        app: ASGIApp,
        secret: bytes | Sequence[bytes],
        max_age_s: int,
        replay_cache: ReplayCache | None = None,
    ) -> None:
        self.app = app
        self.secrets: tuple[bytes, ...] = (secret,) if isinstance(secret, bytes) else tuple(secret)
        self.max_age_s = max_age_s
        # A signature is fresh within max_age on either side of our clock: keep its nonce for both.
        self.replays = replay_cache or ReplayCache(lifetime_s=2 * max_age_s + 1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        token = request_id_var.set(headers.get(H_REQUEST_ID))
        try:
            if scope["path"] in UNSIGNED_PATHS:
                await self.app(scope, receive, send)
                return
            path = scope["path"]
            try:
                identity = verify_identity(
                    self.secrets,
                    headers,
                    scope["method"],
                    path,
                    self.max_age_s,
                    query=scope.get("query_string", b"").decode("latin-1"),
                )
                if not self.replays.add(headers[H_NONCE]):
                    raise Unauthorized("Replayed gateway identity: this request was already received.")
                if _has_body(scope["headers"]):
                    body = await _read_body(receive)
                    if body is None:
                        return  # the client went away: nobody to answer
                    if not hmac.compare_digest(content_digest(body), headers[H_DIGEST]):
                        raise Unauthorized("The request body does not match its signed Content-Digest.")
                    receive = _replay(body, receive)
                elif headers[H_DIGEST] != EMPTY_DIGEST:
                    raise Unauthorized("The request body does not match its signed Content-Digest.")
            except (Unauthorized, ServiceUnavailable) as exc:
                await problem_response(exc, path)(scope, receive, send)
                return
            scope.setdefault("state", {})["identity"] = identity
            await self.app(scope, receive, send)
        finally:
            request_id_var.reset(token)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _identity(request: Request) -> Identity:
    identity = getattr(request.state, "identity", None)
    if not isinstance(identity, Identity):
        raise Unauthorized("Missing gateway identity.")
    return identity


IdentityDep = Annotated[Identity, Depends(_identity)]


def require_roles(*roles: Role) -> Any:
    """A dependency that lets only the given roles through (403 otherwise)."""
    allowed = frozenset(roles)

    async def check(identity: IdentityDep) -> Identity:
        if identity.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"This action needs one of the roles: {names}.")
        return identity

    return Depends(check)


def ensure_seller_access(identity: Identity, seller_id: str, *, staff: frozenset[Role] = frozenset({Role.OPS})) -> None:
    """Staff roles act on any seller's things; a seller only on its own (403 otherwise)."""
    if identity.role in staff or identity.owns(seller_id):
        return
    raise Forbidden("You may act only on your own seller account and its resources.")
