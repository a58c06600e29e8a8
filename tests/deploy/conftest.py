"""Rendered overlays, the compose file and the topology, loaded once per session (all offline)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.topology import Unit, topics, units

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = "/usr/bin/kubectl"
OVERLAYS = ("dev", "prod")


def render_path(path: Path) -> list[dict[str, Any]]:
    out = subprocess.run([KUBECTL, "kustomize", str(path)], check=True, capture_output=True, text=True).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def render(overlay: str) -> list[dict[str, Any]]:
    return render_path(ROOT / "k8s" / "overlays" / overlay)


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    if not Path(KUBECTL).exists():
        pytest.fail(f"{KUBECTL} is required to render the kustomize overlays")
    return {overlay: render(overlay) for overlay in OVERLAYS}


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


@pytest.fixture(scope="session")
def env_files() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text() for p in sorted((ROOT / "deploy").glob("*.env.example"))}


@pytest.fixture(scope="session")
def topology() -> tuple[Unit, ...]:
    return units()


@pytest.fixture(scope="session")
def contract_topics() -> dict[str, int]:
    return topics()
