"""The distinct-buyer sketch: exact for a handful, within a few percent for many, union = merge."""

from __future__ import annotations

from services.orders import sketch


def _of(*items: str) -> bytes:
    registers = bytearray(sketch.empty())
    for item in items:
        sketch.add_into(registers, item)
    return bytes(registers)


def test_small_sets_are_counted_exactly_and_repeats_once() -> None:
    assert sketch.estimate(sketch.empty()) == 0
    assert sketch.estimate(_of("li wei", "li wei", "zhang san")) == 2
    assert sketch.estimate(sketch.add(None, "a")) == 1


def test_large_sets_are_within_the_sketch_error() -> None:
    n = 50_000
    found = sketch.estimate(_of(*(f"buyer-{i}" for i in range(n))))
    assert abs(found - n) / n < 0.1  # 1.04/sqrt(512) = 4.6% standard error


def test_a_merge_counts_the_union() -> None:
    days = [_of(*(f"b{i}" for i in range(d * 10, d * 10 + 20))) for d in range(5)]  # overlapping days
    assert sketch.merge([]) == sketch.empty()
    assert sketch.merge(days[:1]) == days[0]
    assert abs(sketch.estimate(sketch.merge(days)) - 60) <= 3
