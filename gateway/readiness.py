"""The platform's readiness as the gateway sees it: each upstream's own `/health/ready`, cached.

Guarantees:
- A readiness probe never fans out by itself: the upstreams are asked at most once per `ttl_s`
  (default 1 s) however many probes arrive, all at once and concurrently (one round of requests, each
  bounded by `timeout_s`), and concurrent probes share that one round.
- The gateway is not ready while a required upstream (by default every deployed one) is not ready
  or not reachable; an optional one is reported but does not fail the probe.
- `/health/live` asks nobody: it says the process answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

import aiohttp

from gateway.routing import Service

__all__ = ["UpstreamReadiness"]


class UpstreamReadiness:
    """Each deployed upstream's readiness (`"ok"` or why not), at most `ttl_s` old."""

    def __init__(
        self,
        upstreams: Mapping[Service, str],
        session: Callable[[], aiohttp.ClientSession | None],
        *,
        ttl_s: float = 1.0,
        timeout_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.upstreams = {service.value: url for service, url in upstreams.items() if url}
        self.session = session
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self.clock = clock
        self._snapshot: dict[str, str] = {}
        self._taken_at = -float("inf")
        self._refresh: asyncio.Task[dict[str, str]] | None = None
        #: How many rounds of upstream requests were made (tests check there is no fan-out per probe).
        self.rounds = 0

    async def snapshot(self) -> dict[str, str]:
        """The latest states, refreshed first if older than `ttl_s` (one refresh shared by all callers)."""
        if self.clock() - self._taken_at < self.ttl_s:
            return self._snapshot
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._round())
        return await asyncio.shield(self._refresh)

    async def _round(self) -> dict[str, str]:
        self.rounds += 1
        names = list(self.upstreams)
        states = await asyncio.gather(*(self._ask(self.upstreams[name]) for name in names))
        self._snapshot = dict(zip(names, states, strict=True))
        self._taken_at = self.clock()
        return self._snapshot

    async def _ask(self, base: str) -> str:
        session = self.session()
        if session is None:
            return "failing: the gateway is not started"
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout_s)
            async with session.get(f"{base}/health/ready", timeout=timeout) as response:
                await response.read()
                return "ok" if response.status == 200 else f"failing: not ready ({response.status})"
        except TimeoutError:
            return "failing: no answer in time"
        except aiohttp.ClientError as exc:
            return f"failing: unreachable ({type(exc).__name__})"
