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
    #: How long a gateway signature stays valid (either side of our clock): clocks are NTP-synced and
    #: the gateway signs just before sending, so 30 s covers skew while keeping the replay window short.
    signature_max_age_s: int = Field(default=30, ge=1)
    #: Fallback poll period of the outbox relay; it is normally woken right after commit.
    outbox_poll_interval_s: float = Field(default=1.0, gt=0)
    #: How long the broker may hold a consumer's fetch when it has no records. Tansu answers a fetch
    #: only when this wait ends, so it is the floor of every event hop; 10 ms costs an idle consumer
    #: ~100 small requests a second (aiokafka's 500 ms default made a four-hop saga wait seconds).
    consumer_fetch_max_wait_ms: int = Field(default=10, ge=0, le=60_000)
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_backoff_base_s: float = Field(default=0.05, ge=0)
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    run_migrations: bool = True
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_dev_secret_outside_development(self) -> ServiceSettings:
        if self.environment != "development" and DEV_SIGNING_SECRET in {
            s.get_secret_value() for s in (self.signing_secret, self.signing_secret_previous) if s is not None
        }:
            raise ValueError("signing_secret must be set outside the development environment")
        return self

    #: During a rotation: the secret being retired, still accepted (never used to sign) until every
    #: gateway signs with the new `signing_secret`. Unset outside a rotation.
    signing_secret_previous: SecretStr | None = None

    def verification_secrets(self) -> tuple[bytes, ...]:
        """Secrets a signature may be made with: the current one, then the previous one in a rotation."""
        secrets = [self.signing_secret.get_secret_value().encode()]
        if self.signing_secret_previous is not None and self.signing_secret_previous.get_secret_value():
            secrets.append(self.signing_secret_previous.get_secret_value().encode())
        return tuple(secrets)
