"""The order event contracts: round trips, tolerant readers, bounds, and compatibility of the first shapes."""

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from shared.contracts import CloudEvent, new_event
from shared.contracts.orders import (
    INT32_MAX,
    MAX_LINES,
    TOPIC,
    OrderCancelledV1,
    OrderConfirmedV1,
    OrderDeliveredV1,
    OrderPlacedV1,
    OrderRejectedV1,
    OrderShippedV1,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _line(i: int = 1, quantity: int = 2, unit_price: str = "12.50", line_value: str = "25.00") -> dict[str, Any]:
    return {
        "line_id": f"l{i}",
        "listing_id": f"lst-{i}",
        "seller_id": "s-1",
        "quantity": quantity,
        "unit_price": unit_price,
        "line_value": line_value,
    }


def _facts(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_id": "o-1",
        "occurred_at": "2026-03-01T12:00:00Z",
        "marketplace_id": "mkt-tmall-global",
        "channel": "b2c_marketplace",
        "currency": "USD",
        "total": "35.00",
        "buyer_country": "CN",
        "buyer_city": "Hangzhou",
        "lines": [_line(1), _line(2, quantity=1, unit_price="10.00", line_value="10.00")],
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("contract", [OrderConfirmedV1, OrderShippedV1, OrderDeliveredV1])
def test_new_events_round_trip_through_cloudevents(contract: type[OrderConfirmedV1]) -> None:
    data = contract.model_validate(_facts())
    event = CloudEvent.from_bytes(new_event(data, source="/ewtp/orders", subject="o-1").to_bytes())
    assert event.type == contract.TYPE
    assert event.subject == "o-1"
    assert contract.from_event(event) == data
    assert contract.TOPIC == TOPIC


def test_types_are_versioned_and_past_tense() -> None:
    assert [c.TYPE for c in (OrderConfirmedV1, OrderShippedV1, OrderDeliveredV1)] == [
        "rw.ewtp.order.confirmed.v1",
        "rw.ewtp.order.shipped.v1",
        "rw.ewtp.order.delivered.v1",
    ]


def test_confirmed_carries_the_quote_and_incoterm_for_logistics() -> None:
    confirmed = OrderConfirmedV1.model_validate(_facts(logistics_quote_id="q-9", incoterm="DAP"))
    assert (confirmed.logistics_quote_id, confirmed.incoterm) == ("q-9", "DAP")
    assert OrderConfirmedV1.model_validate(_facts()).logistics_quote_id is None
    with pytest.raises(ValidationError):
        OrderConfirmedV1.model_validate(_facts(incoterm="dap"))


def test_readers_ignore_unknown_fields() -> None:
    extra = _facts(added_later=True)
    extra["lines"][0]["added_later"] = 1
    assert OrderShippedV1.model_validate(extra).lines[0].seller_id == "s-1"


def test_the_first_shapes_still_validate_without_the_new_facts() -> None:
    placed = OrderPlacedV1.model_validate(
        {
            "order_id": "o-1",
            "occurred_at": "2026-03-01T12:00:00Z",
            "marketplace_id": "m",
            "lines": [{"line_id": "l1", "listing_id": "x", "quantity": 1}],
        }
    )
    assert placed.total is None
    assert placed.lines[0].unit_price is None
    assert OrderCancelledV1(order_id="o-1", occurred_at=NOW, reason="buyer").actor is None
    assert OrderRejectedV1(order_id="o-1", occurred_at=NOW).reason is None
    full = OrderPlacedV1.model_validate(_facts())
    assert full.lines[1].line_value == "10.00"


@pytest.mark.parametrize("quantity", [0, -1, INT32_MAX + 1])
def test_quantities_are_positive_int32(quantity: int) -> None:
    with pytest.raises(ValidationError, match="quantity"):
        OrderPlacedV1.model_validate(_facts(lines=[_line(quantity=quantity)]))


def test_the_largest_int32_quantity_passes() -> None:
    line = _line(quantity=INT32_MAX, unit_price="1", line_value=str(INT32_MAX))
    assert OrderConfirmedV1.model_validate(_facts(lines=[line], total=str(INT32_MAX))).lines[0].quantity == INT32_MAX


def test_an_order_has_1_to_max_lines() -> None:
    many = [_line(i, quantity=1, unit_price="1.00", line_value="1.00") for i in range(MAX_LINES + 1)]
    assert len(OrderConfirmedV1.model_validate(_facts(lines=many[:MAX_LINES], total="200.00")).lines) == MAX_LINES
    with pytest.raises(ValidationError, match="lines"):
        OrderConfirmedV1.model_validate(_facts(lines=many, total="201.00"))
    with pytest.raises(ValidationError, match="lines"):
        OrderPlacedV1.model_validate(_facts(lines=many))
    with pytest.raises(ValidationError):
        OrderConfirmedV1.model_validate(_facts(lines=[]))


@pytest.mark.parametrize(
    "change",
    [
        {"total": "35.01"},
        {"lines": [_line(1), _line(1, quantity=1, unit_price="10.00", line_value="10.00")]},
        {"lines": [_line(1, line_value="25.01"), _line(2, quantity=1, unit_price="10.00", line_value="10.00")]},
        {"total": "-35.00"},
        {"total": "35.0001"},
        {"total": "1e3"},
        {"currency": "usd"},
        {"buyer_country": "CHN"},
        {"buyer_city": ""},
        {"order_id": "x" * 65},
        {"channel": None},
    ],
)
def test_inconsistent_or_out_of_bounds_facts_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        OrderConfirmedV1.model_validate(_facts(**change))


@pytest.mark.parametrize("missing", ["seller_id", "unit_price", "line_value"])
def test_new_events_need_priced_lines(missing: str) -> None:
    line = _line()
    del line[missing]
    with pytest.raises(ValidationError, match=missing):
        OrderShippedV1.model_validate(_facts(lines=[line], total="25.00"))
