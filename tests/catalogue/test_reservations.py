"""The stock side of the order saga: reserve all lines or none, never oversell, each effect once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import func, select

from services.catalogue.models import Reservation, ReservationLine
from services.catalogue.stock import service
from shared.contracts import catalogue as stock_events
from shared.contracts.orders import TOPIC as ORDERS_TOPIC
from shared.contracts.orders import OrderCancelledV1, OrderRejectedV1
from shared.db import utcnow
from tests.catalogue.conftest import (
    Seller,
    cloud_event,
    create_listing,
    eventually,
    order_placed,
    produce,
    published_listing,
    reservation_status,
    stock,
)
from tests.support.events import read_topic, wait_for_events
from tests.support.platform import Platform


async def stock_events_for(platform: Platform, *order_ids: str, count: int | None = None) -> list:  # type: ignore[type-arg]
    wanted = set(order_ids)
    needed = count if count is not None else len(wanted)

    def enough(evs: list) -> bool:  # type: ignore[type-arg]
        return sum(1 for e in evs if e.subject in wanted) >= needed

    evs = await wait_for_events(platform.broker.bootstrap, stock_events.TOPIC, enough, timeout_s=60)
    return [e for e in evs if e.subject in wanted]


async def test_200_concurrent_reservations_for_the_last_10_units_reserve_exactly_10(
    platform: Platform, seller: Seller
) -> None:
    listing = await published_listing(platform, seller, on_hand=10)
    orders = [f"race-{uuid.uuid4()}" for _ in range(200)]

    async with platform.db("catalogue") as db:

        async def attempt(order_id: str) -> bool:
            async with db.transaction() as session:
                return await service.reserve_for_order(session, order_placed(order_id, (listing["id"], 1)))

        results = await asyncio.gather(*(attempt(o) for o in orders))

        async with db.read() as session:
            statuses = dict(
                (
                    await session.execute(
                        select(Reservation.status, func.count())
                        .where(Reservation.order_id.in_(orders))
                        .group_by(Reservation.status)
                    )
                ).all()
            )
            reserved_units = await session.scalar(
                select(func.coalesce(func.sum(ReservationLine.quantity), 0)).where(ReservationLine.order_id.in_(orders))
            )
    assert sum(results) == 10
    assert statuses == {"reserved": 10, "rejected": 190}
    assert reserved_units == 10
    assert await stock(platform, listing["id"]) == (10, 10)
    async with platform.client(seller.key) as own:
        level = (await own.get(f"/v1/listings/{listing['id']}/stock")).json()["stock"]
    assert (level["available"], level["availability"]) == (0, "out_of_stock")


async def test_200_order_events_racing_for_10_units_through_the_broker(platform: Platform, seller: Seller) -> None:
    listing = await published_listing(platform, seller, on_hand=10)
    orders = [f"evt-{uuid.uuid4()}" for _ in range(200)]
    await produce(platform, ORDERS_TOPIC, *(cloud_event(order_placed(o, (listing["id"], 1)), o) for o in orders))

    async def all_decided() -> bool:
        async with platform.db("catalogue") as db, db.read() as session:
            decided = await session.scalar(
                select(func.count()).select_from(Reservation).where(Reservation.order_id.in_(orders))
            )
        return decided == len(orders)

    await eventually(all_decided, timeout_s=90, what="all 200 orders decided")
    assert await stock(platform, listing["id"]) == (10, 10)
    evs = await stock_events_for(platform, *orders)
    kinds = [e.type for e in evs]
    assert kinds.count(stock_events.StockReservedV1.TYPE) == 10
    assert kinds.count(stock_events.StockRejectedV1.TYPE) == 190
    rejected = [stock_events.StockRejectedV1.model_validate(e.data) for e in evs if e.type.endswith("rejected.v1")]
    assert {line.reason for r in rejected for line in r.lines} == {"insufficient_stock"}
    assert {line.available for r in rejected for line in r.lines} == {0}


async def test_an_order_is_reserved_whole_or_not_at_all_with_a_reason_per_line(
    platform: Platform, seller: Seller
) -> None:
    plenty = await published_listing(platform, seller, on_hand=50)
    scarce = await published_listing(platform, seller, on_hand=2)
    async with platform.client(seller.key) as own:
        draft = await create_listing(own, on_hand=50)
    ghost = str(uuid.uuid4())
    order_id = f"mixed-{uuid.uuid4()}"
    placed = order_placed(order_id, (plenty["id"], 5), (scarce["id"], 3), (draft["id"], 1), (ghost, 1))
    await produce(platform, ORDERS_TOPIC, cloud_event(placed, order_id))

    (event,) = await stock_events_for(platform, order_id)
    assert event.type == stock_events.StockRejectedV1.TYPE
    rejected = stock_events.StockRejectedV1.model_validate(event.data)
    assert {(x.line_id, x.reason, x.available) for x in rejected.lines} == {
        ("l2", "insufficient_stock", 2),
        ("l3", "not_published", None),
        ("l4", "unknown_listing", None),
    }
    # The line that could have been reserved was not: all or nothing.
    assert await stock(platform, plenty["id"]) == (50, 0)
    assert await stock(platform, scarce["id"]) == (2, 0)
    assert await reservation_status(platform, order_id) == "rejected"


async def test_a_redelivered_order_placed_has_no_second_effect(platform: Platform, seller: Seller) -> None:
    listing = await published_listing(platform, seller, on_hand=20)
    order_id = f"dup-{uuid.uuid4()}"
    event = cloud_event(order_placed(order_id, (listing["id"], 4)), order_id)
    # The same event three times (at-least-once delivery), then a new event for the same order.
    again = cloud_event(order_placed(order_id, (listing["id"], 4)), order_id)
    await produce(platform, ORDERS_TOPIC, event, event, event, again)

    # A later order on the same partition (same key): once it is done, the duplicates were handled.
    marker = f"marker-{uuid.uuid4()}"
    await produce(platform, ORDERS_TOPIC, cloud_event(order_placed(marker, (listing["id"], 1)), order_id))

    async def marker_done() -> bool:
        return await reservation_status(platform, marker) == "reserved"

    await eventually(marker_done, what="the marker order after the duplicates")
    assert await stock(platform, listing["id"]) == (20, 5)
    await stock_events_for(platform, order_id)
    await asyncio.sleep(1.0)  # let any (wrong) second event reach the topic
    evs = await stock_events_for(platform, order_id)
    assert [e.type for e in evs] == [stock_events.StockReservedV1.TYPE]


async def test_a_cancel_releases_once_and_a_rejection_releases_only_what_was_reserved(
    platform: Platform, seller: Seller
) -> None:
    listing = await published_listing(platform, seller, on_hand=10)
    kept, cancelled, refused = (f"o-{uuid.uuid4()}" for _ in range(3))
    await produce(
        platform,
        ORDERS_TOPIC,
        cloud_event(order_placed(kept, (listing["id"], 3)), kept),
        cloud_event(order_placed(cancelled, (listing["id"], 4)), cancelled),
        cloud_event(order_placed(refused, (listing["id"], 99)), refused),
    )
    await stock_events_for(platform, kept, cancelled, refused)
    assert await stock(platform, listing["id"]) == (10, 7)

    cancel = cloud_event(OrderCancelledV1(order_id=cancelled, occurred_at=utcnow(), reason="buyer"), cancelled)
    reject_refused = cloud_event(OrderRejectedV1(order_id=refused, occurred_at=utcnow(), reason="stock"), refused)
    await produce(platform, ORDERS_TOPIC, cancel, cancel, reject_refused)
    # Cancel again with a new event id: the reservation state makes the release idempotent too.
    await produce(
        platform,
        ORDERS_TOPIC,
        cloud_event(OrderCancelledV1(order_id=cancelled, occurred_at=utcnow(), reason="again"), cancelled),
    )

    async def released() -> bool:
        return await reservation_status(platform, cancelled) == "released"

    await eventually(released, what="the cancelled order's release")
    await stock_events_for(platform, cancelled, count=2)
    await asyncio.sleep(1.0)  # let any (wrong) second release reach the topic
    evs = await stock_events_for(platform, cancelled, refused, count=3)
    assert [e.type for e in evs if e.subject == cancelled] == [
        stock_events.StockReservedV1.TYPE,
        stock_events.StockReleasedV1.TYPE,
    ]
    released_event = stock_events.StockReleasedV1.model_validate(
        next(e.data for e in evs if e.type.endswith("released.v1"))
    )
    assert released_event.reason == "order_cancelled"
    assert [(x.listing_id, x.quantity) for x in released_event.lines] == [(listing["id"], 4)]
    assert [e.type for e in evs if e.subject == refused] == [stock_events.StockRejectedV1.TYPE]
    assert await stock(platform, listing["id"]) == (10, 3)
    assert await reservation_status(platform, kept) == "reserved"


async def test_a_reservation_changes_availability_in_the_feed(platform: Platform, seller: Seller) -> None:
    listing = await published_listing(platform, seller, on_hand=2, out_of_stock_policy="backorder")
    async with platform.client(platform.keys["marketplace"]) as market:
        snap = await market.get("/v1/feeds/listings")
        cursor = snap.headers["x-feed-cursor"]
        order_id = f"avail-{uuid.uuid4()}"
        async with platform.db("catalogue") as db, db.transaction() as session:
            assert await service.reserve_for_order(session, order_placed(order_id, (listing["id"], 2)))
        page = (await market.get("/v1/feeds/listings/changes", params={"cursor": cursor})).json()
        mine = [c for c in page["items"] if c["listing_id"] == listing["id"]]
        assert [c["op"] for c in mine] == ["upsert"]
        assert mine[0]["item"]["availability"] == "backorder"
        assert mine[0]["item"]["quantity_available"] == 0


def _group(record: Any) -> bytes | None:
    return dict(record.headers).get("x-consumer-group")


async def test_an_order_that_breaks_the_contract_is_dead_lettered_without_effect(
    platform: Platform, seller: Seller
) -> None:
    listing = await published_listing(platform, seller, on_hand=5)
    order_id = f"poison-{uuid.uuid4()}"
    placed = order_placed(order_id, (listing["id"], 1), (listing["id"], 1))
    broken = placed.model_copy(update={"lines": [placed.lines[0], placed.lines[0]]})  # the same line id twice
    await produce(platform, ORDERS_TOPIC, cloud_event(broken, order_id))
    records = await read_topic(
        platform.broker.bootstrap,
        f"{ORDERS_TOPIC}.dlq",
        lambda rs: any(r.key == order_id.encode() and _group(r) == b"catalogue.orders" for r in rs),
        timeout_s=30,
    )
    # Finance reads orders.events too and dead-letters the same record; which group writes first varies.
    assert any(r.key == order_id.encode() and _group(r) == b"catalogue.orders" for r in records)
    assert await reservation_status(platform, order_id) is None
    assert await stock(platform, listing["id"]) == (5, 0)


async def test_a_nul_in_a_listing_id_breaks_the_contract_and_is_dead_lettered_with_the_reason(
    platform: Platform, seller: Seller
) -> None:
    """A NUL would reach PostgreSQL's text column and fail there (a DLQ without the reason): the contract
    refuses it first, so the dead letter names the field."""
    listing = await published_listing(platform, seller, on_hand=5)
    order_id = f"nul-{uuid.uuid4()}"
    placed = order_placed(order_id, (listing["id"], 1))
    line = placed.lines[0].model_copy(update={"listing_id": listing["id"] + "\x00"})
    await produce(platform, ORDERS_TOPIC, cloud_event(placed.model_copy(update={"lines": [line]}), order_id))
    records = await read_topic(
        platform.broker.bootstrap,
        f"{ORDERS_TOPIC}.dlq",
        lambda rs: any(r.key == order_id.encode() and _group(r) == b"catalogue.orders" for r in rs),
        timeout_s=30,
    )
    # Every group that reads orders.events refuses it alike (finance too); catalogue's letter is the one here.
    headers = dict(next(r for r in records if r.key == order_id.encode() and _group(r) == b"catalogue.orders").headers)
    assert b"listing_id" in headers["x-error-message"]
    assert await reservation_status(platform, order_id) is None
    assert await stock(platform, listing["id"]) == (5, 0)


async def test_an_unknown_listing_id_valid_per_contract_is_answered_with_stock_rejected(
    platform: Platform, seller: Seller
) -> None:
    """Every event passing its contract gets an answer: a 64-character, non-ASCII id that no listing has is
    an unknown listing (stock.rejected), on either database, never a dead letter."""
    order_id = f"unknown-{uuid.uuid4()}"
    unknown = ("é✓" * 32)[:64]
    await produce(platform, ORDERS_TOPIC, cloud_event(order_placed(order_id, (unknown, 1)), order_id))
    [answer] = await stock_events_for(platform, order_id)
    assert answer.type == stock_events.StockRejectedV1.TYPE
    rejected = stock_events.StockRejectedV1.from_event(answer)
    assert [(r.listing_id, r.reason) for r in rejected.lines] == [(unknown, "unknown_listing")]


async def test_a_cancel_that_overtakes_its_order_leaves_nothing_reserved(platform: Platform, seller: Seller) -> None:
    listing = await published_listing(platform, seller, on_hand=5)
    order_id = f"early-cancel-{uuid.uuid4()}"
    cancel = cloud_event(OrderCancelledV1(order_id=order_id, occurred_at=utcnow(), reason="buyer"), order_id)
    placed = cloud_event(order_placed(order_id, (listing["id"], 2)), order_id)
    marker = f"marker-{uuid.uuid4()}"
    # The marker shares the order's key, so its partition: once it is done, so are the two before it.
    await produce(
        platform, ORDERS_TOPIC, cancel, placed, cloud_event(order_placed(marker, (listing["id"], 1)), order_id)
    )

    async def marker_done() -> bool:
        return await reservation_status(platform, marker) == "reserved"

    await eventually(marker_done, what="the marker order")
    assert await reservation_status(platform, order_id) == "released"
    assert await stock(platform, listing["id"]) == (5, 1)
