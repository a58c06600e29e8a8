"""Who may call what: one table of role × route group × access, enforced before anything is forwarded.

Guarantees:
- A request with a valid key reaches a service (or the admin API) only if its role is in the table's
  cell for the request's route group and access (read: GET, HEAD, OPTIONS; write: POST, PUT, PATCH,
  DELETE). Otherwise the gateway answers 403 problem+json itself: the service never sees the request
  and no body is read (the request still counts against the key's rate limit, which sits outside).
- The table is coarse on purpose: it says which route groups a role needs at all. Services still
  decide ownership (a seller only its own listings, a marketplace only its own orders: 404 for
  another's) and the finer role rules inside a group (only an RDB officer verifies a seller).
- A route group is a public prefix of `gateway.routing.PREFIXES` (or `/v1/admin`), optionally
  narrowed by a third segment (`/v1/logistics/quotes`): the most specific entry wins, so a sub-group
  states its whole rule rather than adding to its parent's.
- A path under no group is not decided here: it falls through to routing, which answers 404.

Why each role has what it has (DESIGN.md, issues 10–13):
- ops: everything (operates the platform; services refuse what ops may not do, e.g. finance decisions).
- rdb_officer: sellers (registers and verifies exporters), reads the public catalogue and the
  export-opportunity insights.
- seller: its own profile, documents and listings, its stock; reads orders of its listings and the
  demand insights; landed-cost quotes; finance applications; logistics quotes (asks for them, reads
  shipments).
- marketplace: reads the catalogue and the feed; places, reads and cancels its orders; asks for
  logistics quotes for them and reads their shipments.
- lender: finance (review queue, decisions, disbursement, repayments, portfolio); reads the catalogue.
- traveller_app: the tourism store (offers, availability, holds, bookings); reads the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.auth import Role
from shared.errors import Forbidden, problem_response

__all__ = [
    "ADMIN_PREFIX",
    "RULES",
    "Access",
    "AuthorizationMiddleware",
    "Rule",
    "access_of",
    "allowed",
    "route_group",
]

ADMIN_PREFIX = "/v1/admin"


class Access(StrEnum):
    READ = "read"
    WRITE = "write"


_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def access_of(method: str) -> Access:
    """Read for safe methods; anything else (POST, PUT, PATCH, DELETE, unknown verbs) is a write."""
    return Access.READ if method in _READ_METHODS else Access.WRITE


@dataclass(frozen=True, slots=True)
class Rule:
    """The roles allowed to read and to write one route group."""

    read: frozenset[Role]
    write: frozenset[Role]

    def roles(self, access: Access) -> frozenset[Role]:
        return self.read if access is Access.READ else self.write


def _rule(read: set[Role], write: set[Role] | None = None) -> Rule:
    # ops is in every cell: it runs the platform, and the services keep their own finer rules.
    return Rule(read=frozenset(read | {Role.OPS}), write=frozenset((write or set()) | {Role.OPS}))


ALL = set(Role)
OPS, RDB, SELLER, MARKET, LENDER, APP = (
    Role.OPS,
    Role.RDB_OFFICER,
    Role.SELLER,
    Role.MARKETPLACE,
    Role.LENDER,
    Role.TRAVELLER_APP,
)

#: THE authorization table: route group → who reads, who writes. One place, read top to bottom.
RULES: dict[str, Rule] = {
    # sellers: RDB officers register and decide; a seller edits its own profile and documents.
    "/v1/sellers": _rule(read={RDB, SELLER}, write={RDB, SELLER}),
    # catalogue: anyone with a key reads what is on sale; sellers manage their listings and stock.
    "/v1/listings": _rule(read=ALL, write={SELLER}),
    "/v1/categories": _rule(read=ALL),
    # the marketplace feed (snapshot and deltas) is for marketplaces only.
    "/v1/feeds": _rule(read={MARKET}),
    # orders: marketplaces place and cancel their own; a seller reads orders of its listings.
    "/v1/orders": _rule(read={MARKET, SELLER}, write={MARKET}),
    # a landed-cost quote for a Chinese buyer places nothing: marketplaces and sellers pricing for China.
    "/v1/orders/landed-cost": _rule(read={MARKET, SELLER}, write={MARKET, SELLER}),
    # export-opportunity insights: for sellers (their own share included) and RDB, which promotes exports.
    "/v1/insights": _rule(read={SELLER, RDB}),
    # trade finance: sellers apply, lenders review and act.
    "/v1/finance": _rule(read={SELLER, LENDER}, write={SELLER, LENDER}),
    # logistics: rate cards, shipments and tracking are written by ops (carriers use an ops key);
    # sellers and marketplaces read shipments and rate cards ...
    "/v1/logistics": _rule(read={SELLER, MARKET}),
    # ... and ask for quotes (a marketplace puts the chosen quote on its order).
    "/v1/logistics/quotes": _rule(read={SELLER, MARKET}, write={SELLER, MARKET}),
    # the Rwanda Tourism Store: traveller apps search, hold, confirm and cancel.
    "/v1/tourism": _rule(read={APP}, write={APP}),
    # the gateway's own admin API (API keys).
    ADMIN_PREFIX: _rule(read=set()),
}

#: Two-segment groups that have sub-groups, so the common case is one dict lookup.
_HAS_SUBGROUPS = frozenset(prefix.rsplit("/", 1)[0] for prefix in RULES if prefix.count("/") == 3)


def route_group(path: str) -> str | None:
    """The most specific group of `path` (exact segments: `/v1/sellersX` is in no group)."""
    parts = path.split("/", 4)
    if len(parts) < 3 or parts[0]:
        return None
    group = f"/{parts[1]}/{parts[2]}"
    if group not in RULES:
        return None
    if len(parts) > 3 and group in _HAS_SUBGROUPS:
        sub = f"{group}/{parts[3]}"
        if sub in RULES:
            return sub
    return group


def allowed(role: Role, method: str, path: str) -> bool | None:
    """Whether `role` may call `method path`; None when no group owns the path (routing answers)."""
    group = route_group(path)
    if group is None:
        return None
    return role in RULES[group].roles(access_of(method))


class AuthorizationMiddleware:
    """After authentication and the rate limit: 403 for a principal whose role the table does not allow."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            principal = scope.get("state", {}).get("principal")
            if principal is not None:
                method, path = scope["method"], scope["path"]
                if allowed(principal.role, method, path) is False:
                    group = route_group(path)
                    detail = (
                        f"A {principal.role.value} key may not {access_of(method).value} {group}; "
                        "ask ops for a key with the right role."
                    )
                    await problem_response(Forbidden(detail), path)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
