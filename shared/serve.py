"""`python -m shared.serve <component>`: run one component (a registered service or `gateway`) in a container.

One image holds every component; the container's `COMPONENT` env (or the argument) picks which one
runs, on the port the registry gives it (DESIGN.md: gateway 8000, services 8001...). A component
never migrates at start-up here: `<PREFIX>_RUN_MIGRATIONS` defaults to false, because migrations run
once per release as their own step (`python -m shared.migrate <component>`), not in every replica.

`python -m shared.serve --healthcheck` is the image's HEALTHCHECK: GET /health/ready on the
component's port; exit 0 when it answers 200.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from shared.registry import registered_services
from shared.settings import ServiceSettings

__all__ = ["GATEWAY", "GATEWAY_PORT", "Component", "component", "component_names"]

GATEWAY = "gateway"
#: The gateway's port (DESIGN.md); the services' ports come from the registry.
GATEWAY_PORT = 8000
HEALTH_LIVE = "/health/live"
HEALTH_READY = "/health/ready"


@dataclass(frozen=True)
class Component:
    """What it takes to serve or migrate one component of the image."""

    name: str
    port: int
    settings: type[ServiceSettings]
    app_target: str
    migrations: Path

    @property
    def has_platform_tables(self) -> bool:
        """Services hold the outbox, inbox and idempotency tables (the `platform` branch); the gateway does not."""
        return self.name != GATEWAY

    @property
    def env_prefix(self) -> str:
        return f"{self.name.upper()}_"


def _gateway() -> Component:
    # By name, like the registry does for services: shared/ imports the gateway nowhere statically.
    settings = importlib.import_module("gateway.settings").GatewaySettings
    package = importlib.import_module("gateway")
    root = Path(next(iter(package.__path__)))
    return Component(GATEWAY, GATEWAY_PORT, settings, "gateway.app:create_app", root / "migrations")


def component_names() -> list[str]:
    return [GATEWAY, *(s.name for s in registered_services())]


def component(name: str) -> Component:
    if name == GATEWAY:
        return _gateway()
    for s in registered_services():
        if s.name == name:
            return Component(s.name, s.port, s.settings, s.app_target, s.migrations)
    raise SystemExit(f"unknown component {name!r}; one of: {', '.join(component_names())}")


def healthcheck(target: Component, timeout_s: float = 3.0) -> int:
    url = f"http://127.0.0.1:{target.port}{HEALTH_READY}"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - fixed local URL
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError):
        return 1


def serve(target: Component) -> None:
    import uvicorn

    os.environ.setdefault(f"{target.env_prefix}RUN_MIGRATIONS", "false")
    uvicorn.run(
        target.app_target,
        factory=True,
        host=os.environ.get("EWTP_HOST", "0.0.0.0"),  # noqa: S104 - a container listens on its pod address
        port=target.port,
        # Malformed requests get a problem+json 400 with a request id, not uvicorn's plain text.
        http="shared.http:ProblemHttpToolsProtocol",
        access_log=False,
        log_level=os.environ.get("EWTP_UVICORN_LOG_LEVEL", "warning"),
        # Kubernetes sends SIGTERM after the pod left the endpoints; finish in-flight requests.
        timeout_graceful_shutdown=20,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.serve", description=__doc__.splitlines()[0])
    parser.add_argument("component", nargs="?", default=os.environ.get("COMPONENT"), help="gateway or a service")
    parser.add_argument("--healthcheck", action="store_true", help="probe the running component and exit")
    args = parser.parse_args(argv)
    if not args.component:
        parser.error(f"name a component (or set COMPONENT): {', '.join(component_names())}")
    target = component(args.component)
    if args.healthcheck:
        sys.exit(healthcheck(target))
    serve(target)


if __name__ == "__main__":
    main()
