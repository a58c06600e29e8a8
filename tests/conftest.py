"""Fixtures shared by the whole suite: the real broker, per-service databases, the running platform."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import TansuBroker
from tests.support.databases import Databases
from tests.support.platform import Platform


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ewtp")


@pytest.fixture(scope="session")
def broker(tmp_root: Path) -> Iterator[TansuBroker]:
    broker = TansuBroker(log_dir=tmp_root)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def databases(tmp_root: Path) -> Iterator[Databases]:
    dbs = Databases(tmp_root)
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def platform(broker: TansuBroker, databases: Databases, tmp_root: Path) -> Iterator[Platform]:
    """Every service and the gateway, started once for the session."""
    running = Platform(broker=broker, databases=databases, tmp=tmp_root)
    try:
        running.start()
        yield running
    finally:
        running.stop()
