"""What the logistics areas share: the event source, who owns a resource."""

from __future__ import annotations

from decimal import Decimal

from shared.auth import Identity, Role
from shared.outbox import EventSource

__all__ = ["EVENTS", "decimal_text", "owner_of", "sees_all", "weight_text"]

#: The logistics service's events (CloudEvents `source`), published through the outbox.
EVENTS = EventSource("/ewtp/logistics")


def owner_of(identity: Identity) -> str:
    """Who a quote belongs to: the seller or marketplace the key is bound to (every key of that
    party reads it), else the key's principal."""
    return f"{identity.role.value}:{identity.subject or identity.principal}"


def sees_all(identity: Identity) -> bool:
    return identity.role is Role.OPS


def decimal_text(value: Decimal) -> str:
    """A decimal as plain digits (never exponent notation)."""
    return format(value, "f")


def weight_text(value: Decimal) -> str:
    """A weight or volume without trailing zeros (`82.00` → `82`, `14.50` → `14.5`)."""
    return format(value.normalize(), "f")
