"""Event contracts: CloudEvents envelope round trip, tolerant readers, and the order contract's rules."""

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ValidationError

from shared.contracts import CloudEvent, new_event
from shared.contracts.catalogue import ListingPublishedV1, StockRejectedV1
from shared.contracts.orders import OrderCancelledV1, OrderPlacedV1
from shared.contracts.sellers import SellerVerifiedV1


def test_an_event_round_trips_as_structured_cloudevents_json() -> None:
    data = SellerVerifiedV1(
        seller_id="s1", legal_name="Kivu Hills", status="verified", occurred_at=datetime.now(UTC), actor="rdb_officer:k"
    )
    event = new_event(data, source="/ewtp/sellers", subject="s1")
    decoded = CloudEvent.from_bytes(event.to_bytes())
    assert decoded.specversion == "1.0"
    assert decoded.type == "rw.ewtp.seller.verified.v1"
    assert decoded.subject == "s1"
    assert SellerVerifiedV1.from_event(decoded) == data


def test_a_consumer_ignores_fields_it_does_not_know() -> None:
    event = CloudEvent(
        id="e1",
        source="/ewtp/sellers",
        type=SellerVerifiedV1.TYPE,
        time=datetime.now(UTC),
        data={
            "seller_id": "s1",
            "legal_name": "K",
            "status": "verified",
            "occurred_at": "2026-01-01T00:00:00Z",
            "actor": "a",
            "added_in_a_later_release": True,
        },
    )
    assert SellerVerifiedV1.from_event(event).seller_id == "s1"


def _placed(*line_ids: str, order_id: str = "o1") -> dict[str, object]:
    return {
        "order_id": order_id,
        "marketplace_id": "m1",
        "occurred_at": "2026-01-01T00:00:00Z",
        "lines": [{"line_id": i, "listing_id": "l1", "quantity": 1} for i in line_ids],
    }


def test_an_order_needs_lines_with_unique_ids_and_bounded_ids() -> None:
    assert len(OrderPlacedV1.model_validate(_placed("a", "b")).lines) == 2
    with pytest.raises(ValidationError, match="unique"):
        OrderPlacedV1.model_validate(_placed("a", "a"))
    with pytest.raises(ValidationError):
        OrderPlacedV1.model_validate(_placed())
    with pytest.raises(ValidationError):
        OrderPlacedV1.model_validate(_placed("a", order_id="x" * 65))


@pytest.mark.parametrize("bad", ["l1\x00", "\x00", "l\x07x", "l\nx", "l\ud800x"])
def test_an_order_refuses_nul_controls_and_lone_surrogates_in_ids(bad: str) -> None:
    placed = _placed("a")
    placed["lines"] = [{"line_id": "a", "listing_id": bad, "quantity": 1}]
    with pytest.raises(ValidationError, match="listing_id"):
        OrderPlacedV1.model_validate(placed)
    with pytest.raises(ValidationError, match="order_id"):
        OrderPlacedV1.model_validate(_placed("a", order_id=bad))


@pytest.mark.parametrize(
    ("model", "field"),
    [(StockRejectedV1, "order_id"), (SellerVerifiedV1, "seller_id"), (ListingPublishedV1, "listing_id")],
)
def test_every_contract_refuses_a_nul_in_an_id(model: type[BaseModel], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        model.model_validate({field: "x\x00"})


def test_free_text_refuses_controls_but_keeps_line_breaks() -> None:
    data = {"order_id": "o1", "occurred_at": "2026-01-01T00:00:00Z", "reason": "buyer\nchanged mind"}
    assert OrderCancelledV1.model_validate(data).reason == "buyer\nchanged mind"
    with pytest.raises(ValidationError, match="reason"):
        OrderCancelledV1.model_validate({**data, "reason": "buyer\x00"})


def test_a_listing_event_may_carry_its_category() -> None:
    data = {
        "listing_id": "l1",
        "seller_id": "s1",
        "sku": "K-1",
        "title": "Kivu coffee",
        "price": {"amount": "12.00", "currency": "USD"},
        "hs_code": "090111",
        "unit_net_weight_g": 250,
        "status": "published",
        "version": 1,
        "occurred_at": "2026-01-01T00:00:00Z",
    }
    assert ListingPublishedV1.model_validate(data).category is None
    assert ListingPublishedV1.model_validate({**data, "category": "coffee"}).category == "coffee"
