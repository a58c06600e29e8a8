"""Per-API-key rate limits, counted by the `limits` library in memory or in Redis.

Guarantees:
- Every authenticated request (admin API and forwarded alike) counts against the limit of its API
  key (`Principal.key_id`): the key's own limit when ops set one (`Principal.rate_limit`), else its
  role's (`GatewaySettings.rate_limit_<role>`). The layer
  sits right after authentication: anonymous callers still get their 401 and count against nothing,
  and a limited caller never makes the gateway buffer a body or open an upstream connection.
- Over the limit: 429 `application/problem+json` (type `.../rate-limited`) with `Retry-After` and
  `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (IETF httpapi ratelimit-headers draft;
  Reset and Retry-After in whole seconds). Every response of a limited key carries the RateLimit-*
  fields, replacing any an upstream set.
- One storage round trip per request.

Strategy: `limits`' fixed window (`FixedWindowRateLimiter`), with windows aligned to the clock. Its
storage primitive, `incr(key, expiry)`, is a single atomic operation (a Lua script in Redis) that
returns the new count; the limiter's own `hit()` throws that count away, so this layer calls the
storage primitive exactly as `FixedWindowRateLimiter.hit` does (`count <= limit`) and keeps the count
for `RateLimit-Remaining`. Putting the window number into the key makes the window's end, hence
`RateLimit-Reset`, known without asking the storage for a TTL. The alternatives cost more per
request: `MovingWindowRateLimiter` and `SlidingWindowCounterRateLimiter` answer `hit()` with a bare
bool, so the headers need a second round trip (`get_window_stats`), and the moving window keeps one
timestamp per request in the window (thousands per marketplace key). The price of the fixed window
is that a key can spend its limit at the end of one window and again at the start of the next (up
to twice the limit across a boundary), which is acceptable for protecting the platform from a
runaway client. (`limits` 4+ no longer has an elastic-expiry window; it would also keep a client
that retries while limited locked out for ever.)

Fail open: when the storage (Redis) cannot be reached or answers with an error, the request passes
unlimited and without RateLimit-* headers, and a warning is logged. For the next
`rate_limit_retry_after_failure_s` seconds requests pass without trying the storage, so a Redis
outage costs neither a timeout per request nor a flood of log lines. Availability beats limiting:
the limit protects the platform, an outage of its counter must not take the platform down.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.storage import Storage
from limits.errors import StorageError
from limits.storage import storage_from_string
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.keys import Principal
from gateway.settings import GatewaySettings
from shared.auth import Role
from shared.errors import Problem, problem_response

__all__ = ["RATE_LIMIT_HEADERS", "Decision", "RateLimitMiddleware", "RateLimiter", "TooManyRequests"]

log = logging.getLogger("ewtp.gateway.ratelimit")

RATE_LIMIT_HEADERS = frozenset({b"ratelimit-limit", b"ratelimit-remaining", b"ratelimit-reset"})


class TooManyRequests(Problem):
    status, title, slug = 429, "Too Many Requests", "rate-limited"


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of counting one request against its key's limit."""

    allowed: bool
    #: The limit as `limits` spells it, e.g. "600 per 1 minute".
    policy: str
    limit: int
    remaining: int
    #: Whole seconds until the current window ends (at least 1).
    reset_s: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The RateLimit-* fields as ASGI header pairs."""
        return [
            (b"ratelimit-limit", b"%d" % self.limit),
            (b"ratelimit-remaining", b"%d" % self.remaining),
            (b"ratelimit-reset", b"%d" % self.reset_s),
        ]


class RateLimiter:
    """Counts requests per API key in the configured `limits` storage (opened on first use)."""

    def __init__(
        self,
        settings: GatewaySettings,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits: dict[Role, RateLimitItem] = {
            role: item for role in Role if (item := settings.rate_limit_for(role)) is not None
        }
        self.storage_url = settings.rate_limit_storage
        self.key_prefix = settings.rate_limit_key_prefix
        self.timeout_s = settings.rate_limit_storage_timeout_s
        self.retry_after_failure_s = settings.rate_limit_retry_after_failure_s
        #: Wall clock: aligned windows must agree between replicas.
        self.clock = clock
        self.monotonic = monotonic
        self._storage: Storage | None = None
        self._skip_until = -math.inf
        #: Parsed per-key overrides (`Principal.rate_limit`), by their text; None: no limit ("0").
        self._overrides: dict[str, RateLimitItem | None] = {}

    def limit_for(self, principal: Principal) -> RateLimitItem | None:
        """The key's own limit when it has one (`0`: none), else its role's."""
        override = principal.rate_limit
        if override is None:
            return self.limits.get(principal.role)
        try:
            return self._overrides[override]
        except KeyError:
            item = None if override == "0" else parse_many(override)[0]
            self._overrides[override] = item
            return item

    def _open(self) -> Storage:
        if self.storage_url.startswith("memory:"):
            storage = storage_from_string("async+memory://")
        else:
            # redis-py's asyncio client; no retries: one round trip, and fail open rather than wait.
            options: dict[str, Any] = {
                "implementation": "redispy",
                "key_prefix": self.key_prefix,
                "wrap_exceptions": True,
                "socket_connect_timeout": self.timeout_s,
                "socket_timeout": self.timeout_s,
                "retry": None,
            }
            storage = storage_from_string(f"async+{self.storage_url}", **options)
        assert isinstance(storage, Storage)
        return storage

    async def check(self, principal: Principal) -> Decision | None:
        """Count one request of `principal`; None when its key is unlimited or the storage failed."""
        item = self.limit_for(principal)
        if item is None or self.monotonic() < self._skip_until:
            return None
        if self._storage is None:
            self._storage = self._open()
        period = item.get_expiry()
        now = self.clock()
        window = int(now // period)
        key = item.key_for(principal.key_id, str(window))
        try:
            count = await self._storage.incr(key, period)
        except (StorageError, OSError, TimeoutError) as exc:
            self._skip_until = self.monotonic() + self.retry_after_failure_s
            log.warning(
                "rate-limit storage unreachable (%s: %s); requests pass unlimited for %.0f s",
                type(exc).__name__,
                exc,
                self.retry_after_failure_s,
            )
            return None
        reset_s = max(1, math.ceil((window + 1) * period - now))
        return Decision(count <= item.amount, str(item), item.amount, max(0, item.amount - count), reset_s)

    async def close(self) -> None:
        """Close the Redis client if one was opened (the memory storage holds no connection)."""
        storage, self._storage = self._storage, None
        client = getattr(getattr(storage, "bridge", None), "storage", None)
        if client is not None and hasattr(client, "aclose"):
            try:
                await client.aclose()
            except Exception:  # closing a broken connection must not fail the shutdown
                log.debug("closing the rate-limit storage failed", exc_info=True)


class RateLimitMiddleware:
    """After `ApiKeyMiddleware`: refuses over-limit requests with 429, stamps RateLimit-* on the rest."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = scope.get("state", {}).get("principal") if scope["type"] == "http" else None
        decision = None if principal is None else await self.limiter.check(principal)
        if decision is None:
            await self.app(scope, receive, send)
            return
        if not decision.allowed:
            headers = decision.headers()
            detail = f"Rate limit of this API key ({decision.policy}) exceeded; retry in {decision.reset_s} s."
            problem = TooManyRequests(detail, headers={**headers, "Retry-After": str(decision.reset_s)})
            await problem_response(problem, scope["path"])(scope, receive, send)
            return
        stamp = decision.raw_headers()

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in RATE_LIMIT_HEADERS]
                kept += stamp
                message["headers"] = kept
            await send(message)

        await self.app(scope, receive, send_with_limits)
