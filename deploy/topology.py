"""What the deployment descriptions are generated from and checked against: the code, never a list.

Components are the gateway and every registered service (shared/registry.py); each service's
produced topics and consumer groups are read from the app its factory builds (nothing is started);
topics and their partition counts come from the `TOPIC` (and optional `PARTITIONS`) constants of
shared/contracts/*.py. A new service folder or contract therefore reaches docker-compose.yml and
k8s/ through `python deploy/generate.py`, and tests/deploy fails until it has been run.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass
from functools import cache

from shared.kafka import DEFAULT_PARTITIONS
from shared.serve import GATEWAY, HEALTH_LIVE, HEALTH_READY, Component, component
from shared.settings import ServiceSettings

__all__ = [
    "HEALTH_LIVE",
    "HEALTH_READY",
    "Consumer",
    "Unit",
    "settings_env_names",
    "topics",
    "units",
]


@dataclass(frozen=True)
class Consumer:
    group: str
    topics: tuple[str, ...]


@dataclass(frozen=True)
class Unit:
    """One deployable component with what its deployment must match."""

    component: Component
    produces: tuple[str, ...]
    consumers: tuple[Consumer, ...]

    @property
    def name(self) -> str:
        return self.component.name

    @property
    def port(self) -> int:
        return self.component.port

    @property
    def prefix(self) -> str:
        return self.component.env_prefix

    @property
    def is_gateway(self) -> bool:
        return self.name == GATEWAY

    @property
    def consumed_topics(self) -> tuple[str, ...]:
        return tuple(sorted({t for c in self.consumers for t in c.topics}))


def settings_env_names(settings: type[ServiceSettings]) -> set[str]:
    """Every env var the settings class reads (pydantic-settings: prefix + upper-cased field name)."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    return {f"{prefix}{name}".upper() for name in settings.model_fields}


def _service_unit(name: str) -> Unit:
    from shared.registry import service

    definition = service(name)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        # Building the app wires its publisher and consumers without starting anything.
        app = definition.create_app(definition.settings())
    finally:
        root.handlers[:], root.level = handlers, level
    parts = app.state.parts
    consumers = tuple(Consumer(c.group_id, tuple(c.topics)) for c in parts.consumers)
    return Unit(component(name), tuple(parts.publisher.topics), consumers)


@cache
def units() -> tuple[Unit, ...]:
    """The gateway first, then every registered service by port."""
    from shared.registry import registered_services

    gateway = Unit(component(GATEWAY), (), ())
    return (gateway, *(_service_unit(s.name) for s in registered_services()))


@cache
def topics() -> dict[str, int]:
    """Every contract topic with its partition count (the services' DEFAULT_PARTITIONS unless a contract says)."""
    import shared.contracts as contracts

    found: dict[str, int] = {}
    for info in sorted(pkgutil.iter_modules(contracts.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"shared.contracts.{info.name}")
        topic = getattr(module, "TOPIC", None)
        if isinstance(topic, str):
            found[topic] = int(getattr(module, "PARTITIONS", DEFAULT_PARTITIONS))
    return found
