"""A cursor we did not issue is 400 problem+json on both databases, never 500 (issue 7, item 4)."""

from __future__ import annotations

import pytest

from tests.sellers.conftest import problem, register
from tests.support.cursors import HOSTILE_TIMESTAMPS, forge, forge_raw
from tests.support.platform import Platform

SOME_ID = "00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    "cursor",
    [forge({"t": t, "id": SOME_ID}) for t in HOSTILE_TIMESTAMPS]
    + [
        forge({"t": "2026-01-01T00:00:00+00:00", "id": 2**63}),
        forge({"t": "2026-01-01T00:00:00+00:00", "id": "a\x00b"}),
        forge({"t": "2026-01-01T00:00:00+00:00", "id": "x" * 100}),
        forge_raw(b'{"t": "2026-01-01T00:00:00+00:00", "id": "\\ud800"}'),
        forge_raw(b'{"t": "2026-01-01T00:00:00+00:00", "id": 99999999999999999999999}'),
        forge([1, 2]),
        "!!!not base64",
    ],
)
async def test_a_tampered_cursor_is_400(platform: Platform, cursor: str) -> None:
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        body = problem(await officer.get("/v1/sellers", params={"cursor": cursor}), 400)
        assert "cursor" in body["detail"].lower()


async def test_an_issued_cursor_still_pages(platform: Platform) -> None:
    for _ in range(3):
        await register(platform)
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        first = (await officer.get("/v1/sellers", params={"limit": 2})).json()
        assert first["next_cursor"]
        second = await officer.get("/v1/sellers", params={"limit": 2, "cursor": first["next_cursor"]})
        assert second.status_code == 200
        assert {s["id"] for s in second.json()["items"]}.isdisjoint({s["id"] for s in first["items"]})
