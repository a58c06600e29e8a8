from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class CatalogueSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOGUE_", extra="ignore")

    service_name: str = "catalogue"
    database_url: str = "sqlite+aiosqlite:///.data/catalogue.db"
    #: How long change-log rows (upserts and tombstones) are kept; an older delta cursor gets 410 Gone.
    feed_retention_s: int = Field(default=30 * 24 * 3600, ge=60)
    #: How often the retention pruner runs; 0 disables it (tests prune explicitly).
    feed_prune_interval_s: float = Field(default=3600.0, ge=0)
    #: Rows per database round trip while streaming a snapshot (memory stays flat whatever the size).
    feed_chunk_size: int = Field(default=1000, ge=10, le=10_000)
    #: The landing page of a listing, GMC `link`; `{id}` is the listing id.
    listing_link_template: str = "https://ewtp.rw/listings/{id}"
    #: Currencies in which each listing shows an indicative price (ISO 4217).
    display_currencies: list[str] = Field(default_factory=lambda: ["CNY", "RWF"])
