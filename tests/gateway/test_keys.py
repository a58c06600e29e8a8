"""Key generation, hashing, the key store and its cache, on a real migrated gateway database."""

from __future__ import annotations

import hashlib

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from gateway.keys import KeyStore, Principal, _Record, create_key_sync, generate_key, hash_secret, parse_key
from gateway.models import ApiKey
from gateway.schemas import ApiKeyCreate
from shared.auth import Role
from shared.errors import NotFound, Unauthorized


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def spec(role: str = "ops", subject_id: str | None = None, name: str = "test") -> ApiKeyCreate:
    return ApiKeyCreate.model_validate({"name": name, "role": role, "subject_id": subject_id})


def test_a_generated_key_has_the_documented_shape_and_parses_back() -> None:
    new = generate_key()
    assert new.key.startswith("ewtp_")
    assert len(new.key_id) == 8 and len(new.secret) == 43
    assert len(new.key) == len("ewtp_") + 8 + 1 + 43
    assert parse_key(new.key) == (new.key_id, new.secret)


def test_generated_keys_do_not_repeat() -> None:
    keys = {generate_key().key for _ in range(1000)}
    assert len(keys) == 1000


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "ewtp_abc",
        "ewtp_ABCDEFGH_" + "a" * 43,  # the id is lower-case
        "ewtp_abcdefgh_" + "a" * 42,
        "ewtp_abcdefgh_" + "a" * 44,
        "other_abcdefgh_" + "a" * 43,
        "ewtp_abcdefgh_" + "a" * 42 + "!",
        " ewtp_abcdefgh_" + "a" * 43,
    ],
)
def test_malformed_keys_do_not_parse(presented: str) -> None:
    assert parse_key(presented) is None


def test_the_secret_is_stored_as_its_sha256() -> None:
    assert hash_secret("s3cret") == hashlib.sha256(b"s3cret").hexdigest()


@pytest.mark.parametrize(
    ("role", "subject_id", "field"),
    [
        ("seller", None, "subject_id"),
        ("marketplace", None, "subject_id"),
        ("traveller_app", None, "subject_id"),
        ("traveller_app", "a" * 65, "subject_id"),
        ("ops", "seller-1", "subject_id"),
        ("lender", "x", "subject_id"),
        ("pilot", None, "role"),
        ("seller", "bad subject\n", "subject_id"),
    ],
)
def test_the_subject_must_match_the_role(role: str, subject_id: str | None, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        spec(role, subject_id)
    assert [e["loc"] for e in caught.value.errors()] == [(field,)]


def test_a_blank_name_is_refused() -> None:
    with pytest.raises(ValidationError):
        spec(name="   ")


async def test_an_issued_key_authenticates_and_only_its_hash_is_stored(key_store: KeyStore) -> None:
    issued = await key_store.create(spec("seller", "seller-42"))
    principal = await key_store.authenticate(issued.key)
    assert (principal.key_id, principal.role, principal.subject) == (issued.id, Role.SELLER, "seller-42")
    async with key_store.db.read() as session:
        row = (await session.scalars(select(ApiKey).where(ApiKey.id == issued.id))).one()
        stored = (row.id, row.name, row.role, row.subject_id, row.secret_sha256)
    _, secret = parse_key(issued.key) or ("", "")
    assert stored == (issued.id, "test", "seller", "seller-42", hash_secret(secret))


async def test_wrong_unknown_and_missing_keys_are_refused_with_a_bearer_challenge(key_store: KeyStore) -> None:
    issued = await key_store.create(spec())
    _, secret = parse_key(issued.key) or ("", "")
    wrong_secret = issued.key[: -len(secret)] + ("A" if secret[0] != "A" else "B") + secret[1:]
    unknown = generate_key().key
    for presented in (wrong_secret, unknown, "not-a-key", None, ""):
        with pytest.raises(Unauthorized) as caught:
            await key_store.authenticate(presented)
        assert caught.value.headers is not None
        assert caught.value.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_revoked_key_is_refused_at_once_even_when_cached(key_store: KeyStore) -> None:
    key_store.cache.ttl_s = 60
    issued = await key_store.create(spec())
    await key_store.authenticate(issued.key)  # now cached
    revoked = await key_store.revoke(issued.id)
    assert revoked.revoked_at is not None
    with pytest.raises(Unauthorized, match="revoked"):
        await key_store.authenticate(issued.key)
    again = await key_store.revoke(issued.id)  # idempotent: the first revocation time stays
    assert again.revoked_at == revoked.revoked_at


async def test_revoking_an_unknown_key_is_not_found(key_store: KeyStore) -> None:
    with pytest.raises(NotFound):
        await key_store.revoke("zzzzzzzz")


async def test_a_verified_key_is_served_from_memory_until_its_ttl_ends(key_store: KeyStore) -> None:
    clock = FakeClock()
    cached = KeyStore(key_store.db, cache_ttl_s=5, clock=clock)
    issued = await cached.create(spec())
    await cached.authenticate(issued.key)
    # Revoked behind this store's back (another replica, or the CLI): trusted until the TTL ends.
    await key_store.revoke(issued.id)
    clock.now += 4.9
    assert (await cached.authenticate(issued.key)).key_id == issued.id
    clock.now += 0.2
    with pytest.raises(Unauthorized, match="revoked"):
        await cached.authenticate(issued.key)


async def test_a_read_that_raced_a_revocation_is_not_cached(key_store: KeyStore) -> None:
    key_store.cache.ttl_s = 60
    issued = await key_store.create(spec())
    epoch_before_read = key_store.cache.epoch
    await key_store.revoke(issued.id)
    _, secret = parse_key(issued.key) or ("", "")
    stale = _Record(principal=Principal(issued.id, Role.OPS, None), secret_sha256=hash_secret(secret), revoked=False)
    key_store.cache.put(stale, read_at_epoch=epoch_before_read)
    assert key_store.cache.get(issued.id) is None


async def test_listing_pages_through_every_key_without_secrets(key_store: KeyStore) -> None:
    created = [await key_store.create(spec(name=f"key {i}")) for i in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await key_store.list_page(limit=2, cursor=cursor)
        assert len(page.items) <= 2
        for item in page.items:
            assert "key" not in item.model_dump() and "secret_sha256" not in item.model_dump()
        seen += [item.id for item in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [k.id for k in created]


async def test_create_key_sync_works_from_inside_a_running_event_loop(key_store: KeyStore) -> None:
    key = create_key_sync(key_store.db.url, name="bootstrap ops", role="ops")
    assert (await key_store.authenticate(key)).role is Role.OPS


async def test_concurrent_misses_of_one_key_share_one_database_read(key_store: KeyStore) -> None:
    """No stampede when a cached entry expires under load: one read serves every request in flight."""
    import asyncio

    issued = await key_store.create(spec("marketplace", "mkt-1"))
    cached = KeyStore(key_store.db, cache_ttl_s=60)
    loads = 0
    original = cached._load

    async def counting(key_id: str, epoch: int) -> _Record | None:
        nonlocal loads
        loads += 1
        return await original(key_id, epoch)

    cached._load = counting  # type: ignore[method-assign]
    principals = await asyncio.gather(*(cached.authenticate(issued.key) for _ in range(50)))
    assert {p.key_id for p in principals} == {issued.id}
    assert loads == 1
    await cached.authenticate(issued.key)
    assert loads == 1  # then served from memory
    unknown = "ewtp_zzzzzzzz_" + "a" * 43
    results = await asyncio.gather(*(cached.authenticate(unknown) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, Unauthorized) for r in results)
