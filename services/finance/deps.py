"""What finance's routes share: role guards and the app's configuration.

Roles: a seller creates, edits, submits and withdraws its own applications and reads only those (any
other is 404); a lender works the review queue and acts (a draft is 404 to it); ops reads everything
and acts on nothing. Every other role (marketplace, RDB officer, traveller app) is refused with 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.finance.config import FinanceConfig
from services.finance.schemas import ApplicationOut
from shared.auth import Role, require_roles

seller = require_roles(Role.SELLER)
lender = require_roles(Role.LENDER)
readers = require_roles(Role.SELLER, Role.LENDER, Role.OPS)
staff = require_roles(Role.LENDER, Role.OPS)

#: Every area's routes live under this prefix (the gateway routes `/v1/finance` here).
PREFIX = "/v1/finance"


def _config(request: Request) -> FinanceConfig:
    config = request.app.state.finance_config
    assert isinstance(config, FinanceConfig)
    return config


ConfigDep = Annotated[FinanceConfig, Depends(_config)]


def location(model: object) -> str:
    assert isinstance(model, ApplicationOut)
    return f"{PREFIX}/applications/{model.id}"
