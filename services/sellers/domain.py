"""Seller rules that need no database: sectors, districts, documents and the verification machine."""

from __future__ import annotations

from enum import StrEnum

from shared.state_machine import StateMachine


class Sector(StrEnum):
    COFFEE = "coffee"
    TEA = "tea"
    HANDICRAFTS = "handicrafts"
    HORTICULTURE = "horticulture"
    OTHER = "other"


#: Sectors regulated by NAEB: a seller in one of them must give its NAEB registration number.
NAEB_SECTORS = frozenset({Sector.COFFEE, Sector.TEA})


class District(StrEnum):
    """Rwanda's 30 districts."""

    NYARUGENGE = "nyarugenge"
    GASABO = "gasabo"
    KICUKIRO = "kicukiro"
    BURERA = "burera"
    GAKENKE = "gakenke"
    GICUMBI = "gicumbi"
    MUSANZE = "musanze"
    RULINDO = "rulindo"
    GISAGARA = "gisagara"
    HUYE = "huye"
    KAMONYI = "kamonyi"
    MUHANGA = "muhanga"
    NYAMAGABE = "nyamagabe"
    NYANZA = "nyanza"
    NYARUGURU = "nyaruguru"
    RUHANGO = "ruhango"
    BUGESERA = "bugesera"
    GATSIBO = "gatsibo"
    KAYONZA = "kayonza"
    KIREHE = "kirehe"
    NGOMA = "ngoma"
    NYAGATARE = "nyagatare"
    RWAMAGANA = "rwamagana"
    KARONGI = "karongi"
    NGORORERO = "ngororero"
    NYABIHU = "nyabihu"
    NYAMASHEKE = "nyamasheke"
    RUBAVU = "rubavu"
    RUSIZI = "rusizi"
    RUTSIRO = "rutsiro"


class DocumentType(StrEnum):
    RDB_CERTIFICATE = "rdb_certificate"
    NAEB_REGISTRATION = "naeb_registration"
    NAEB_QUALITY_CERTIFICATE = "naeb_quality_certificate"
    CERTIFICATE_OF_ORIGIN = "certificate_of_origin"
    PHYTOSANITARY = "phytosanitary"
    S_MARK = "s_mark"
    OTHER = "other"


class OriginCertificateType(StrEnum):
    """Certificate-of-origin types issued on Rwanda's Electronic Single Window."""

    EAC_SIMPLIFIED = "eac_simplified"
    RWANDA_GSP = "rwanda_gsp"
    EUR1 = "eur1"
    EXPORT_TO_CHINA = "coo_export_to_china"
    GENERAL = "general_rwanda"


class SellerStatus(StrEnum):
    PENDING_VERIFICATION = "pending_verification"
    VERIFIED = "verified"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class Decision(StrEnum):
    VERIFY = "verify"
    REJECT = "reject"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"


#: decision → (states it may start from, state it leads to)
LIFECYCLE: StateMachine[Decision, SellerStatus] = StateMachine(
    "seller",
    {
        Decision.VERIFY: (frozenset({SellerStatus.PENDING_VERIFICATION}), SellerStatus.VERIFIED),
        Decision.REJECT: (frozenset({SellerStatus.PENDING_VERIFICATION}), SellerStatus.REJECTED),
        Decision.SUSPEND: (frozenset({SellerStatus.VERIFIED}), SellerStatus.SUSPENDED),
        Decision.REINSTATE: (frozenset({SellerStatus.SUSPENDED}), SellerStatus.VERIFIED),
    },
)

#: Decisions that must say why.
REASON_REQUIRED = frozenset({Decision.REJECT, Decision.SUSPEND})


def next_status(current: SellerStatus, decision: Decision) -> SellerStatus:
    return LIFECYCLE.next(current, decision)
