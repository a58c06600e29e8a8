from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class LogisticsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LOGISTICS_", extra="ignore")

    service_name: str = "logistics"
    database_url: str = "sqlite+aiosqlite:///.data/logistics.db"
    #: Insert the seed rate cards (services/logistics/seed.py) at start-up when they are missing.
    seed_rate_cards: bool = True
    #: How often a replica checks whether another replica changed the rate cards (its own changes
    #: invalidate its cache at once). 0 disables the check (a single replica needs none).
    rate_card_refresh_s: float = Field(default=2.0, ge=0)
