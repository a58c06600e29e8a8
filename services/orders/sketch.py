"""A HyperLogLog sketch of distinct buyers: 512 one-byte registers per (day, category, HS code).

Why: counting distinct buyers exactly over a 90-day window means reading every (day, key, buyer) row,
about one per order line (a million rows at 1,000,000 orders, 17-30 s on SQLite on the loaded test
machine). A sketch per day and key is updated in the confirming transaction and a window is the
register-wise max of at most 90 × keys sketches, whatever the number of orders. Standard error
1.04/√512 ≈ 4.6%, with linear counting for small sets (exact in practice below a few dozen buyers).
A sketch cannot forget: a buyer whose only order was cancelled stays counted.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable

__all__ = ["REGISTERS", "add", "add_into", "empty", "estimate", "merge"]

_P = 9
REGISTERS = 1 << _P
_ALPHA = 0.7213 / (1 + 1.079 / REGISTERS)


def empty() -> bytes:
    return bytes(REGISTERS)


def add(sketch: bytes | None, item: str) -> bytes:
    """The sketch with `item` counted (a new bytes object)."""
    registers = bytearray(sketch or empty())
    add_into(registers, item)
    return bytes(registers)


def add_into(registers: bytearray, item: str) -> None:
    """Count `item` in `registers`, in place."""
    h = int.from_bytes(hashlib.blake2b(item.encode(), digest_size=8).digest(), "big")
    index = h >> (64 - _P)
    rest = h & ((1 << (64 - _P)) - 1)
    rank = (64 - _P) - rest.bit_length() + 1
    if rank > registers[index]:
        registers[index] = rank


def merge(sketches: Iterable[bytes]) -> bytes:
    """The union of the sketches (register-wise max)."""
    found = list(sketches)
    if len(found) < 2:
        return bytes(found[0]) if found else empty()
    # One max() per register over every sketch at once: 512 C calls, not 512 per sketch.
    return bytes(map(max, *found))


def estimate(sketch: bytes) -> int:
    zeros = sketch.count(0)
    if zeros == REGISTERS:
        return 0
    raw = _ALPHA * REGISTERS * REGISTERS / sum(2.0**-r for r in sketch)
    if raw <= 2.5 * REGISTERS:
        return round(REGISTERS * math.log(REGISTERS / zeros)) if zeros else round(raw)
    return round(raw)
