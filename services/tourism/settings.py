"""Tourism settings (env prefix `TOURISM_`): the figures the rules depend on, and the sweeper's pace."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.tourism.config import TourismFigures
from shared.settings import ServiceSettings


class TourismSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TOURISM_", extra="ignore")

    service_name: str = "tourism"
    database_url: str = "sqlite+aiosqlite:///.data/tourism.db"
    #: Seed the Rwanda Tourism Store's starting offers at start-up (an existing offer is left as it is).
    seed_offers: bool = True
    #: How often the sweeper looks for expired holds. Expired holds never block capacity meanwhile
    #: (a hold that needs their places reclaims them), so this only bounds how late `booking.expired` is.
    sweep_interval_s: float = Field(default=1.0, gt=0)
    #: How many expired holds one sweeper pass releases at most.
    sweep_batch: int = Field(default=500, ge=1)
    # --- figures (services/tourism/config.py says where each comes from) -------------------------
    hold_ttl_s: int = Field(default=600, ge=1)
    hold_ttl_max_s: int = Field(default=1800, ge=1)
    gorilla_groups: int = Field(default=12, ge=0)
    gorilla_visitors_per_group: int = Field(default=8, ge=1)
    gorilla_price_foreign_non_resident: Decimal = Decimal("1500")
    min_days_ahead: int = Field(default=1, ge=0)
    max_days_ahead: int = Field(default=730, ge=1)
    name_changes_allowed: int = Field(default=2, ge=0)
    name_change_min_days_before: int = Field(default=1, ge=0)
    reschedule_min_days_before: int = Field(default=30, ge=0)

    def figures(self) -> TourismFigures:
        return TourismFigures(
            hold_ttl=timedelta(seconds=self.hold_ttl_s),
            hold_ttl_max=timedelta(seconds=self.hold_ttl_max_s),
            gorilla_groups=self.gorilla_groups,
            gorilla_visitors_per_group=self.gorilla_visitors_per_group,
            gorilla_price_foreign_non_resident=self.gorilla_price_foreign_non_resident,
            min_days_ahead=self.min_days_ahead,
            max_days_ahead=self.max_days_ahead,
            name_changes_allowed=self.name_changes_allowed,
            name_change_min_days_before=self.name_change_min_days_before,
            reschedule_min_days_before=self.reschedule_min_days_before,
        )
