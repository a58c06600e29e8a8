"""Periodic work inside a service process: one pass now, then one every interval, until cancelled.

Guarantee: a failing pass is logged and retried at the next interval; it never stops the service.
Each pass owns its transaction (the task is its owner, as the consumer runner is for events).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

__all__ = ["run_periodically"]

log = logging.getLogger("ewtp.periodic")


async def run_periodically(name: str, interval_s: float, run_pass: Callable[[], Awaitable[int]]) -> None:
    """Run `run_pass` (returning how many things it did) at start-up and every `interval_s` seconds."""
    while True:
        try:
            done = await run_pass()
            if done:
                log.info("%s: %d", name, done)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("%s failed: %r", name, exc)
        await asyncio.sleep(interval_s)
