"""logistics.events contracts: round trip through the CloudEvents envelope, tolerant reading, bounds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from shared.contracts import CloudEvent, new_event
from shared.contracts.envelope import EventData
from shared.contracts.logistics import (
    TOPIC,
    QuoteIssuedV1,
    ShipmentBookedV1,
    ShipmentBookingFailedV1,
    ShipmentCancelledV1,
    ShipmentDeliveredV1,
    ShipmentDispatchedV1,
)

AT = "2026-11-23T09:00:00Z"

OPTION = {
    "option_id": "q1-1",
    "mode": "sea",
    "carrier": "Corridor Freight Consolidators + Indian Ocean LCL Lines",
    "total": "357.25",
    "currency": "USD",
    "transit_days": 38,
    "valid_until": "2026-11-30T00:00:00Z",
    "legs": [
        {"rate_card_id": "CORRIDOR-ROAD-RWKGL-KEMBA", "rate_card_version": 1, "carrier": "Corridor",
         "mode": "road", "origin": "RWKGL", "destination": "KEMBA", "chargeable_weight_kg": "96"},
        {"rate_card_id": "LCL-SEA-KEMBA-CNPVG", "rate_card_version": 1, "carrier": "LCL",
         "mode": "sea", "origin": "KEMBA", "destination": "CNPVG", "chargeable_weight_kg": "1000"},
    ],
}  # fmt: skip

VALID: dict[type[EventData], dict[str, Any]] = {
    QuoteIssuedV1: {
        "quote_id": "q1", "requested_by": "marketplace:m1", "origin": "RWKGL", "destination": "CNPVG",
        "incoterm": "FCA", "actual_weight_kg": "37.5", "options": [OPTION], "occurred_at": AT,
    },
    ShipmentBookedV1: {
        "shipment_id": "s1", "order_id": "o1", "quote_id": "q1", "carrier": "Ethiopian Airlines Cargo",
        "mode": "air", "tracking_number": "071-12345675", "occurred_at": AT,
    },
    ShipmentBookingFailedV1: {"order_id": "o1", "quote_id": "q1", "reason": "quote expired", "occurred_at": AT},
    ShipmentDispatchedV1: {"shipment_id": "s1", "order_id": "o1", "occurred_at": AT},
    ShipmentDeliveredV1: {"shipment_id": "s1", "order_id": "o1", "occurred_at": AT},
    ShipmentCancelledV1: {"shipment_id": "s1", "order_id": "o1", "occurred_at": AT},
}  # fmt: skip


@pytest.mark.parametrize("model", list(VALID))
def test_round_trip_through_the_envelope(model: type[EventData]) -> None:
    data = model.model_validate(VALID[model])
    subject = VALID[model].get("order_id", VALID[model].get("quote_id"))
    event = new_event(data, source="/ewtp/logistics", subject=str(subject))
    decoded = CloudEvent.from_bytes(event.to_bytes())
    assert decoded.type == model.TYPE and decoded.type.startswith("rw.ewtp.") and decoded.type.endswith(".v1")
    assert model.TOPIC == TOPIC == "logistics.events"
    assert model.from_event(decoded) == data


@pytest.mark.parametrize("model", list(VALID))
def test_unknown_fields_are_ignored(model: type[EventData]) -> None:
    data = model.model_validate({**VALID[model], "added_later": {"x": 1}})
    assert "added_later" not in data.model_dump()


def test_the_saga_events_carry_exactly_the_agreed_fields() -> None:
    def fields(model: type[EventData]) -> set[str]:
        return set(model.model_fields)

    assert fields(ShipmentBookedV1) == {
        "shipment_id",
        "order_id",
        "quote_id",
        "carrier",
        "mode",
        "tracking_number",
        "occurred_at",
    }
    assert fields(ShipmentBookingFailedV1) == {"order_id", "quote_id", "reason", "occurred_at"}
    assert fields(ShipmentDispatchedV1) == {"shipment_id", "order_id", "occurred_at"}
    assert fields(ShipmentDeliveredV1) == {"shipment_id", "order_id", "occurred_at"}


BAD: list[tuple[type[EventData], str, object]] = [
    (ShipmentBookedV1, "order_id", "x" * 65),
    (ShipmentBookedV1, "order_id", ""),
    (ShipmentBookedV1, "mode", "rail"),
    (ShipmentBookingFailedV1, "reason", ""),
    (ShipmentBookingFailedV1, "reason", "r" * 501),
    (ShipmentDispatchedV1, "shipment_id", "s" * 65),
    (ShipmentDeliveredV1, "occurred_at", "yesterday"),
    (QuoteIssuedV1, "incoterm", "DAT"),
    (QuoteIssuedV1, "origin", "rwkgl"),
    (QuoteIssuedV1, "destination", "CNPV٣"),
    (QuoteIssuedV1, "actual_weight_kg", "-1"),
    (QuoteIssuedV1, "actual_weight_kg", "1e3"),
    (QuoteIssuedV1, "options", [{**OPTION, "total": "12.5.0"}]),
    (QuoteIssuedV1, "options", [{**OPTION, "total": "١٢"}]),
    (QuoteIssuedV1, "options", [{**OPTION, "transit_days": 0}]),
    (QuoteIssuedV1, "options", [{**OPTION, "transit_days": 2**31}]),
    (QuoteIssuedV1, "options", [{**OPTION, "currency": "usd"}]),
    (QuoteIssuedV1, "options", [{**OPTION, "legs": []}]),
    (QuoteIssuedV1, "options", [OPTION] * 65),
]


@pytest.mark.parametrize(("model", "name", "value"), BAD)
def test_out_of_bounds_values_break_the_contract(model: type[EventData], name: str, value: object) -> None:
    with pytest.raises(ValidationError):
        model.model_validate({**VALID[model], name: value})


def test_a_quote_without_options_carries_its_reason() -> None:
    empty = QuoteIssuedV1.model_validate({**VALID[QuoteIssuedV1], "options": [], "reason": "no lane"})
    assert empty.options == [] and empty.reason == "no lane"
    assert empty.occurred_at == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
