"""Request ids, key extraction and header filtering: what may cross the gateway and what may not."""

from __future__ import annotations

import uuid

import pytest

from gateway.middleware import accept_request_id, presented_key
from gateway.proxy import downstream_headers, upstream_headers
from shared.auth import IDENTITY_HEADERS, sign_identity, verify_identity

SECRET = b"unit-test-secret"


@pytest.mark.parametrize("incoming", ["req-12345678", "a" * 128, "01HZX.Y:z_w-1", "12345678"])
def test_a_well_formed_request_id_is_kept(incoming: str) -> None:
    assert accept_request_id(incoming) == incoming


@pytest.mark.parametrize("incoming", [None, "", "short", "a" * 129, "has space 123", "new\nline123", "é-12345678"])
def test_any_other_request_id_is_replaced_by_a_uuid4(incoming: str | None) -> None:
    made = accept_request_id(incoming)
    assert made != incoming
    assert uuid.UUID(made).version == 4


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ([(b"authorization", b"Bearer k1")], "k1"),
        ([(b"authorization", b"bearer   k1  ")], "k1"),
        ([(b"x-api-key", b"k2")], "k2"),
        ([(b"authorization", b"Bearer k1"), (b"x-api-key", b"k2")], "k1"),
        ([(b"authorization", b"Basic dXNlcjpwdw=="), (b"x-api-key", b"k2")], "k2"),
        ([(b"authorization", b"Basic dXNlcjpwdw==")], None),
        ([(b"authorization", b"Bearer ")], None),
        ([(b"x-api-key", b"  ")], None),
        ([], None),
    ],
)
def test_the_key_comes_from_bearer_or_x_api_key(headers: list[tuple[bytes, bytes]], key: str | None) -> None:
    assert presented_key(headers) == key


def test_client_identity_credentials_and_hop_by_hop_headers_are_stripped() -> None:
    identity = sign_identity(
        SECRET, principal="abcd1234", role="seller", subject="s-1", request_id="req-12345678", method="GET", path="/x"
    )
    client = [
        (b"host", b"gateway:8000"),
        (b"authorization", b"Bearer ewtp_secret"),
        (b"x-api-key", b"ewtp_secret"),
        (b"x-request-id", b"client-chosen-1"),
        (b"connection", b"keep-alive, X-Private-Hop"),
        (b"x-private-hop", b"1"),
        (b"keep-alive", b"timeout=5"),
        (b"transfer-encoding", b"chunked"),
        (b"te", b"trailers"),
        (b"upgrade", b"websocket"),
        (b"expect", b"100-continue"),
        (b"accept", b"application/json"),
        (b"if-none-match", b'"v1"'),
        (b"idempotency-key", b"k-1"),
        (b"accept", b"text/plain"),
    ]
    client += [(name.encode(), b"forged") for name in IDENTITY_HEADERS]
    client += [(name.upper().encode(), b"FORGED") for name in IDENTITY_HEADERS]
    headers = upstream_headers(client, identity)

    names = sorted(name.lower() for name, _ in headers.items())
    assert names == sorted(["accept", "accept", "if-none-match", "idempotency-key", *identity])
    assert headers.getall("accept") == ["application/json", "text/plain"]
    for name, value in identity.items():
        assert headers.getall(name) == [value]
    assert verify_identity(SECRET, dict(headers), "GET", "/x", max_age_s=60).role.value == "seller"


def test_hop_by_hop_and_gateway_owned_response_headers_are_dropped() -> None:
    upstream = [
        (b"Content-Type", b"application/problem+json"),
        (b"ETag", b'"v7"'),
        (b"Connection", b"close, X-Upstream-Hop"),
        (b"X-Upstream-Hop", b"1"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Server", b"uvicorn"),
        (b"Date", b"Mon, 23 Nov 2026 09:00:00 GMT"),
        (b"X-Request-ID", b"upstream-id"),
        (b"Set-Cookie", b"a=1"),
        (b"Set-Cookie", b"b=2"),
    ]
    assert downstream_headers(upstream) == [
        (b"content-type", b"application/problem+json"),
        (b"etag", b'"v7"'),
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
    ]
