"""The API-key store, the one implementation behind the admin API, the CLI and request authentication.

Guarantees:
- The database never holds a key, only its public id and a SHA-256 of its secret. The secret is 256
  random bits (`secrets.token_urlsafe(32)`), so a fast hash is enough: there is nothing to brute-force.
  Comparison is constant-time (`hmac.compare_digest`).
- A key is shown once, in the result of `KeyStore.create`.
- Authentication is served from memory for `cache_ttl_s` after a database read (the forwarding path
  is hot). `KeyStore.revoke` evicts the key after its commit, and a database read that raced with a
  revocation is not cached, so in this process a revoked key is refused from the next request on.
  Other gateway replicas refuse it within `cache_ttl_s`.
- An expired key (`expires_at` passed, by this host's wall clock) is refused from that second on,
  cached or not.
- Last use is recorded in memory per request (`LastUsed.touch`) and written in batches by the
  gateway's flush task, never one database write per request.
- Each `KeyStore` method that writes is one transaction (`Database.transaction`): it commits whole
  or not at all.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import string
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError

from gateway.models import ApiKey
from gateway.schemas import ApiKeyCreate, ApiKeyIssued, ApiKeyOut, ApiKeyUpdate
from shared.auth import Role
from shared.db import Database, utcnow
from shared.errors import BadRequest, NotFound, Unauthorized
from shared.migrations import upgrade_to_head
from shared.pagination import Page, decode_cursor, encode_cursor

__all__ = [
    "MIGRATIONS",
    "KeyCache",
    "KeyStore",
    "LastUsed",
    "NewKey",
    "Principal",
    "create_key_sync",
    "generate_key",
    "hash_secret",
    "migrate",
    "parse_key",
    "run_blocking",
]

MIGRATIONS = Path(__file__).parent / "migrations"

KEY_PREFIX = "ewtp"
ID_LENGTH = 8
#: Lower-case letters and digits only, so the id never contains the `_` separator.
_ID_ALPHABET = string.ascii_lowercase + string.digits
_KEY_RE = re.compile(rf"^{KEY_PREFIX}_([a-z0-9]{{{ID_LENGTH}}})_([A-Za-z0-9_-]{{43}})$")

#: RFC 6750: a missing key gets a bare challenge; a bad one says the token is invalid.
CHALLENGE_MISSING = {"WWW-Authenticate": "Bearer"}
CHALLENGE_INVALID = {"WWW-Authenticate": 'Bearer error="invalid_token"'}

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's public id, its role, and the seller, marketplace or app it is bound to.

    `rate_limit` is the key's own limit (`limits` syntax, `0` for none) replacing its role's; None: the role's.
    """

    key_id: str
    role: Role
    subject: str | None
    rate_limit: str | None = None


@dataclass(frozen=True, slots=True)
class NewKey:
    key_id: str
    secret: str

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}_{self.key_id}_{self.secret}"


def generate_key() -> NewKey:
    key_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(ID_LENGTH))
    return NewKey(key_id=key_id, secret=secrets.token_urlsafe(32))


