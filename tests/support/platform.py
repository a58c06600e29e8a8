"""The whole platform for end-to-end tests: real broker, every service and the gateway on real ports.

Each service and the gateway run on their own database (SQLite files, or PostgreSQL databases when
`EWTP_TEST_DB=postgres`). Tests call only the gateway, with API keys made through the gateway.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from shared.auth import Role
from shared.db import Database
from shared.registry import registered_services, service
from shared.settings import DEV_SIGNING_SECRET, ServiceSettings
from tests.support.broker import TansuBroker, free_port
from tests.support.databases import Databases
from tests.support.servers import ServerThread

SECRET = DEV_SIGNING_SECRET
ROLES = [role.value for role in Role]

#: The upstreams the gateway knows by name; one not registered is left empty (the gateway answers 503).
GATEWAY_UPSTREAMS = ("sellers", "catalogue", "orders", "finance", "logistics", "tourism")


def service_settings(name: str, database_url: str, bootstrap: str, **overrides: Any) -> ServiceSettings:
    return service(name).settings(
        database_url=database_url,
        kafka_bootstrap=bootstrap,
        signing_secret=SECRET,
        outbox_poll_interval_s=0.5,
        consumer_backoff_base_s=0.01,
        consumer_max_attempts=3,
        log_level="WARNING",
        **overrides,
    )


@dataclass
class Platform:
    broker: TansuBroker
    databases: Databases
    tmp: Path
    servers: dict[str, ServerThread] = field(default_factory=dict)
    gateway: ServerThread | None = None
    keys: dict[str, str] = field(default_factory=dict)
    gateway_db_url: str = ""
    urls: dict[str, str] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    @asynccontextmanager
    async def db(self, name: str) -> AsyncIterator[Database]:
        """A connection to a service's database for the test's own event loop.

        The service's own engine belongs to the server thread's loop; asyncpg connections cannot
        cross loops, so tests that look into a database open their own engine.
        """
        database = Database(self.urls[name])
        try:
            yield database
        finally:
            await database.dispose()

    def app(self, name: str) -> FastAPI:
        app = self.servers[name].server.config.app
        assert isinstance(app, FastAPI)
        return app

    def start(self) -> None:
        for definition in registered_services():
            name = definition.name
            self.urls[name] = self.databases.url(name)
            settings = service_settings(name, self.urls[name], self.broker.bootstrap)
            self.servers[name] = ServerThread(definition.create_app(settings), free_port()).start()
        self._start_gateway()

    def _start_gateway(self) -> None:
        from gateway.app import create_app
        from gateway.settings import GatewaySettings

        self.gateway_db_url = self.databases.url("gateway")
        upstreams = {f"{name}_url": server.url for name, server in self.servers.items()}
        for missing in GATEWAY_UPSTREAMS:
            upstreams.setdefault(f"{missing}_url", "")
        # Rate limits have their own tests (tests/gateway); here they would only make tests order-dependent.
        no_limits = {f"rate_limit_{role}": "0" for role in ROLES}
        # Timeouts have their own tests too; here a loaded CI machine must not turn a slow write into a 504.
        settings = GatewaySettings(
            database_url=self.gateway_db_url,
            signing_secret=SECRET,
            log_level="WARNING",
            upstream_write_timeout_s=120,
            upstream_timeout_s=120,
            **upstreams,
            **no_limits,
        )
        self.gateway = ServerThread(create_app(settings), free_port()).start()
        self.keys["ops"] = bootstrap_ops_key(self.gateway_db_url)
        for role, subject in (
            ("rdb_officer", None),
            ("marketplace", "mkt-tmall-global"),
            ("lender", None),
            ("traveller_app", "app-visit-rwanda"),
        ):
            self.keys[role] = self.issue_key(role, subject)

    def issue_key(self, role: str, subject: str | None = None) -> str:
        """A new API key, issued the way ops issue them: through the gateway's admin API."""
        response = httpx.post(
            f"{self.gateway_url}/v1/admin/api-keys",
            json={"name": f"test {role} {subject or ''}".strip(), "role": role, "subject_id": subject},
            headers={"Authorization": f"Bearer {self.keys['ops']}"},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["key"])

    def client(self, key: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=self.gateway_url, headers=headers, timeout=30)

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
        for server in self.servers.values():
            server.stop()


def bootstrap_ops_key(gateway_db_url: str) -> str:
    """The first ops key, made directly in the gateway's key store (as `make run` and the CLI do)."""
    from gateway.keys import create_key_sync

    return create_key_sync(gateway_db_url, name="test ops", role="ops")
