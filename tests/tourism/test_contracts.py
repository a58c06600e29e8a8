"""The tourism booking events: round trip through the CloudEvents envelope, tolerant readers, bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.tourism.domain import OfferKind, new_booking_reference
from shared.contracts import CloudEvent, new_event
from shared.contracts.envelope import EventData
from shared.contracts.tourism import (
    TOPIC,
    BookingCancelledV1,
    BookingConfirmedV1,
    BookingExpiredV1,
    BookingHeldV1,
    BookingRescheduledV1,
)

NOW = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)


def _base(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "booking_id": "b1",
        "app_id": "app:safari-planner",
        "offer_id": "gorilla-volcanoes",
        "offer_kind": "gorilla_permit",
        "visit_date": "2026-04-15",
        "quantity": 2,
        "total": {"amount": "3000.00", "currency": "USD"},
        "occurred_at": "2026-03-01T07:00:00Z",
    }
    values.update(overrides)
    return values


EXAMPLES: list[tuple[type[EventData], dict[str, Any]]] = [
    (BookingHeldV1, _base(expires_at="2026-03-01T07:10:00Z")),
    (BookingConfirmedV1, _base(booking_reference="RW-ABCDE-FGHJK", payment_reference="pay_123")),
    (
        BookingCancelledV1,
        _base(
            previous_status="confirmed",
            days_before=45,
            refund_percent="80",
            refund={"amount": "2400.00", "currency": "USD"},
        ),
    ),
    (BookingExpiredV1, _base(expired_at="2026-03-01T07:10:00Z")),
    (
        BookingRescheduledV1,
        _base(previous_visit_date="2026-04-01", fee={"amount": "0.00", "currency": "USD"}),
    ),
]


@pytest.mark.parametrize(("model", "data"), EXAMPLES)
def test_each_event_round_trips_through_the_envelope(model: type[EventData], data: dict[str, Any]) -> None:
    parsed = model.model_validate(data)
    event = new_event(parsed, source="/ewtp/tourism", subject="b1")
    decoded = CloudEvent.from_bytes(event.to_bytes())
    assert decoded.type == model.TYPE
    assert decoded.subject == "b1"
    assert model.from_event(decoded) == parsed
    assert model.TOPIC == TOPIC == "tourism.events"


def test_types_are_versioned_past_tense_booking_events() -> None:
    assert [m.TYPE for m, _ in EXAMPLES] == [
        "rw.ewtp.booking.held.v1",
        "rw.ewtp.booking.confirmed.v1",
        "rw.ewtp.booking.cancelled.v1",
        "rw.ewtp.booking.expired.v1",
        "rw.ewtp.booking.rescheduled.v1",
    ]


def test_amounts_stay_decimal_strings_and_dates_typed() -> None:
    held = BookingHeldV1.model_validate(EXAMPLES[0][1])
    dumped = held.model_dump(mode="json")
    assert dumped["total"] == {"amount": "3000.00", "currency": "USD"}
    assert dumped["visit_date"] == "2026-04-15"
    assert held.visit_date == date(2026, 4, 15)
    assert held.expires_at == NOW + timedelta(minutes=10)


@pytest.mark.parametrize(("model", "data"), EXAMPLES)
def test_a_consumer_ignores_fields_it_does_not_know(model: type[EventData], data: dict[str, Any]) -> None:
    parsed = model.model_validate({**data, "added_later": {"x": 1}, "total": {**data["total"], "fx": "1.0"}})
    assert not hasattr(parsed, "added_later")


def test_every_domain_offer_kind_passes_the_contract() -> None:
    for kind in OfferKind:
        assert BookingHeldV1.model_validate(_base(offer_kind=kind.value, expires_at=NOW)).offer_kind == kind.value


def test_a_domain_booking_reference_fits_the_contract() -> None:
    data = _base(booking_reference=new_booking_reference(), payment_reference="p")
    assert BookingConfirmedV1.model_validate(data).booking_reference.startswith("RW-")


@pytest.mark.parametrize(
    "overrides",
    [
        {"booking_id": ""},
        {"booking_id": "b" * 65},
        {"app_id": "a" * 65},
        {"offer_id": ""},
        {"offer_kind": "safari"},
        {"quantity": 0},
        {"quantity": -1},
        {"quantity": 2**31},
        {"quantity": "two"},
        {"visit_date": "2026-02-30"},
        {"total": {"amount": "12.5", "currency": "usd"}},
        {"total": {"amount": "-1.00", "currency": "USD"}},
        {"total": {"amount": "1.0000", "currency": "USD"}},
        {"total": {"amount": "1" * 16, "currency": "USD"}},
        {"total": {"amount": "\u0661\u0662", "currency": "USD"}},  # Arabic-Indic digits
        {"total": {"amount": 12.5, "currency": "USD"}},  # a float is not a decimal string
        {"expires_at": "soon"},
    ],
)
def test_out_of_bounds_fields_break_the_contract(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        BookingHeldV1.model_validate(_base(**{"expires_at": "2026-03-01T07:10:00Z", **overrides}))


def test_the_largest_int32_quantity_is_accepted() -> None:
    held = BookingHeldV1.model_validate(_base(quantity=2**31 - 1, expires_at=NOW))
    assert held.quantity == 2**31 - 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"previous_status": "expired"},
        {"refund_percent": "101"},
        {"refund_percent": "80.123"},
        {"days_before": 10**6},
        {"reason": "x" * 501},
    ],
)
def test_cancelled_event_bounds(overrides: dict[str, Any]) -> None:
    data = {**EXAMPLES[2][1], **overrides}
    with pytest.raises(ValidationError):
        BookingCancelledV1.model_validate(data)


def test_a_released_hold_cancels_with_no_refund() -> None:
    data = {
        **EXAMPLES[2][1],
        "previous_status": "held",
        "refund_percent": "0",
        "refund": {"amount": "0", "currency": "RWF"},
    }
    cancelled = BookingCancelledV1.model_validate(data)
    assert cancelled.previous_status == "held"
    assert cancelled.refund.amount == "0"


def test_confirmed_needs_references() -> None:
    with pytest.raises(ValidationError):
        BookingConfirmedV1.model_validate(_base(booking_reference="RW-ABCDE-FGHJK"))
    with pytest.raises(ValidationError):
        BookingConfirmedV1.model_validate(_base(booking_reference="RW-ABCDE-FGHJK", payment_reference="p" * 129))
