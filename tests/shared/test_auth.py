import time

import pytest
from pydantic import ValidationError

from shared.auth import H_SIGNATURE, ReplayCache, Role, content_digest, sign_identity, verify_identity
from shared.errors import ServiceUnavailable, Unauthorized
from shared.settings import DEV_SIGNING_SECRET, ServiceSettings

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


def test_the_query_and_the_body_digest_are_signed() -> None:
    headers = _headers(query="name=x", body=b'{"delta":1}')
    assert headers["content-digest"] == content_digest(b'{"delta":1}')
    verify_identity(SECRET, headers, "POST", "/v1/sellers/seller-1", max_age_s=60, query="name=x")
    for query in ("", "name=x&limit=200", "limit=200"):
        with pytest.raises(Unauthorized, match="signature"):
            verify_identity(SECRET, headers, "POST", "/v1/sellers/seller-1", max_age_s=60, query=query)
    bent = headers | {"content-digest": content_digest(b'{"delta":2}')}
    with pytest.raises(Unauthorized, match="signature"):
        verify_identity(SECRET, bent, "POST", "/v1/sellers/seller-1", max_age_s=60, query="name=x")


def test_each_signature_has_its_own_nonce_and_the_nonce_is_signed() -> None:
    first, second = _headers(), _headers()
    assert first["x-ewtp-nonce"] != second["x-ewtp-nonce"]
    assert first["x-request-id"] == second["x-request-id"]
    with pytest.raises(Unauthorized, match="signature"):
        verify_identity(SECRET, first | {"x-ewtp-nonce": second["x-ewtp-nonce"]}, "POST", "/v1/sellers/seller-1", 60)


def test_during_a_rotation_both_secrets_verify() -> None:
    old = sign_identity(
        b"old", principal="k", role="ops", subject=None, request_id="r" * 8, method="GET", path="/v1/sellers"
    )
    assert verify_identity((SECRET, b"old"), old, "GET", "/v1/sellers", max_age_s=60).role is Role.OPS
    with pytest.raises(Unauthorized):
        verify_identity((SECRET,), old, "GET", "/v1/sellers", max_age_s=60)


def test_the_rotation_settings_give_both_secrets_current_first() -> None:
    settings = ServiceSettings(signing_secret="new-one", signing_secret_previous="old-one")
    assert settings.verification_secrets() == (b"new-one", b"old-one")
    assert ServiceSettings(signing_secret="new-one").verification_secrets() == (b"new-one",)
    assert ServiceSettings().signature_max_age_s == 30
    with pytest.raises(ValidationError, match="signing_secret"):
        ServiceSettings(environment="production", signing_secret="real", signing_secret_previous=DEV_SIGNING_SECRET)


def test_the_replay_cache_refuses_a_nonce_within_its_lifetime_only() -> None:
    cache = ReplayCache(lifetime_s=61)
    assert cache.add("n1", now=0.0)
    assert not cache.add("n1", now=60.0)
    assert cache.add("n2", now=60.0)
    assert cache.add("n1", now=61.0)  # expired and pruned: the signature carrying it is stale by now
    assert len(cache) == 2


def test_a_full_replay_cache_refuses_rather_than_forgets() -> None:
    cache = ReplayCache(lifetime_s=10, max_entries=2)
    assert cache.add("a", now=0.0) and cache.add("b", now=0.0)
    with pytest.raises(ServiceUnavailable):
        cache.add("c", now=1.0)
    assert not cache.add("a", now=1.0)
    assert cache.add("c", now=10.0)
