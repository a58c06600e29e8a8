"""Compose and both overlays agree with the code; a broken copy of each is caught by name."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from deploy.topology import Unit
from shared.settings import DEV_SIGNING_SECRET
from tests.deploy import checks

ROOT = Path(__file__).resolve().parents[2]
Objects = dict[str, list[dict[str, Any]]]


def test_compose_matches_the_code(
    compose: dict[str, Any], topology: tuple[Unit, ...], contract_topics: dict[str, int], env_files: dict[str, str]
) -> None:
    assert checks.compose_problems(compose, topology, contract_topics, env_files) == []


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlay_matches_the_code(
    rendered: Objects, overlay: str, topology: tuple[Unit, ...], contract_topics: dict[str, int]
) -> None:
    assert checks.k8s_problems(rendered[overlay], topology, contract_topics, overlay) == []


def test_no_secret_value_is_committed(env_files: dict[str, str]) -> None:
    files = {
        str(p.relative_to(ROOT)): p.read_text()
        for folder in ("deploy", "k8s")
        for p in (ROOT / folder).rglob("*")
        if p.is_file() and p.suffix in {".yaml", ".yml", ".json", ".example", ".sh", ".md", ""}
    }
    files["docker-compose.yml"] = (ROOT / "docker-compose.yml").read_text()
    assert checks.committed_secret_problems(files, [DEV_SIGNING_SECRET]) == []
    assert checks.env_file_problems(env_files) == []


# ---------------------------------------------------------------- deliberately broken fixtures


def one_service(topology: tuple[Unit, ...]) -> Unit:
    return next(u for u in topology if not u.is_gateway)


def test_broken_compose_is_caught(
    compose: dict[str, Any], topology: tuple[Unit, ...], contract_topics: dict[str, int], env_files: dict[str, str]
) -> None:
    unit = one_service(topology)

    def problems(mutate: Any) -> str:
        broken = copy.deepcopy(compose)
        mutate(broken["services"])
        return "\n".join(checks.compose_problems(broken, topology, contract_topics, env_files))

    assert f"no service {unit.name}" in problems(lambda s: s.pop(unit.name))
    assert f"no migrate-{unit.name}" in problems(lambda s: s.pop(f"migrate-{unit.name}"))

    def wrong_port(s: dict[str, Any]) -> None:
        s[unit.name]["healthcheck"]["test"][-1] = s[unit.name]["healthcheck"]["test"][-1].replace(
            str(unit.port), "9999"
        )
        s["gateway"]["environment"] = {
            **s["gateway"]["environment"],
            f"GATEWAY_{unit.name.upper()}_URL": f"http://{unit.name}:9999",
        }

    found = problems(wrong_port)
    assert f"{unit.name} healthcheck does not probe port {unit.port}" in found
    assert f"gateway reaches {unit.name} at 'http://{unit.name}:9999'" in found

    def literal_secret(s: dict[str, Any]) -> None:
        s[unit.name]["environment"][f"{unit.prefix}SIGNING_SECRET"] = "s3cr3t-value-in-git"
        s[unit.name]["environment"][f"{unit.prefix}DATABASE_URL"] = (
            f"postgresql+asyncpg://{unit.name}:hunter2@postgres/{unit.name}"
        )

    found = problems(literal_secret)
    assert f"{unit.prefix}SIGNING_SECRET to a literal value" in found
    assert f"{unit.prefix}DATABASE_URL to a literal value" in found

    def unknown_env(s: dict[str, Any]) -> None:
        s[unit.name]["environment"][f"{unit.prefix}DATABSE_URL"] = "typo"

    assert f"env {unit.prefix}DATABSE_URL is read by no setting" in problems(unknown_env)

    def fewer_partitions(s: dict[str, Any]) -> None:
        s["kafka-init"]["entrypoint"][-1] = s["kafka-init"]["entrypoint"][-1].replace(
            "--partitions 3", "--partitions 1", 1
        )

    assert "partitions, services expect" in problems(fewer_partitions)
    assert "auto-create off" in problems(
        lambda s: s["kafka"]["environment"].update(KAFKA_AUTO_CREATE_TOPICS_ENABLE="true")
    )


def test_broken_overlay_is_caught(
    rendered: Objects, topology: tuple[Unit, ...], contract_topics: dict[str, int]
) -> None:
    unit = one_service(topology)

    def problems(overlay: str, mutate: Any) -> str:
        objects = copy.deepcopy(rendered[overlay])
        mutate(objects)
        return "\n".join(checks.k8s_problems(objects, topology, contract_topics, overlay))

    def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
        return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)

    def drop(kind: str, name: str) -> Any:
        return lambda objects: objects.remove(find(objects, kind, name))

    assert f"{unit.name}: no Deployment" in problems("dev", drop("Deployment", unit.name))
    assert f"{unit.name}: no Service" in problems("dev", drop("Service", unit.name))
    assert f"{unit.name}: no migration Job" in problems("prod", drop("Job", f"{unit.name}-migrate"))
    assert f"{unit.name}: no NetworkPolicy" in problems("prod", drop("NetworkPolicy", unit.name))

    def wrong_port(objects: list[dict[str, Any]]) -> None:
        find(objects, "Service", unit.name)["spec"]["ports"][0]["port"] = 9999
        container = find(objects, "Deployment", unit.name)["spec"]["template"]["spec"]["containers"][0]
        container["ports"][0]["containerPort"] = 9999
        container["readinessProbe"]["httpGet"]["path"] = "/healthz"

    found = problems("dev", wrong_port)
    assert f"Service ports [9999], registry says {unit.port}" in found
    assert f"containerPort [9999], registry says {unit.port}" in found
    assert "readinessProbe on '/healthz'" in found

    def literal_secret(objects: list[dict[str, Any]]) -> None:
        container = find(objects, "Deployment", unit.name)["spec"]["template"]["spec"]["containers"][0]
        container["env"].append({"name": f"{unit.prefix}SIGNING_SECRET_PREVIOUS", "value": "s3cr3t"})
        objects.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "data": {"k": "dg=="}})

    found = problems("prod", literal_secret)
    assert f"{unit.prefix}SIGNING_SECRET_PREVIOUS is not read from a Secret" in found
    assert "Secret x is rendered" in found

    def open_policy(objects: list[dict[str, Any]]) -> None:
        find(objects, "NetworkPolicy", unit.name)["spec"]["ingress"][0]["from"] = []
        find(objects, "NetworkPolicy", unit.name)["spec"]["egress"].append({"ports": [{"port": 443}]})

    found = problems("dev", open_policy)
    assert "only the gateway may call it" in found
    assert "beyond DNS, PostgreSQL and Kafka" in found

    topic = next(iter(contract_topics))
    assert f"no KafkaTopic {topic}.dlq" in problems("prod", drop("KafkaTopic", f"{topic}.dlq"))
    consumer = next((u for u in topology if u.consumers), None)
    if consumer is not None:

        def more_replicas(objects: list[dict[str, Any]]) -> None:
            find(objects, "ScaledObject", consumer.name)["spec"]["maxReplicaCount"] = 10

        assert "maxReplicaCount 10, partitions allow" in problems("prod", more_replicas)
        assert "has no KEDA ScaledObject" in problems("prod", drop("ScaledObject", consumer.name))


def test_committed_secret_is_caught() -> None:
    files = {
        "deploy/x.env.example": f"SELLERS_SIGNING_SECRET={DEV_SIGNING_SECRET}\n",
        "k8s/base/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\ndata:\n  url: cG9zdGdyZXM=\n",
    }
    found = checks.committed_secret_problems(files, [DEV_SIGNING_SECRET])
    assert found == [
        "deploy/x.env.example: contains a secret value",
        "k8s/base/secret.yaml: a Secret with data is committed",
    ]
    assert checks.env_file_problems({"deploy/x.env.example": "SELLERS_DATABASE_URL=postgresql://u:p@h/db\n"})
