from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class SellersSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SELLERS_", extra="ignore")

    service_name: str = "sellers"
    database_url: str = "sqlite+aiosqlite:///.data/sellers.db"
