"""The service registry: every `services/<name>/app.py` that declares `SERVICE` is a service.

A new service is added by writing its folder; nothing else names it. The local runner
(`deploy/run_local.py`), the test platform (`tests/support/platform.py`), the migrations test and
the platform-contract test (`tests/platform/`) all iterate `registered_services()`. Lint follows
without a list: import-linter's independence contract covers `services.*` and mypy checks
`services` strictly.

Discovery imports `services.<name>.app` by name (importlib), so `shared/` still imports no service
statically; the dependency points from each service to this module, never back.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from shared.settings import ServiceSettings

__all__ = ["ServiceDefinition", "registered_services", "service"]

SERVICES_PACKAGE = "services"


@dataclass(frozen=True)
class ServiceDefinition:
    """What the platform needs to know to run, test and migrate a service."""

    #: The folder name under services/; also the env prefix (`<NAME>_DATABASE_URL`) and the gateway upstream.
    name: str
    #: The port of DESIGN.md for `make run`.
    port: int
    #: The service's settings class (env prefix `<NAME>_`).
    settings: type[ServiceSettings]
    #: The app factory; `create_app(settings)` (uvicorn: `services.<name>.app:create_app --factory`).
    create_app: Callable[[Any], FastAPI]

    @property
    def root(self) -> Path:
        return _services_root() / self.name

    @property
    def migrations(self) -> Path:
        return self.root / "migrations"

    @property
    def app_target(self) -> str:
        return f"{SERVICES_PACKAGE}.{self.name}.app:create_app"


def _services_root() -> Path:
    spec = importlib.util.find_spec(SERVICES_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the services package is not importable")
    return Path(next(iter(spec.submodule_search_locations)))


@cache
def registered_services() -> tuple[ServiceDefinition, ...]:
    """Every service folder with an `app.py`, ordered by port; each must declare `SERVICE`."""
    found: list[ServiceDefinition] = []
    for app_file in sorted(_services_root().glob("*/app.py")):
        name = app_file.parent.name
        module = importlib.import_module(f"{SERVICES_PACKAGE}.{name}.app")
        definition = getattr(module, "SERVICE", None)
        if not isinstance(definition, ServiceDefinition) or definition.name != name:
            raise RuntimeError(f"services/{name}/app.py must declare SERVICE = ServiceDefinition(name={name!r}, ...)")
        found.append(definition)
    ports = [d.port for d in found]
    if len(set(ports)) != len(ports):
        raise RuntimeError(f"two services share a port: {sorted(ports)}")
    return tuple(sorted(found, key=lambda d: d.port))


def service(name: str) -> ServiceDefinition:
    for definition in registered_services():
        if definition.name == name:
            return definition
    raise KeyError(f"no registered service {name!r}")