def parse_key(presented: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, None otherwise."""
    match = _KEY_RE.match(presented)
    return (match.group(1), match.group(2)) if match else None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Record:
    """What authentication needs of a key row; what the cache holds."""

    principal: Principal
    secret_sha256: str
    revoked: bool
    #: POSIX seconds after which the key is refused; None: never.
    expires_at: float | None = None


class KeyCache:
    """Key records read from the database, trusted for `ttl_s` seconds of `clock`.

    `epoch` grows at every eviction; a record read before an eviction is not stored after it, so a
    revocation can never be undone by a slow concurrent read.
    """

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self.epoch = 0
        self._entries: dict[str, tuple[float, _Record]] = {}

    def get(self, key_id: str) -> _Record | None:
        entry = self._entries.get(key_id)
        if entry is None:
            return None
        expires_at, record = entry
        if self.clock() >= expires_at:
            del self._entries[key_id]
            return None
        return record

    def put(self, record: _Record, *, read_at_epoch: int) -> None:
        if self.ttl_s > 0 and read_at_epoch == self.epoch:
            self._entries[record.principal.key_id] = (self.clock() + self.ttl_s, record)

    def evict(self, key_id: str) -> None:
        self.epoch += 1
        self._entries.pop(key_id, None)

    def clear(self) -> None:
        self.epoch += 1
        self._entries.clear()


_CURSOR_ID_RE = re.compile(rf"^[a-z0-9]{{{ID_LENGTH}}}$")


def _cursor_position(cursor: str) -> tuple[datetime, str]:
    """(created_at, id) of a cursor we issued; 400 for anything else.

    Every decoded part is checked, not only parsed: a naive or non-UTC timestamp (year 1 at +14:00
    overflows when converted), a non-string, or an id outside the key-id alphabet would otherwise
    reach the database and fail there as a 500.
    """
    position = decode_cursor(cursor, ("t", "id"))
    created_text, last_id = position["t"], position["id"]
    if set(position) == {"t", "id"} and isinstance(created_text, str) and isinstance(last_id, str):
        try:
            created = datetime.fromisoformat(created_text)
        except ValueError:
            created = None
        if created is not None and created.utcoffset() == timedelta(0) and _CURSOR_ID_RE.fullmatch(last_id):
            return created, last_id
    raise BadRequest("Malformed cursor; pass back the next_cursor you were given.")


def _out(row: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        subject_id=row.subject_id,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        expires_at=row.expires_at,
        rate_limit=row.rate_limit,
        last_used_at=row.last_used_at,
    )


def _record(row: ApiKey) -> _Record:
    return _Record(
        principal=Principal(key_id=row.id, role=Role(row.role), subject=row.subject_id, rate_limit=row.rate_limit),
        secret_sha256=row.secret_sha256,
        revoked=row.revoked_at is not None,
        expires_at=row.expires_at.timestamp() if row.expires_at else None,
    )


class LastUsed:
    """When each key was last used, kept in memory and written to the database in batches.

    A request costs one dict store; `flush` writes every key seen since the last flush in one
    transaction (one UPDATE per key, executed as a batch), never moving `last_used_at` backwards.
    A failed flush keeps the times for the next one. So `last_used_at` lags by at most the flush
    interval (plus what a crash loses: the unflushed interval).
    """

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self.wall = wall
        self._seen: dict[str, float] = {}

    def touch(self, key_id: str) -> None:
        self._seen[key_id] = self.wall()

    def __len__(self) -> int:
        return len(self._seen)

    async def flush(self, db: Database) -> int:
        """Write what was seen since the last flush; the number of keys written."""
        if not self._seen:
            return 0
        seen, self._seen = self._seen, {}
        rows = [{"key_id": key_id, "used_at": datetime.fromtimestamp(at, UTC)} for key_id, at in seen.items()]
        stmt = (
            update(ApiKey)
            .where(ApiKey.id == bindparam("key_id"))
            .where(or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < bindparam("used_at")))
            .values(last_used_at=bindparam("used_at"))
        )
        try:
            async with db.transaction() as session:
                await (await session.connection()).execute(stmt, rows)
        except BaseException:
            for key_id, at in seen.items():  # keep them (unless newer ones came in meanwhile)
                self._seen.setdefault(key_id, at)
            raise
        return len(rows)


class KeyStore:
    """Issue, list, revoke and authenticate API keys in the gateway's database."""

    def __init__(self, db: Database, *, cache_ttl_s: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.cache = KeyCache(cache_ttl_s, clock)
        self.last_used = LastUsed()
        self._inflight: dict[str, tuple[int, asyncio.Future[_Record | None]]] = {}

    async def create(self, spec: ApiKeyCreate) -> ApiKeyIssued:
        """A new key; the returned `key` is the only copy of the secret that will ever exist."""
        for _ in range(3):
            new = generate_key()
            row = ApiKey(
                id=new.key_id,
                name=spec.name,
                role=spec.role.value,
                subject_id=spec.subject_id,
                secret_sha256=hash_secret(new.secret),
                created_at=utcnow(),
                revoked_at=None,
                expires_at=spec.expires_at,
                rate_limit=spec.rate_limit,
                last_used_at=None,
            )
            try:
                async with self.db.transaction() as session:
                    session.add(row)
                    await session.flush()
            except IntegrityError:  # a public id collision (36**8 ids): draw again
                continue
            return ApiKeyIssued(**_out(row).model_dump(), key=new.key)
        raise RuntimeError("could not draw an unused API key id")

    async def list_page(self, *, limit: int, cursor: str | None = None) -> Page[ApiKeyOut]:
        """Keys oldest first, revoked ones included; never a secret or its hash."""
        stmt = select(ApiKey)
        if cursor:
            created, last_id = _cursor_position(cursor)
            stmt = stmt.where(or_(ApiKey.created_at > created, and_(ApiKey.created_at == created, ApiKey.id > last_id)))
        stmt = stmt.order_by(ApiKey.created_at, ApiKey.id).limit(limit + 1)
        # Copied inside the session: `Database.read` rolls back at the end, expiring the rows.
        async with self.db.read() as session:
            items = [_out(row) for row in (await session.scalars(stmt)).all()]
        next_cursor = None
        if len(items) > limit:
            items = items[:limit]
            next_cursor = encode_cursor({"t": items[-1].created_at.isoformat(), "id": items[-1].id})
        return Page[ApiKeyOut](items=items, next_cursor=next_cursor)

    async def revoke(self, key_id: str) -> ApiKeyOut:
        """Revoke a key (again: no change); refused from the next request on in this process."""
        async with self.db.transaction() as session:
            row = await session.get(ApiKey, key_id)
            if row is None:
                raise NotFound(f"API key {key_id} does not exist.")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                await session.flush()
            out = _out(row)
        self.cache.evict(key_id)
        return out

    async def update(self, key_id: str, change: ApiKeyUpdate) -> ApiKeyOut:
        """Set the fields `change` names (expiry, own rate limit); in force at once in this process."""
        async with self.db.transaction() as session:
            row = await session.get(ApiKey, key_id)
            if row is None:
                raise NotFound(f"API key {key_id} does not exist.")
            if "expires_at" in change.model_fields_set:
                row.expires_at = change.expires_at
            if "rate_limit" in change.model_fields_set:
                row.rate_limit = change.rate_limit
            await session.flush()
            out = _out(row)
        self.cache.evict(key_id)
        return out

    async def authenticate(self, presented: str | None) -> Principal:
        """The principal of a valid, unrevoked key; `Unauthorized` (with its challenge) otherwise."""
        if not presented:
            raise Unauthorized("An API key is required: send 'Authorization: Bearer <key>'.", headers=CHALLENGE_MISSING)
        parsed = parse_key(presented)
        if parsed is None:
            raise Unauthorized("Invalid API key.", headers=CHALLENGE_INVALID)
        key_id, secret = parsed
        record = self.cache.get(key_id) or await self._read(key_id)
        # The secret is checked before anything else is revealed about the key.
        if not hmac.compare_digest(record.secret_sha256, hash_secret(secret)):
            raise Unauthorized("Invalid API key.", headers=CHALLENGE_INVALID)
        if record.revoked:
            raise Unauthorized("This API key has been revoked.", headers=CHALLENGE_INVALID)
        if record.expires_at is not None and time.time() >= record.expires_at:
            raise Unauthorized("This API key has expired.", headers=CHALLENGE_INVALID)
        self.last_used.touch(key_id)
        return record.principal

    async def _read(self, key_id: str) -> _Record:
        """The key's record from the database; concurrent misses of one key share one read.

        Without that, every request in flight when a cached entry expires would read the database at
        once (a stampede at each TTL). A read started before an eviction is not joined after it.
        """
        epoch = self.cache.epoch
        pending = self._inflight.get(key_id)
        if pending is None or pending[0] != epoch:
            task = asyncio.ensure_future(self._load(key_id, epoch))
            self._inflight[key_id] = pending = (epoch, task)
            task.add_done_callback(lambda done: self._forget(key_id, done))
        record = await asyncio.shield(pending[1])
        if record is None:
            raise Unauthorized("Invalid API key.", headers=CHALLENGE_INVALID)
        return record

    def _forget(self, key_id: str, done: asyncio.Future[_Record | None]) -> None:
        current = self._inflight.get(key_id)
        if current is not None and current[1] is done:
            del self._inflight[key_id]

    async def _load(self, key_id: str, epoch: int) -> _Record | None:
        async with self.db.read() as session:
            row = await session.get(ApiKey, key_id)
            # Copied inside the session: `Database.read` rolls back at the end, expiring the row.
            record = None if row is None else _record(row)
        if record is not None:
            self.cache.put(record, read_at_epoch=epoch)
        return record


async def migrate(database_url: str) -> None:
    """Bring the gateway database to the latest schema (idempotent)."""
    await upgrade_to_head(MIGRATIONS, database_url, platform=False)


def create_key_sync(
    database_url: str,
    *,
    name: str,
    role: Role | str,
    subject_id: str | None = None,
    run_migrations: bool = True,
    expires_at: datetime | None = None,
    rate_limit: str | None = None,
) -> str:
    """Issue a key straight in the database and return it; for bootstrap scripts and the first ops key.

    Blocking; safe to call from synchronous code, also while an event loop runs in this thread.
    Invalid input raises `pydantic.ValidationError`.
    """
    spec = ApiKeyCreate.model_validate(
        {"name": name, "role": role, "subject_id": subject_id, "expires_at": expires_at, "rate_limit": rate_limit}
    )

    async def run() -> str:
        if run_migrations:
            await migrate(database_url)
        db = Database(database_url)
        try:
            return (await KeyStore(db).create(spec)).key
        finally:
            await db.dispose()

    return run_blocking(run())


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion on a fresh event loop (in a worker thread if one already runs here)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
