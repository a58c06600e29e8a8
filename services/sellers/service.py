"""Sellers use cases. Each command runs inside the one transaction its caller owns and only flushes."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.sellers.domain import REASON_REQUIRED, Decision, District, SellerStatus, next_status
from services.sellers.models import Seller, SellerDocument, SellerSector, SellerStatusChange
from services.sellers.repository import SellerReads, SellerRepository
from services.sellers.schemas import (
    NAEB_REQUIRED,
    DecisionIn,
    DocumentCreate,
    DocumentOut,
    HistoryOut,
    SellerCreate,
    SellerOut,
    SellerUpdate,
    StatusChangeOut,
    needs_naeb,
)
from shared.auth import Identity, Role, ensure_seller_access
from shared.contracts import sellers as events
from shared.db import Database, utcnow
from shared.errors import Conflict, NotFound, invalid_field
from shared.outbox import EventSource
from shared.pagination import Page, cursor_datetime, cursor_id, decode_cursor, fetch_size, keyset_page

EVENTS = EventSource("/ewtp/sellers")
#: Roles that see and manage every seller.
STAFF = frozenset({Role.OPS, Role.RDB_OFFICER})

_DECISION_EVENTS: dict[Decision, type[events._SellerTransition]] = {
    Decision.VERIFY: events.SellerVerifiedV1,
    Decision.REJECT: events.SellerRejectedV1,
    Decision.SUSPEND: events.SellerSuspendedV1,
    Decision.REINSTATE: events.SellerReinstatedV1,
}


def seller_out(seller: Seller) -> SellerOut:
    return SellerOut.model_validate(
        {
            **{c: getattr(seller, c) for c in SellerOut.model_fields if c != "sectors"},
            "sectors": [s.sector for s in seller.sectors],
        }
    )


async def _load(repo: SellerRepository, seller_id: str, identity: Identity, staff: frozenset[Role] = STAFF) -> Seller:
    ensure_seller_access(identity, seller_id, staff=staff)
    seller = await repo.get(seller_id)
    if seller is None:
        raise NotFound(f"Seller {seller_id} does not exist.")
    return seller


async def register(session: AsyncSession, body: SellerCreate, identity: Identity) -> SellerOut:
    repo = SellerRepository(session)
    if await repo.tin_taken(body.tin):
        raise Conflict(f"A seller with TIN {body.tin} is already registered.")
    now = utcnow()
    seller = Seller(
        id=str(uuid.uuid4()),
        legal_name=body.legal_name,
        tin=body.tin,
        district=body.district.value,
        contact_email=str(body.contact_email),
        contact_phone=body.contact_phone,
        naeb_registration_number=body.naeb_registration_number,
        status=SellerStatus.PENDING_VERIFICATION.value,
        version=1,
        created_at=now,
        updated_at=now,
        sectors=[SellerSector(sector=s.value) for s in sorted(set(body.sectors))],
    )
    await repo.add(seller)
    await repo.add_history(
        SellerStatusChange(
            seller_id=seller.id,
            from_status=None,
            to_status=seller.status,
            actor=identity.actor,
            reason="registered",
            at=now,
        )
    )
    await EVENTS.publish(
        session,
        events.SellerRegisteredV1(
            seller_id=seller.id,
            legal_name=seller.legal_name,
            status=seller.status,
            occurred_at=now,
            tin=seller.tin,
            sectors=[s.sector for s in seller.sectors],
            district=seller.district,
        ),
        subject=seller.id,
    )
    return seller_out(seller)


async def update_profile(session: AsyncSession, seller_id: str, body: SellerUpdate, identity: Identity) -> SellerOut:
    repo = SellerRepository(session)
    # Only the seller itself or ops edit a profile; an RDB officer decides, it does not edit.
    seller = await _load(repo, seller_id, identity, staff=frozenset({Role.OPS}))
    # Only the fields sent; PatchModel already refused a null for any field but the NAEB number.
    changes = body.changes()
    sectors = changes.pop("sectors", None)
    naeb = changes.get("naeb_registration_number", seller.naeb_registration_number)
    effective_sectors = sectors if sectors is not None else [s.sector for s in seller.sectors]
    if needs_naeb(effective_sectors) and not naeb:
        raise invalid_field("naeb_registration_number", NAEB_REQUIRED)
    for field, value in changes.items():
        setattr(seller, field, value.value if isinstance(value, District) else value)
    if sectors is not None:
        await repo.replace_sectors(seller, [str(s) for s in sectors])
    seller.updated_at = utcnow()
    seller.version += 1
    await session.flush()
    return seller_out(seller)


async def decide(
    session: AsyncSession, seller_id: str, decision: Decision, body: DecisionIn, identity: Identity
) -> SellerOut:
    if decision in REASON_REQUIRED and not body.reason:
        raise invalid_field("reason", f"required to {decision.value}")
    repo = SellerRepository(session)
    seller = await _load(repo, seller_id, identity)
    current = SellerStatus(seller.status)
    target = next_status(current, decision)
    now = utcnow()
    if not await repo.set_status(seller, current.value, target.value, now):
        raise Conflict("The seller's status changed meanwhile; reload and decide again.")
    await repo.add_history(
        SellerStatusChange(
            seller_id=seller.id,
            from_status=current.value,
            to_status=target.value,
            actor=identity.actor,
            reason=body.reason,
            at=now,
        )
    )
    event_type = _DECISION_EVENTS[decision]
    await EVENTS.publish(
        session,
        event_type(
            seller_id=seller.id,
            legal_name=seller.legal_name,
            status=target.value,
            occurred_at=now,
            actor=identity.actor,
            reason=body.reason,
        ),
        subject=seller.id,
    )
    return seller_out(seller)


async def add_document(session: AsyncSession, seller_id: str, body: DocumentCreate, identity: Identity) -> DocumentOut:
    repo = SellerRepository(session)
    await _load(repo, seller_id, identity)
    document = SellerDocument(
        id=str(uuid.uuid4()),
        seller_id=seller_id,
        type=body.type.value,
        origin_certificate_type=body.origin_certificate_type.value if body.origin_certificate_type else None,
        number=body.number,
        issued_on=body.issued_on,
        expires_on=body.expires_on,
        created_at=utcnow(),
    )
    await repo.add_document(document)
    return DocumentOut.model_validate(document, from_attributes=True)


async def get(session: AsyncSession, seller_id: str, identity: Identity) -> SellerOut:
    return seller_out(await _load(SellerRepository(session), seller_id, identity))


async def read(db: Database, seller_id: str, identity: Identity) -> SellerOut:
    """`get` on the hot path: one Core read, straight into the response model."""
    ensure_seller_access(identity, seller_id, staff=STAFF)
    found = await SellerReads(db).get(seller_id)
    if found is None:
        raise NotFound(f"Seller {seller_id} does not exist.")
    return SellerOut.model_validate(found)


async def documents(session: AsyncSession, seller_id: str, identity: Identity) -> list[DocumentOut]:
    repo = SellerRepository(session)
    await _load(repo, seller_id, identity)
    return [DocumentOut.model_validate(d, from_attributes=True) for d in await repo.documents(seller_id)]


async def history(session: AsyncSession, seller_id: str, identity: Identity) -> HistoryOut:
    repo = SellerRepository(session)
    await _load(repo, seller_id, identity)
    return HistoryOut(
        items=[StatusChangeOut.model_validate(h, from_attributes=True) for h in await repo.history(seller_id)]
    )


async def search(
    db: Database,
    identity: Identity,
    *,
    limit: int,
    cursor: str | None,
    status: SellerStatus | None,
    sector: str | None,
    district: str | None,
    name: str | None,
) -> Page[SellerOut]:
    after = None
    if cursor:
        position = decode_cursor(cursor, ("t", "id"))
        after = (cursor_datetime(position["t"]), cursor_id(position["id"]))
    # A seller key lists only its own account.
    only_id = identity.subject if identity.role is Role.SELLER else None
    found = await SellerReads(db).search(
        limit=fetch_size(limit),
        after=after,
        status=status.value if status else None,
        sector=sector,
        district=district,
        name=name,
        only_id=only_id,
    )
    sellers, next_cursor = keyset_page(found, limit, lambda s: {"t": s["created_at"].isoformat(), "id": s["id"]})
    return Page[SellerOut](items=[SellerOut.model_validate(s) for s in sellers], next_cursor=next_cursor)
