"""The gateway-signed identity, and its verification in every service.

Guarantee: a service acts only on requests whose identity headers carry a valid HMAC-SHA256 signature
by the gateway over (principal, role, subject, timestamp, request id, method, path), made less than
`max_age` seconds ago. Binding the method and path means a captured signature cannot be replayed
against another route. Health probes and the OpenAPI document are the only unsigned paths.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import Forbidden, Unauthorized, problem_response
from shared.observability import request_id_var

__all__ = [
    "IDENTITY_HEADERS",
    "Identity",
    "IdentityDep",
    "Role",
    "SignedIdentityMiddleware",
    "ensure_seller_access",
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
H_SIGNATURE = "x-ewtp-signature"
H_REQUEST_ID = "x-request-id"
#: Headers the gateway strips from every client request and sets itself.
IDENTITY_HEADERS = (H_PRINCIPAL, H_ROLE, H_SUBJECT, H_TIMESTAMP, H_SIGNATURE)

UNSIGNED_PATHS = frozenset({"/health/live", "/health/ready", "/openapi.json", "/metrics"})


@dataclass(frozen=True, slots=True)
class Identity:
    principal: str
    role: Role
    #: The seller id or marketplace id the key is bound to; None for other roles.
    subject: str | None
    request_id: str

    def owns(self, seller_id: str) -> bool:
        return self.role is Role.SELLER and self.subject == seller_id

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.principal}"


def _message(principal: str, role: str, subject: str, timestamp: str, request_id: str, method: str, path: str) -> bytes:
    return "\n".join(("v1", principal, role, subject, timestamp, request_id, method.upper(), path)).encode()


def sign_identity(
    secret: bytes,
    *,
    principal: str,
    role: str,
    subject: str | None,
    request_id: str,
    method: str,
    path: str,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The identity headers for one forwarded request."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = hmac.new(
        secret, _message(principal, role, subject or "", ts, request_id, method, path), hashlib.sha256
    ).hexdigest()
    return {
        H_PRINCIPAL: principal,
        H_ROLE: role,
        H_SUBJECT: subject or "",
        H_TIMESTAMP: ts,
        H_REQUEST_ID: request_id,
        H_SIGNATURE: sig,
    }


def verify_identity(
    secret: bytes, headers: dict[str, str], method: str, path: str, max_age_s: int, now: float | None = None
) -> Identity:
    """Check the signature and freshness of the identity headers; raise `Unauthorized` otherwise."""
    try:
        principal, role, subject = headers[H_PRINCIPAL], headers[H_ROLE], headers.get(H_SUBJECT, "")
        ts, request_id, signature = headers[H_TIMESTAMP], headers[H_REQUEST_ID], headers[H_SIGNATURE]
    except KeyError:
        raise Unauthorized("Missing gateway identity; call this API through the gateway.") from None
    expected = hmac.new(
        secret, _message(principal, role, subject, ts, request_id, method, path), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Unauthorized("Invalid gateway identity signature.")
    try:
        age = abs((time.time() if now is None else now) - int(ts))
        parsed_role = Role(role)
    except ValueError:
        raise Unauthorized("Malformed gateway identity.") from None
    if age > max_age_s:
        raise Unauthorized("Expired gateway identity.")
    return Identity(principal=principal, role=parsed_role, subject=subject or None, request_id=request_id)


class SignedIdentityMiddleware:
    """Refuses every unsigned request (health and OpenAPI aside) before any route runs.

    It sits in front of routing on purpose: no route can forget to check, and unknown paths are
    refused as unauthenticated rather than revealing which exist.
    """

    def __init__(self, app: ASGIApp, secret: bytes, max_age_s: int) -> None:
        self.app = app
        self.secret = secret
        self.max_age_s = max_age_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        token = request_id_var.set(headers.get(H_REQUEST_ID))
        try:
            if scope["path"] not in UNSIGNED_PATHS:
                try:
                    identity = verify_identity(self.secret, headers, scope["method"], scope["path"], self.max_age_s)
                except Unauthorized as exc:
                    await problem_response(exc, scope["path"])(scope, receive, send)
                    return
                scope.setdefault("state", {})["identity"] = identity
            await self.app(scope, receive, send)
        finally:
            request_id_var.reset(token)


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
