"""The image's commands (shared.serve, shared.migrate) and the Dockerfile's promises, checked offline."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from deploy.topology import Unit
from shared.serve import component, component_names

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()


def run(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


def test_components_are_the_gateway_and_the_registry(topology: tuple[Unit, ...]) -> None:
    assert component_names() == [u.name for u in topology]
    assert component("gateway").migrations.is_dir()
    assert all(component(u.name).migrations.is_dir() for u in topology)


def test_migrate_then_wait_on_a_fresh_database(tmp_path: Path, topology: tuple[Unit, ...]) -> None:
    unit = topology[1]
    env = {f"{unit.prefix}DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"}
    waited = run("-m", "shared.migrate", unit.name, "--wait", "--timeout", "0", env=env)
    assert waited.returncode == 1 and "not at head" in waited.stderr
    assert run("-m", "shared.migrate", unit.name, env=env).returncode == 0
    assert run("-m", "shared.migrate", unit.name, "--wait", "--timeout", "0", env=env).returncode == 0


def test_an_unknown_component_is_refused() -> None:
    result = run("-m", "shared.serve", "nosuch", env={})
    assert result.returncode != 0 and "unknown component 'nosuch'" in result.stderr


def final_stage(dockerfile: str) -> str:
    return re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[-1]


def test_dockerfile_keeps_its_promises() -> None:
    assert len(re.findall(r"^FROM python:3\.11-slim", DOCKERFILE, flags=re.MULTILINE)) == 2  # multi-stage, slim
    assert "requirements.lock" in DOCKERFILE
    runtime = final_stage(DOCKERFILE)
    assert re.search(r"^USER 10001", runtime, flags=re.MULTILINE)
    assert "HEALTHCHECK" in runtime and '"shared.serve", "--healthcheck"' in runtime
    assert 'CMD ["python", "-m", "shared.serve"]' in runtime and "ENV COMPONENT=" in runtime
    for tool in ("apt-get", "gcc", "build-essential", "pip install"):
        assert tool not in runtime, f"{tool} in the final stage"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ignored[ignored.index("*") :][:1] == ["*"] and {"!shared/", "!gateway/", "!services/"} <= set(ignored)
