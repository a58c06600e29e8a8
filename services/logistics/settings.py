from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class LogisticsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LOGISTICS_", extra="ignore")

    service_name: str = "logistics"
    database_url: str = "sqlite+aiosqlite:///.data/logistics.db"
    #: Insert the seed rate cards (services/logistics/seed.py) at start-up when they are missing.
    seed_rate_cards: bool = True
