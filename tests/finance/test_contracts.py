"""Finance event contracts: round trip through a CloudEvent, unknown fields ignored, bounds refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from shared.contracts.envelope import CloudEvent, EventData, new_event
from shared.contracts.finance import (
    TOPIC,
    ApplicationApprovedV1,
    ApplicationDisbursedV1,
    ApplicationInArrearsV1,
    ApplicationRejectedV1,
    ApplicationRepaidV1,
    ApplicationSubmittedV1,
    ApplicationWithdrawnV1,
    ApplicationWrittenOffV1,
)

COMMON: dict[str, Any] = {
    "application_id": "app-1",
    "seller_id": "seller-1",
    "product": "purchase_order_finance",
    "currency": "USD",
    "actor": "lender-1",
    "occurred_at": datetime(2025, 1, 1, tzinfo=UTC),
}

SAMPLES: list[EventData] = [
    ApplicationSubmittedV1(
        **COMMON,
        requested_amount="8000.00",
        tenor_days=90,
        linked_order_ids=["o-1"],
        eligible=True,
    ),
    ApplicationApprovedV1(
        **COMMON,
        approved_amount="7500.00",
        annual_rate="0.18",
        fees="75.00",
        tenor_days=90,
        conditions=["assignment of the buyer's receivable"],
    ),
    ApplicationRejectedV1(**COMMON, reason="over-advance"),
    ApplicationWithdrawnV1(**COMMON),
    ApplicationDisbursedV1(
        **COMMON,
        disbursed_amount="7500.00",
        total_scheduled="7907.88",
        disbursement_reference="TRX-1",
        disbursed_on=date(2025, 1, 2),
        maturity_on=date(2025, 4, 2),
    ),
    ApplicationRepaidV1(**COMMON, total_repaid="7907.88", repaid_on=date(2025, 4, 1)),
    ApplicationInArrearsV1(**COMMON, overdue_amount="7907.88", outstanding_amount="7907.88", days_past_due=6),
    ApplicationWrittenOffV1(**COMMON, reason="buyer insolvent", outstanding_amount="4000.00", total_repaid="3907.88"),
]


def test_types_and_topic() -> None:
    assert {type(s).TYPE for s in SAMPLES} == {
        f"rw.ewtp.finance.application.{name}.v1"
        for name in (
            "submitted",
            "approved",
            "rejected",
            "withdrawn",
            "disbursed",
            "repaid",
            "in_arrears",
            "written_off",
        )
    }
    assert all(type(s).TOPIC == TOPIC == "finance.events" for s in SAMPLES)


@pytest.mark.parametrize("data", SAMPLES, ids=lambda d: type(d).__name__)
def test_round_trip_through_a_cloud_event(data: EventData) -> None:
    event = new_event(data, source="/finance", subject="app-1")
    back = CloudEvent.from_bytes(event.to_bytes())
    assert back.type == type(data).TYPE
    assert back.subject == "app-1"
    assert type(data).from_event(back) == data


@pytest.mark.parametrize("data", SAMPLES, ids=lambda d: type(d).__name__)
def test_unknown_fields_are_ignored(data: EventData) -> None:
    raw = data.model_dump(mode="json") | {"added_in_v1_1": {"anything": 1}}
    assert type(data).model_validate(raw) == data


def test_amounts_travel_as_decimal_strings() -> None:
    raw = SAMPLES[1].model_dump(mode="json")
    assert raw["approved_amount"] == "7500.00"
    assert raw["annual_rate"] == "0.18"


def submitted(**changes: Any) -> dict[str, Any]:
    return SAMPLES[0].model_dump(mode="json") | changes


@pytest.mark.parametrize(
    "changes",
    [
        {"requested_amount": "-1.00"},
        {"requested_amount": "1.005"},  # more places than USD has
        {"requested_amount": "١٠٠"},  # Arabic-Indic digits
        {"requested_amount": "1e3"},
        {"requested_amount": "1234567890123456"},
        {"currency": "usd"},
        {"currency": "XXX"},  # a code without minor units
        {"currency": "ZZZ"},
        {"requested_amount": "100.5", "currency": "RWF"},  # RWF has no minor units
        {"tenor_days": 0},
        {"tenor_days": 2_147_483_648},
        {"application_id": ""},
        {"application_id": "a" * 65},
        {"seller_id": "s" * 65},
        {"linked_order_ids": ["o" * 65]},
        {"linked_order_ids": [f"o-{i}" for i in range(101)]},
    ],
)
def test_out_of_bounds_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ApplicationSubmittedV1.model_validate(submitted(**changes))


def test_a_rwf_amount_is_whole_francs() -> None:
    event = ApplicationSubmittedV1.model_validate(submitted(currency="RWF", requested_amount="800000"))
    assert event.requested_amount == "800000"


@pytest.mark.parametrize(
    ("model", "changes"),
    [
        (ApplicationRejectedV1, {"reason": ""}),
        (ApplicationApprovedV1, {"fees": "1.234"}),
        (ApplicationApprovedV1, {"annual_rate": "-0.1"}),
        (ApplicationInArrearsV1, {"days_past_due": 0}),
        (ApplicationDisbursedV1, {"disbursement_reference": ""}),
        (ApplicationWrittenOffV1, {"reason": ""}),
        (ApplicationWrittenOffV1, {"outstanding_amount": "1.001"}),
    ],
)
def test_other_events_refuse_their_bounds(model: type[EventData], changes: dict[str, Any]) -> None:
    sample = next(s for s in SAMPLES if type(s) is model)
    with pytest.raises(ValidationError):
        model.model_validate(sample.model_dump(mode="json") | changes)
