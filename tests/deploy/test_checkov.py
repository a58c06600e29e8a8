"""checkov over both rendered overlays and deploy/Dockerfile: every finding fixed or justified.

checkov lives in its own venv (`make checkov`, pinned by deploy/checkov.lock): its dependency pins
conflict with the project's. The first run installs it (a few minutes, once per machine).
"""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
ACCEPTED = Path(__file__).parent / "checkov-accepted.yaml"


@pytest.fixture(scope="module")
def findings(
    rendered: dict[str, list[dict[str, Any]]], tmp_path_factory: pytest.TempPathFactory
) -> list[tuple[str, str]]:
    subprocess.run(["make", "--no-print-directory", "checkov"], cwd=ROOT, check=True, timeout=900)
    scan = tmp_path_factory.mktemp("checkov")
    for overlay, objects in rendered.items():
        (scan / f"{overlay}.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
    shutil.copy(ROOT / "deploy" / "Dockerfile", scan / "Dockerfile")
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(scan),
            "--framework",
            "kubernetes",
            "dockerfile",
            "-o",
            "json",
            "--quiet",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=scan,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert {r["check_type"] for r in reports} == {"kubernetes", "dockerfile"}
    return [(f["check_id"], f["resource"]) for r in reports for f in r["results"]["failed_checks"]]


def accepted() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = yaml.safe_load(ACCEPTED.read_text())
    return entries


def unjustified(found: list[tuple[str, str]], entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (check, resource)
        for check, resource in found
        if not any(e["check"] == check and any(fnmatch.fnmatch(resource, g) for g in e["resources"]) for e in entries)
    ]


def test_every_finding_is_fixed_or_justified(findings: list[tuple[str, str]]) -> None:
    assert unjustified(findings, accepted()) == []


def test_every_justification_is_still_needed_and_says_why(findings: list[tuple[str, str]]) -> None:
    for entry in accepted():
        assert len(entry.get("reason", "").split()) >= 10, entry["check"]
        assert any(c == entry["check"] for c, _ in findings), f"{entry['check']} no longer fails: drop it"


def test_an_unjustified_finding_fails(findings: list[tuple[str, str]]) -> None:
    assert unjustified([*findings, ("CKV_K8S_20", "Deployment.ewtp.sellers")], accepted()) == [
        ("CKV_K8S_20", "Deployment.ewtp.sellers")
    ]
