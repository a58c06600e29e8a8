"""Requests signed as the gateway signs them, for tests that talk to a service directly.

One place builds the identity headers, so a change to the signing scheme (shared/auth.py) is one
edit in the tests too. Every signature carries a fresh nonce, so a test never reuses one by accident
(the service would refuse it as a replay).
"""

from __future__ import annotations

import uuid
from collections.abc import Generator
from urllib.parse import unquote

import httpx

from shared.auth import sign_identity
from shared.settings import DEV_SIGNING_SECRET

__all__ = ["GatewaySigner", "signed_headers"]


def signed_headers(
    method: str,
    path: str,
    *,
    role: str = "ops",
    subject: str | None = None,
    query: str = "",
    body: bytes = b"",
) -> dict[str, str]:
    """The identity headers for one request: `path` decoded, `query` raw, `body` exactly as sent."""
    return sign_identity(
        DEV_SIGNING_SECRET.encode(),
        principal=f"test-{role}",
        role=role,
        subject=subject,
        request_id=str(uuid.uuid4()),
        method=method,
        path=path,
        query=query,
        body=body,
    )


class GatewaySigner(httpx.Auth):
    """An httpx auth that signs each request as actually sent (method, path, query, body)."""

    requires_request_body = True

    def __init__(
        self,
        secret: bytes = DEV_SIGNING_SECRET.encode(),
        *,
        principal: str = "p1",
        role: str = "ops",
        subject: str | None = None,
        request_id: str = "r" * 8,
    ) -> None:
        self.secret = secret
        self.principal, self.role, self.subject, self.request_id = principal, role, subject, request_id

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(
            sign_identity(
                self.secret,
                principal=self.principal,
                role=self.role,
                subject=self.subject,
                request_id=self.request_id,
                method=request.method,
                path=unquote(request.url.raw_path.split(b"?", 1)[0].decode("ascii")),
                query=request.url.query.decode("ascii"),
                body=request.content,
            )
        )
        yield request
