"""The committed compose file, env examples and k8s/ are exactly what the generator makes of the code."""

from __future__ import annotations

from deploy import generate
from deploy.topology import Unit
from shared.registry import registered_services


def test_generated_files_are_up_to_date() -> None:
    stale = generate.stale()
    assert not stale, f"run `python -m deploy.generate` and commit: {stale}"


def test_a_stale_file_is_reported(tmp_path: object) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    generate.write(root)
    assert generate.stale(root) == []
    (root / "k8s/base/components/gateway.yaml").write_text("# edited by hand\n")
    (root / "k8s/base/components/retired.yaml").write_text("# a service that left the registry\n")
    assert generate.stale(root) == ["k8s/base/components/gateway.yaml", "k8s/base/components/retired.yaml"]


def test_topology_follows_the_registry(topology: tuple[Unit, ...]) -> None:
    assert [u.name for u in topology] == ["gateway", *(s.name for s in registered_services())]
    assert [u.port for u in topology[1:]] == [s.port for s in registered_services()]
