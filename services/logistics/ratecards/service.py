"""Rate-card use cases (ops): publish a card or its next version, read them.

A new version never changes an issued quote: quotes store the figures they computed, and cards are
insert-only. The cache is invalidated after the publishing transaction commits.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.logistics.ratecards.cache import RateCardCache
from services.logistics.ratecards.convert import card_from_input, card_out, card_values
from services.logistics.ratecards.repository import RateCardRepository
from services.logistics.schemas import RateCardIn, RateCardOut
from shared.auth import Identity
from shared.constraints import violations_as_problems
from shared.db import utcnow
from shared.errors import Conflict, NotFound, invalid
from shared.pagination import Page, cursor_int, cursor_text, decode_cursor, fetch_size, keyset_page

_RACE = {
    "uq_rate_cards_card_id_version": lambda: Conflict(
        "Another version of this rate card was published at the same time; retry."
    )
}


async def publish_card(
    session: AsyncSession, body: RateCardIn, identity: Identity, cache: RateCardCache
) -> RateCardOut:
    repo = RateCardRepository(session)
    version = await repo.latest_version(body.card_id) + 1
    try:
        card = card_from_input(body, version)
    except ValueError as exc:
        raise invalid([{"field": "body", "reason": str(exc)}]) from None
    values = card_values(card, created_by=identity.actor, created_at=utcnow())
    with violations_as_problems(_RACE):
        await repo.add(values)
    await cache.changed(session)
    row = await repo.get(card.card_id, version)
    assert row is not None
    return card_out(row)


async def card_versions(session: AsyncSession, card_id: str) -> list[RateCardOut]:
    rows = await RateCardRepository(session).versions(card_id)
    if not rows:
        raise NotFound(f"Rate card {card_id} does not exist.")
    return [card_out(r) for r in rows]


async def search(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None,
    mode: str | None,
    origin: str | None,
    destination: str | None,
) -> Page[RateCardOut]:
    after = None
    if cursor:
        position = decode_cursor(cursor, ("c", "v"))
        after = (cursor_text(position["c"], max_length=64), cursor_int(position["v"], minimum=1, maximum=2**31 - 1))
    found = await RateCardRepository(session).search(
        limit=fetch_size(limit), after=after, mode=mode, origin=origin, destination=destination
    )
    rows, next_cursor = keyset_page(found, limit, lambda r: {"c": r.card_id, "v": r.version})
    return Page[RateCardOut](items=[card_out(r) for r in rows], next_cursor=next_cursor)
