"""Places and Incoterms: what a quote request must name, and which modes its Incoterm allows.

Guarantee: a location is a well-formed UN/LOCODE (ASCII only), an Incoterm is one of the 11 rules of
Incoterms 2020, and FAS/FOB/CFR/CIF are offered for sea only; anything else is a 422 naming the field
(`InvalidQuoteRequest`), before any price is computed.
"""

from __future__ import annotations

import re
from enum import StrEnum

from services.logistics.config import Mode
from shared.errors import UnprocessableContent

__all__ = [
    "MODES",
    "MODE_RANK",
    "SEA_ONLY_INCOTERMS",
    "Incoterm",
    "InvalidQuoteRequest",
    "check_locode",
    "modes_for_incoterm",
    "parse_incoterm",
]


class InvalidQuoteRequest(UnprocessableContent):
    """A quote request that breaks a domain rule (422); nothing is computed or written."""


#: UN/LOCODE: ISO 3166 alpha-2 country + 3 characters from A-Z and 2-9 (0 and 1 are not used, so
#: they cannot be confused with O and I). ASCII only: `\d` would accept other scripts' digits.
_LOCODE = re.compile(r"[A-Z]{2}[A-Z2-9]{3}")


def check_locode(value: str, name: str = "location") -> str:
    if not _LOCODE.fullmatch(value):
        raise InvalidQuoteRequest(
            f"{name} must be a UN/LOCODE such as RWKGL",
            errors=[{"field": name, "reason": "not a UN/LOCODE (2 letters + 3 of A-Z, 2-9)"}],
        )
    return value


class Incoterm(StrEnum):
    """The 11 Incoterms 2020 rules (DPU replaced DAT)."""

    EXW = "EXW"
    FCA = "FCA"
    CPT = "CPT"
    CIP = "CIP"
    DAP = "DAP"
    DPU = "DPU"
    DDP = "DDP"
    FAS = "FAS"
    FOB = "FOB"
    CFR = "CFR"
    CIF = "CIF"


#: Sea and inland waterway only; a landlocked Kigali shipment by air or road uses FCA/CPT/CIP/DAP/DDP.
SEA_ONLY_INCOTERMS = frozenset({Incoterm.FAS, Incoterm.FOB, Incoterm.CFR, Incoterm.CIF})


def parse_incoterm(text: str) -> Incoterm:
    try:
        return Incoterm(text)
    except ValueError:
        raise InvalidQuoteRequest(
            f"{text!r} is not an Incoterms 2020 rule",
            errors=[{"field": "incoterm", "reason": "one of " + ", ".join(Incoterm)}],
        ) from None


#: Enum iteration is slow on the hot path; the order is the declaration order (air, sea, road, courier).
MODES = tuple(Mode)
MODE_RANK = {m: i for i, m in enumerate(MODES)}


def modes_for_incoterm(incoterm: Incoterm, requested: Mode | None = None) -> tuple[Mode, ...]:
    """The modes a quote may offer under `incoterm`; a requested mode the term forbids is a 422."""
    allowed = (Mode.SEA,) if incoterm in SEA_ONLY_INCOTERMS else MODES
    if requested is None:
        return allowed
    if requested not in allowed:
        raise InvalidQuoteRequest(
            f"{incoterm.value} applies to sea freight only, not {requested.value}",
            errors=[{"field": "incoterm", "reason": f"{incoterm.value} is for sea only"}],
        )
    return (requested,)
