import time

import pytest

from shared.auth import H_SIGNATURE, Role, sign_identity, verify_identity
from shared.errors import Unauthorized

SECRET = b"test-secret"


def _headers(**overrides: object) -> dict[str, str]:
    args: dict[str, object] = {
        "principal": "key1",
        "role": "seller",
        "subject": "seller-1",
        "request_id": "req-12345678",
        "method": "POST",
        "path": "/v1/sellers/seller-1",
    }
    args.update(overrides)
    return sign_identity(SECRET, **args)  # type: ignore[arg-type]


def test_a_gateway_signature_is_accepted() -> None:
    identity = verify_identity(SECRET, _headers(), "POST", "/v1/sellers/seller-1", max_age_s=60)
    assert (identity.principal, identity.role, identity.subject) == ("key1", Role.SELLER, "seller-1")
    assert identity.owns("seller-1") and not identity.owns("seller-2")


def test_missing_headers_are_refused() -> None:
    with pytest.raises(Unauthorized, match="Missing"):
        verify_identity(SECRET, {}, "GET", "/v1/sellers", max_age_s=60)


def test_a_forged_role_is_refused() -> None:
    headers = _headers() | {"x-ewtp-role": "ops"}
    with pytest.raises(Unauthorized, match="signature"):
        verify_identity(SECRET, headers, "POST", "/v1/sellers/seller-1", max_age_s=60)


def test_another_secret_is_refused() -> None:
    headers = sign_identity(
        b"attacker", principal="k", role="ops", subject=None, request_id="r" * 8, method="GET", path="/v1/sellers"
    )
    with pytest.raises(Unauthorized):
        verify_identity(SECRET, headers, "GET", "/v1/sellers", max_age_s=60)


def test_a_signature_cannot_be_replayed_on_another_route() -> None:
    with pytest.raises(Unauthorized):
        verify_identity(SECRET, _headers(), "POST", "/v1/sellers/seller-2/verify", max_age_s=60)
    with pytest.raises(Unauthorized):
        verify_identity(SECRET, _headers(), "PATCH", "/v1/sellers/seller-1", max_age_s=60)


def test_an_old_signature_is_refused() -> None:
    headers = _headers(timestamp=int(time.time()) - 3600)
    with pytest.raises(Unauthorized, match="Expired"):
        verify_identity(SECRET, headers, "POST", "/v1/sellers/seller-1", max_age_s=300)


def test_garbage_signature_is_refused() -> None:
    with pytest.raises(Unauthorized):
        verify_identity(SECRET, _headers() | {H_SIGNATURE: "00"}, "POST", "/v1/sellers/seller-1", max_age_s=60)
