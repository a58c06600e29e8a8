"""Every rendered object against the Kubernetes schemas (and vendored CRD schemas); compose against its spec."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

SCHEMAS = Path(__file__).parent / "schemas"
KUBERNETES_VERSION = "1.32"
CRDS = {
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"): "kafkatopic-kafka.strimzi.io-v1beta2.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject-keda.sh-v1alpha1.json",
}
COMPOSE_SCHEMA_SHA256 = "d549057ebc2925f39f62799eab0db7b9e2c18b35b6c00595199116da3ed10e64"


def schema_errors(obj: dict[str, Any]) -> list[str]:
    crd = CRDS.get((obj["apiVersion"], obj["kind"]))
    name = f"{obj['kind']}/{obj['metadata']['name']}"
    if crd is not None:
        schema = json.loads((SCHEMAS / crd).read_text())
        return [f"{name}: {e.message}" for e in jsonschema.Draft202012Validator(schema).iter_errors(obj)]
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{name}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [f"{name}: {exc.message}"]
    return []


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_rendered_object_is_valid(rendered: dict[str, list[dict[str, Any]]], overlay: str) -> None:
    errors = [e for obj in rendered[overlay] for e in schema_errors(obj)]
    assert errors == []


def test_an_invalid_object_is_refused(rendered: dict[str, list[dict[str, Any]]]) -> None:
    deployment = next(o for o in rendered["dev"] if o["kind"] == "Deployment")
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eight thousand"
    broken["spec"]["replicass"] = 2
    assert schema_errors(broken)
    topic = next(o for o in rendered["prod"] if o["kind"] == "KafkaTopic")
    assert schema_errors({**topic, "spec": {**topic["spec"], "partitions": 0}})
    scaled = next(o for o in rendered["prod"] if o["kind"] == "ScaledObject")
    assert schema_errors(
        {**scaled, "spec": {**scaled["spec"], "triggers": [{"type": "kafka", "metadata": {"lagThreshold": 50}}]}}
    )


def compose_errors(compose: dict[str, Any]) -> list[str]:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]


def test_compose_schema_is_the_vendored_one() -> None:
    assert hashlib.sha256((SCHEMAS / "compose-spec.json").read_bytes()).hexdigest() == COMPOSE_SCHEMA_SHA256


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    assert compose_errors(compose) == []


def test_an_invalid_compose_file_is_refused(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["gateway"]["depends_on"]["postgres"]["condition"] = "service_ready"
    broken["services"]["gateway"]["helthcheck"] = {}
    assert len(compose_errors(broken)) >= 2


def test_monitoring_kustomization_renders_valid_config_maps() -> None:
    from tests.deploy.conftest import ROOT, render_path

    objects = render_path(ROOT / "k8s" / "monitoring")
    assert {o["metadata"]["name"] for o in objects} == {"ewtp-dashboard", "ewtp-alert-rules"}
    assert [e for obj in objects for e in schema_errors(obj)] == []
