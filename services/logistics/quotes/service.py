"""Quote use cases: price a consignment over the cached rate cards, store the answer, announce it.

Pricing is pure (`domain.pricing.quote`) and runs before the transaction; the only writes are the quote row
and its `quote.issued` outbox row. The stored body is the response as issued, so a later card
version changes nothing in it, and a read returns exactly what the asker was told.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from services.logistics.config import LogisticsConfig
from services.logistics.context import EVENTS, decimal_text, owner_of, sees_all, weight_text
from services.logistics.domain.pricing import LegQuote, QuoteOption, quote
from services.logistics.domain.ratecards import RateCard
from services.logistics.domain.weight import Parcel
from services.logistics.quotes.repository import QuoteReads, QuoteRepository
from services.logistics.schemas import QuoteOut, QuoteRequest
from shared.auth import Identity
from shared.contracts import logistics as events
from shared.db import Database
from shared.errors import NotFound
from shared.outbox import add_events

__all__ = ["IssuedQuote", "get_quote", "issue_many", "price"]

_MILLI = Decimal("0.001")


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": decimal_text(amount), "currency": currency}


def _leg(leg: LegQuote) -> dict[str, Any]:
    w = leg.weight
    return {
        "rate_card_id": leg.card_id,
        "rate_card_version": leg.card_version,
        "carrier": leg.carrier,
        "mode": leg.mode.value,
        "origin": leg.origin,
        "destination": leg.destination,
        "chargeable_weight": {
            "actual_kg": weight_text(w.actual_kg),
            "volume_cm3": weight_text(w.volume_cm3),
            "volumetric_kg": weight_text(w.volumetric_kg.quantize(_MILLI)),
            "chargeable_kg": weight_text(w.chargeable_kg),
        },
        "charges": [
            {"code": c.code, "amount": _money(c.amount, leg.currency), "included": c.included, "detail": c.detail}
            for c in leg.charges
        ],
        "total": _money(leg.total, leg.currency),
        "transit_days": leg.transit_days,
        "valid_until": leg.valid_until,
    }


def _option(option_id: str, option: QuoteOption) -> dict[str, Any]:
    return {
        "option_id": option_id,
        "mode": option.mode.value,
        "carrier": option.carrier,
        "via": option.via,
        "legs": [_leg(leg) for leg in option.legs],
        "total": _money(option.total, option.currency),
        "transit_days": option.transit_days,
        "valid_until": option.valid_until,
    }


class IssuedQuote:
    """A priced quote ready to store: the response body (as a dict and as JSON) and its event.

    The body is built in the response's shape (`QuoteOut`) and serialised once; the hot path never
    validates it back into models (the tests do), which would cost more than the pricing itself.
    """

    __slots__ = ("body", "event", "json", "owner")

    def __init__(self, body: dict[str, Any], owner: str, event: events.QuoteIssuedV1) -> None:
        self.body = body
        self.owner = owner
        # Made here, in the request's task, so the event carries the request's trace context.
        self.event = EVENTS.event(event, subject=str(body["id"]))
        self.json = orjson.dumps(body, option=orjson.OPT_UTC_Z)  # `Z`, as pydantic writes UTC

    @property
    def quote_id(self) -> str:
        return str(self.body["id"])

    def model(self) -> QuoteOut:
        return QuoteOut.model_validate_json(self.json)


def _event_option(o: dict[str, Any]) -> dict[str, Any]:
    return {
        "option_id": o["option_id"],
        "mode": o["mode"],
        "carrier": o["carrier"],
        "total": o["total"]["amount"],
        "currency": o["total"]["currency"],
        "transit_days": o["transit_days"],
        "valid_until": o["valid_until"],
        "legs": [
            {
                "rate_card_id": leg["rate_card_id"],
                "rate_card_version": leg["rate_card_version"],
                "carrier": leg["carrier"],
                "mode": leg["mode"],
                "origin": leg["origin"],
                "destination": leg["destination"],
                "chargeable_weight_kg": leg["chargeable_weight"]["chargeable_kg"],
            }
            for leg in o["legs"]
        ],
    }


def price(
    request: QuoteRequest, identity: Identity, cards: tuple[RateCard, ...], config: LogisticsConfig, now: datetime
) -> IssuedQuote:
    """Price `request` (422 for a domain rule it breaks); nothing is written."""
    parcels = [Parcel(p.count, p.weight_kg, p.length_cm, p.width_cm, p.height_cm) for p in request.parcels]
    result = quote(
        cards,
        parcels=parcels,
        origin=request.origin,
        destination=request.destination,
        incoterm=request.incoterm,
        now=now,
        mode=request.mode,
        config=config,
    )
    quote_id = str(uuid.uuid4())
    owner = owner_of(identity)
    actual = weight_text(sum((p.weight_kg * p.count for p in parcels), Decimal(0)))
    options = [_option(f"{quote_id}-{i}", o) for i, o in enumerate(result.options, 1)]
    body: dict[str, Any] = {
        "id": quote_id,
        "requested_by": owner,
        "origin": request.origin,
        "destination": request.destination,
        "incoterm": request.incoterm.value,
        "mode": request.mode.value if request.mode else None,
        "parcels": [
            {
                "count": p.count,
                "weight_kg": weight_text(p.weight_kg),
                "length_cm": weight_text(p.length_cm),
                "width_cm": weight_text(p.width_cm),
                "height_cm": weight_text(p.height_cm),
            }
            for p in request.parcels
        ],
        "actual_weight_kg": actual,
        "options": options,
        "reason": result.reason,
        "skipped": list(result.skipped),
        "created_at": now,
    }
    event = events.QuoteIssuedV1.model_validate(
        {
            "quote_id": quote_id,
            "requested_by": owner,
            "origin": request.origin,
            "destination": request.destination,
            "incoterm": request.incoterm.value,
            "actual_weight_kg": actual,
            "options": [_event_option(o) for o in options],
            "reason": result.reason,
            "occurred_at": now,
        }
    )
    return IssuedQuote(body, owner, event)


def _row(issued: IssuedQuote) -> dict[str, Any]:
    body = issued.body
    return {
        "id": body["id"],
        "owner": issued.owner,
        "origin": body["origin"],
        "destination": body["destination"],
        "incoterm": body["incoterm"],
        "actual_weight_kg": body["actual_weight_kg"],
        "body": issued.json.decode(),
        "created_at": body["created_at"],
    }


async def issue_many(session: AsyncSession, issued: Sequence[IssuedQuote]) -> None:
    """The quotes' only writes: their rows and their `quote.issued` outbox rows, one statement each.

    No aggregate lock: `quote.issued` is the one event a quote ever has, so there is no order among
    a quote's events to protect (shared/outbox.py's ordering rule).
    """
    await QuoteRepository(session).add_many([_row(q) for q in issued])
    await add_events(session, [(events.TOPIC, q.event) for q in issued])


async def get_quote(db: Database, quote_id: str, identity: Identity) -> str:
    """The quote as issued (its JSON); another party's quote is a 404, as if it did not exist."""
    found = await QuoteReads(db).get(quote_id)
    if found is None or (not sees_all(identity) and found[0] != owner_of(identity)):
        raise NotFound(f"Quote {quote_id} does not exist.")
    return found[1]
