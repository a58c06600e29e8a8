"""Admin API bodies. The subject rule lives here once, so the admin API and the CLI refuse the same input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from limits import parse_many
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from shared.auth import Role

__all__ = ["ROLES_WITH_SUBJECT", "ApiKeyCreate", "ApiKeyIssued", "ApiKeyOut", "ApiKeyUpdate", "check_rate_limit"]

#: Roles whose key is bound to one party: a seller id, a marketplace id, a traveller app id. Services
#: bind what such a key creates to that subject, never to the key, so every key of the party (after a
#: rotation too) sees the same things.
ROLES_WITH_SUBJECT = frozenset({Role.SELLER, Role.MARKETPLACE, Role.TRAVELLER_APP})

#: The subject travels in a signed header, so it is restricted to header-safe characters; and in the
#: events of what it owns (a marketplace's orders, an app's bookings: ids of at most 64 characters).
SubjectId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
#: A per-key limit in the `limits` syntax (`600/minute`, `10 per second`), or `0` for no limit at all.
RateLimitText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
#: The longest a key may be issued for: long-lived partner keys are rotated at least yearly.
MAX_LIFETIME = timedelta(days=3 * 366)


def check_rate_limit(value: str | None) -> str | None:
    """`value` if it is one valid rate limit (or `0`: unlimited), else ValueError; None stays None."""
    if value is None or value == "0":
        return value
    try:
        items = parse_many(value)
    except ValueError:
        items = []
    if len(items) != 1 or items[0].amount < 1:
        raise ValueError("must be one rate limit such as '600/minute', or '0' for no limit")
    return value


def check_expiry(value: datetime | None) -> datetime | None:
    """An expiry in the future and within `MAX_LIFETIME`; ValueError otherwise."""
    if value is None:
        return None
    now = datetime.now(UTC)
    if value <= now:
        raise ValueError("must be in the future")
    if value - now > MAX_LIFETIME:
        raise ValueError(f"must be within {MAX_LIFETIME.days} days")
    return value.astimezone(UTC)


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    role: Role
    subject_id: SubjectId | None = Field(
        default=None,
        validate_default=True,
        description=(
            "The seller id (role seller), marketplace id (role marketplace) or app id (role traveller_app);"
            " absent for other roles."
        ),
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the key stops working (with a UTC offset); absent: never."
    )
    rate_limit: RateLimitText | None = Field(
        default=None,
        description="This key's own rate limit ('600/minute'; '0': none), replacing its role's; absent: the role's.",
    )

    _rate_limit = field_validator("rate_limit", mode="after")(check_rate_limit)
    _expiry = field_validator("expires_at", mode="after")(check_expiry)

    @field_validator("subject_id", mode="after")
    @classmethod
    def _subject_matches_role(cls, value: str | None, info: ValidationInfo) -> str | None:
        role = info.data.get("role")
        if role is None:  # the role itself is invalid and reported on its own
            return value
        if role in ROLES_WITH_SUBJECT and value is None:
            raise ValueError(f"required for role {role.value}")
        if role not in ROLES_WITH_SUBJECT and value is not None:
            raise ValueError(
                f"not allowed for role {role.value}; only seller, marketplace and traveller_app keys have a subject"
            )
        return value


class ApiKeyUpdate(BaseModel):
    """PATCH body: change a key's expiry or its own rate limit (null: back to never / the role's)."""

    model_config = ConfigDict(extra="forbid")

    expires_at: AwareDatetime | None = None
    rate_limit: RateLimitText | None = None

    _rate_limit = field_validator("rate_limit", mode="after")(check_rate_limit)
    _expiry = field_validator("expires_at", mode="after")(check_expiry)


class ApiKeyOut(BaseModel):
    id: str
    name: str
    role: Role
    subject_id: str | None
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = None
    rate_limit: str | None = None
    #: To within the gateway's `last_used_flush_s`: use is recorded in memory and written in batches.
    last_used_at: datetime | None = None


class ApiKeyIssued(ApiKeyOut):
    #: The whole key. Returned once, at creation; the gateway keeps only a hash of its secret.
    key: str
