"""`make lint` refuses a service that imports another, including a service added after the contract
was written: import-linter's independence contract names `services.*`, not a list."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy_tree(tmp_path: Path) -> Path:
    """A copy of the packages and the lint configuration, so the probe never touches the checkout."""
    copy = tmp_path / "repo"
    copy.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("shared", "gateway", "services"):
        shutil.copytree(ROOT / package, copy / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def _lint(copy: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=copy, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_new_service_that_imports_another_breaks_the_lint(tmp_path: Path) -> None:
    copy = _copy_tree(tmp_path)
    probe = copy / "services" / "probe"
    probe.mkdir()
    (probe / "__init__.py").write_text("")
    (probe / "app.py").write_text("from services.sellers import models  # noqa: F401\n")
    result = _lint(copy)
    assert result.returncode != 0, result.stdout
    assert "services do not import each other BROKEN" in result.stdout, result.stdout
    assert "services.probe.app -> services.sellers.models" in result.stdout, result.stdout
