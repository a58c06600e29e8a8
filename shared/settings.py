"""Typed settings shared by every service: one env prefix per service (`SELLERS_`, `CATALOGUE_`...)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEV_SIGNING_SECRET", "ServiceSettings"]

#: Used by `make run` and the tests only; refused outside the `development` environment.
DEV_SIGNING_SECRET = "dev-only-signing-secret-change-me"


class ServiceSettings(BaseSettings):
    """Base settings; a service subclasses it and sets its own `env_prefix`."""

    model_config = SettingsConfigDict(env_prefix="EWTP_", extra="ignore")

    service_name: str = "service"
    environment: str = "development"
    database_url: str = "sqlite+aiosqlite:///.data/service.db"
    kafka_bootstrap: str = "127.0.0.1:9092"
    signing_secret: SecretStr = SecretStr(DEV_SIGNING_SECRET)
    #: Accepted clock skew between the gateway's signature timestamp and ours.
    signature_max_age_s: int = Field(default=300, ge=1)
    #: Fallback poll period of the outbox relay; it is normally woken right after commit.
    outbox_poll_interval_s: float = Field(default=1.0, gt=0)
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_backoff_base_s: float = Field(default=0.05, ge=0)
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    run_migrations: bool = True
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_dev_secret_outside_development(self) -> ServiceSettings:
        if self.environment != "development" and self.signing_secret.get_secret_value() == DEV_SIGNING_SECRET:
            raise ValueError("signing_secret must be set outside the development environment")
        return self
