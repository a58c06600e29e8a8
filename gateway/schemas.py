"""Admin API bodies. The subject rule lives here once, so the admin API and the CLI refuse the same input."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from shared.auth import Role

__all__ = ["ROLES_WITH_SUBJECT", "ApiKeyCreate", "ApiKeyIssued", "ApiKeyOut"]

#: Roles whose key is bound to one seller or one marketplace id.
ROLES_WITH_SUBJECT = frozenset({Role.SELLER, Role.MARKETPLACE})

#: The subject travels in a signed header, so it is restricted to header-safe characters.
SubjectId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,100}$")]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    role: Role
    subject_id: SubjectId | None = Field(
        default=None,
        validate_default=True,
        description="The seller id (role seller) or marketplace id (role marketplace); absent for other roles.",
    )

    @field_validator("subject_id", mode="after")
    @classmethod
    def _subject_matches_role(cls, value: str | None, info: ValidationInfo) -> str | None:
        role = info.data.get("role")
        if role is None:  # the role itself is invalid and reported on its own
            return value
        if role in ROLES_WITH_SUBJECT and value is None:
            raise ValueError(f"required for role {role.value}")
        if role not in ROLES_WITH_SUBJECT and value is not None:
            raise ValueError(f"not allowed for role {role.value}; only seller and marketplace keys have a subject")
        return value


class ApiKeyOut(BaseModel):
    id: str
    name: str
    role: Role
    subject_id: str | None
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyIssued(ApiKeyOut):
    #: The whole key. Returned once, at creation; the gateway keeps only a hash of its secret.
    key: str
