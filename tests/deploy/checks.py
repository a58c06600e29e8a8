"""Cross-checks of the deployment descriptions against the code; each returns a list of problems.

Pure functions over parsed documents, so the tests run them on the committed files (no problem) and
on deliberately broken copies (the problem is named).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from deploy.generate import MONITORING_PEER
from deploy.topology import HEALTH_LIVE, HEALTH_READY, Unit, settings_env_names

Doc = dict[str, Any]

#: Env var names that carry a secret: their value is never written in a committed file.
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|TOKEN|DATABASE_URL|API_KEY)", re.IGNORECASE)
#: A compose value that only interpolates (`${VAR}`, `${VAR:-}`, `${VAR:?msg}`), nothing literal.
INTERPOLATION = re.compile(r"\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}")


def allowed_env(unit: Unit) -> set[str]:
    return settings_env_names(unit.component.settings) | {"COMPONENT"}


def topic_problems(script: str, topics: Mapping[str, int], where: str) -> list[str]:
    """`kafka-topics.sh --create` lines in `script` must create every topic and DLQ with its partitions."""
    created: dict[str, int] = {}
    for line in script.splitlines():
        if "--create" in line:
            args = shlex.split(line)
            created[args[args.index("--topic") + 1]] = int(args[args.index("--partitions") + 1])
    want = {name: n for topic, n in topics.items() for name in (topic, f"{topic}.dlq")}
    problems = [f"{where}: topic {t} not created" for t in want if t not in created]
    problems += [
        f"{where}: topic {t} has {created[t]} partitions, services expect {n}"
        for t, n in want.items()
        if t in created and created[t] != n
    ]
    problems += [f"{where}: topic {t} is in no contract" for t in created if t not in want]
    return problems


# ---------------------------------------------------------------- compose


def compose_problems(
    compose: Doc, units: Iterable[Unit], topics: Mapping[str, int], env_files: Mapping[str, str]
) -> list[str]:
    problems: list[str] = []
    services: Doc = compose.get("services", {})
    kafka_env = services.get("kafka", {}).get("environment", {})
    if str(kafka_env.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE")).lower() != "false":
        problems.append("compose: kafka must run with auto-create off")
    init = services.get("kafka-init", {})
    problems += topic_problems(init.get("entrypoint", [""])[-1], topics, "compose kafka-init")
    databases = str(services.get("postgres", {}).get("environment", {}).get("EWTP_DATABASES", "")).split()
    for unit in units:
        name = unit.name
        service = services.get(name)
        migrate = services.get(f"migrate-{name}")
        if service is None:
            problems.append(f"compose: no service {name}")
            continue
        if migrate is None:
            problems.append(f"compose: no migrate-{name}")
        elif migrate.get("command") != ["python", "-m", "shared.migrate", name]:
            problems.append(f"compose: migrate-{name} does not run shared.migrate {name}")
        if name not in databases:
            problems.append(f"compose: postgres creates no database for {name}")
        if service.get("command") != ["python", "-m", "shared.serve", name]:
            problems.append(f"compose: {name} does not run shared.serve {name}")
        check = " ".join(service.get("healthcheck", {}).get("test", []))
        if f"127.0.0.1:{unit.port}{HEALTH_READY}" not in check:
            problems.append(f"compose: {name} healthcheck does not probe port {unit.port} {HEALTH_READY}")
        depends = service.get("depends_on", {})
        if depends.get(f"migrate-{name}", {}).get("condition") != "service_completed_successfully":
            problems.append(f"compose: {name} does not wait for migrate-{name} to complete")
        if not unit.is_gateway and depends.get("kafka-init", {}).get("condition") != "service_completed_successfully":
            problems.append(f"compose: {name} does not wait for kafka-init")
        env: dict[str, Any] = {}
        for path in service.get("env_file", []):
            env.update(parse_env_file(env_files.get(path if isinstance(path, str) else path["path"], "")))
        env.update(service.get("environment", {}))  # compose: `environment` wins over `env_file`
        problems += env_name_problems(f"compose {name}", env, unit)
        for key, value in env.items():
            if SECRET_NAME.search(key) and not secret_by_interpolation(str(value)):
                problems.append(f"compose: {name} sets {key} to a literal value; interpolate it from .env")
        if unit.is_gateway:
            for other in units:
                if not other.is_gateway:
                    url = env.get(f"GATEWAY_{other.name.upper()}_URL")
                    if url != f"http://{other.name}:{other.port}":
                        problems.append(f"compose: gateway reaches {other.name} at {url!r}, not port {other.port}")
                    if depends.get(other.name, {}).get("condition") != "service_healthy":
                        problems.append(f"compose: gateway does not wait for {other.name} to be healthy")
    return problems


def secret_by_interpolation(value: str) -> bool:
    """A secret value in compose may only be built from `${...}` interpolations (and URL scaffolding)."""
    if "://" in value:  # a database URL: the password part must be interpolated
        userinfo = value.split("://", 1)[1].split("@", 1)
        if len(userinfo) == 1:
            return ":" not in userinfo[0]
        password = userinfo[0].split(":", 1)[1] if ":" in userinfo[0] else ""
        return bool(password) and INTERPOLATION.fullmatch(password) is not None
    return value == "" or INTERPOLATION.fullmatch(value) is not None or _nested_interpolation(value)


def _nested_interpolation(value: str) -> bool:
    return value.startswith("${") and value.endswith("}}") and "${" in value[2:]


def parse_env_file(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def env_name_problems(where: str, env: Mapping[str, Any], unit: Unit) -> list[str]:
    allowed = allowed_env(unit)
    problems = [f"{where}: env {k} is read by no setting of {unit.name}" for k in env if k not in allowed]
    required = [f"{unit.prefix}DATABASE_URL", f"{unit.prefix}SIGNING_SECRET", f"{unit.prefix}ENVIRONMENT"]
    if not unit.is_gateway:
        required += [f"{unit.prefix}KAFKA_BOOTSTRAP", f"{unit.prefix}SIGNING_SECRET_PREVIOUS"]
    problems += [f"{where}: env {k} is missing" for k in required if k not in env]
    return problems


def env_file_problems(env_files: Mapping[str, str]) -> list[str]:
    """Committed example env files hold no secret value (a secret key is present only empty)."""
    problems = []
    for path, text in env_files.items():
        for key, value in parse_env_file(text).items():
            if SECRET_NAME.search(key) and value and not value.startswith("<"):
                problems.append(f"{path}: {key} has a value; secrets are never committed")
    return problems


# ---------------------------------------------------------------- kubernetes


def index(objects: Iterable[Doc]) -> dict[tuple[str, str], Doc]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def k8s_problems(objects: list[Doc], units: Iterable[Unit], topics: Mapping[str, int], overlay: str) -> list[str]:
    problems: list[str] = []
    found = index(objects)
    config_maps = {name: o.get("data", {}) for (kind, name), o in found.items() if kind == "ConfigMap"}
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    for obj in objects:
        if obj["kind"] == "Secret":
            problems.append(f"{overlay}: Secret {obj['metadata']['name']} is rendered; secrets are created outside git")
    for unit in units:
        name = unit.name
        where = f"{overlay} {name}"
        deployment = found.get(("Deployment", name))
        if deployment is None:
            problems.append(f"{where}: no Deployment")
        else:
            problems += deployment_problems(where, deployment, unit, config_maps)
        service = found.get(("Service", name))
        if service is None:
            problems.append(f"{where}: no Service")
        else:
            ports = [p.get("port") for p in service["spec"].get("ports", [])]
            if ports != [unit.port]:
                problems.append(f"{where}: Service ports {ports}, registry says {unit.port}")
            if service["spec"].get("selector", {}).get("app.kubernetes.io/name") != name:
                problems.append(f"{where}: Service does not select the {name} pods")
        job = found.get(("Job", f"{name}-migrate"))
        if job is None:
            problems.append(f"{where}: no migration Job")
        else:
            command = job["spec"]["template"]["spec"]["containers"][0].get("command")
            if command != ["python", "-m", "shared.migrate", name]:
                problems.append(f"{where}: migration Job runs {command}")
        problems += policy_problems(where, policies, unit)
        if unit.is_gateway:
            gateway_config = config_maps.get(f"{name}-config", {})
            for other in units:
                if not other.is_gateway:
                    url = gateway_config.get(f"GATEWAY_{other.name.upper()}_URL")
                    if url != f"http://{other.name}:{other.port}":
                        problems.append(f"{where}: reaches {other.name} at {url!r}, not port {other.port}")
    if overlay == "prod":
        problems += prod_kafka_problems(objects, units, topics)
    else:
        init = found.get(("Job", "kafka-init"))
        script = init["spec"]["template"]["spec"]["containers"][0]["command"][-1] if init else ""
        problems += topic_problems(script, topics, f"{overlay} kafka-init")
    return problems


def _probe_path(container: Doc, kind: str) -> str | None:
    return container.get(kind, {}).get("httpGet", {}).get("path")


def deployment_problems(where: str, deployment: Doc, unit: Unit, config_maps: Mapping[str, Doc]) -> list[str]:
    problems: list[str] = []
    pod = deployment["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod.get("containers", [])}
    container = containers.get(unit.name)
    if container is None:
        return [f"{where}: no container named {unit.name}"]
    if container.get("command") != ["python", "-m", "shared.serve", unit.name]:
        problems.append(f"{where}: container runs {container.get('command')}")
    ports = [p.get("containerPort") for p in container.get("ports", [])]
    if ports != [unit.port]:
        problems.append(f"{where}: containerPort {ports}, registry says {unit.port}")
    for kind, path in (("startupProbe", HEALTH_LIVE), ("livenessProbe", HEALTH_LIVE), ("readinessProbe", HEALTH_READY)):
        if _probe_path(container, kind) != path:
            problems.append(f"{where}: {kind} on {_probe_path(container, kind)!r}, not {path}")
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef", {}).get("name")
        if ref is not None:
            env.update(config_maps.get(ref, {}))
            if ref not in config_maps:
                problems.append(f"{where}: ConfigMap {ref} does not exist")
    for item in container.get("env", []):
        env[item["name"]] = item
        if SECRET_NAME.search(item["name"]) and "secretKeyRef" not in item.get("valueFrom", {}):
            problems.append(f"{where}: {item['name']} is not read from a Secret")
    for key, value in env.items():
        if SECRET_NAME.search(key) and not isinstance(value, dict):
            problems.append(f"{where}: {key} is a literal in a ConfigMap; read it from a Secret")
    problems += env_name_problems(where, env, unit)
    security = container.get("securityContext", {})
    if not (
        security.get("readOnlyRootFilesystem") is True
        and security.get("allowPrivilegeEscalation") is False
        and security.get("capabilities", {}).get("drop") == ["ALL"]
        and pod.get("securityContext", {}).get("runAsNonRoot") is True
    ):
        problems.append(f"{where}: not non-root with a read-only root fs, no escalation and all capabilities dropped")
    if not container.get("resources", {}).get("limits") or not container.get("resources", {}).get("requests"):
        problems.append(f"{where}: no resource requests and limits")
    return problems


def _selects(policy: Doc, name: str) -> bool:
    return policy["spec"].get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == name


def policy_problems(where: str, policies: list[Doc], unit: Unit) -> list[str]:
    own = [p for p in policies if _selects(p, unit.name)]
    if not own:
        return [f"{where}: no NetworkPolicy selects its pods"]
    problems = []
    for policy in own:
        spec = policy["spec"]
        for rule in spec.get("ingress", []):
            ports = [p.get("port") for p in rule.get("ports", [])]
            if ports != [unit.port]:
                problems.append(f"{where}: NetworkPolicy admits ports {ports}, registry says {unit.port}")
            if not unit.is_gateway:
                peers = [peer for peer in rule.get("from", []) if peer != MONITORING_PEER]
                if peers != [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}]:
                    problems.append(f"{where}: NetworkPolicy admits {peers or 'anyone'}, only the gateway may call it")
        if not unit.is_gateway:
            egress_ports = {p.get("port") for rule in spec.get("egress", []) for p in rule.get("ports", [])}
            if not egress_ports <= {53, 5432, 9092}:
                problems.append(f"{where}: egress to ports {sorted(egress_ports)} beyond DNS, PostgreSQL and Kafka")
    return problems


def prod_kafka_problems(objects: list[Doc], units: Iterable[Unit], topics: Mapping[str, int]) -> list[str]:
    problems: list[str] = []
    declared = {
        o["spec"].get("topicName", o["metadata"]["name"]): o["spec"].get("partitions")
        for o in objects
        if o["kind"] == "KafkaTopic"
    }
    want = {name: n for topic, n in topics.items() for name in (topic, f"{topic}.dlq")}
    problems += [f"prod: no KafkaTopic {t}" for t in want if t not in declared]
    problems += [
        f"prod: KafkaTopic {t} has {declared[t]} partitions, services expect {n}"
        for t, n in want.items()
        if t in declared and declared[t] != n
    ]
    problems += [f"prod: KafkaTopic {t} is in no contract" for t in declared if t not in want]
    scaled = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ScaledObject"}
    autoscalers = {o["metadata"]["name"] for o in objects if o["kind"] == "HorizontalPodAutoscaler"}
    for unit in units:
        if not unit.consumers:
            continue
        obj = scaled.get(unit.name)
        if obj is None:
            problems.append(f"prod {unit.name}: consumes events but has no KEDA ScaledObject")
            continue
        if unit.name in autoscalers:
            problems.append(f"prod {unit.name}: both an HPA and a ScaledObject scale it")
        kafka = [t["metadata"] for t in obj["spec"]["triggers"] if t["type"] == "kafka"]
        pairs = {(m["consumerGroup"], m["topic"]) for m in kafka}
        want_pairs = {(c.group, t) for c in unit.consumers for t in c.topics}
        if pairs != want_pairs:
            problems.append(
                f"prod {unit.name}: ScaledObject watches {sorted(pairs)}, consumers are {sorted(want_pairs)}"
            )
        if any(not m.get("lagThreshold") for m in kafka):
            problems.append(f"prod {unit.name}: a kafka trigger has no lagThreshold")
        most = max(topics.get(t, 0) for t in unit.consumed_topics)
        if obj["spec"].get("maxReplicaCount") != most:
            problems.append(
                f"prod {unit.name}: maxReplicaCount {obj['spec'].get('maxReplicaCount')}, partitions allow {most}"
            )
    return problems


# ---------------------------------------------------------------- committed text


def committed_secret_problems(files: Mapping[str, str], forbidden: Iterable[str]) -> list[str]:
    """No known secret (the development signing secret, ...) and no Secret manifest with data in any file."""
    problems = []
    for path, text in files.items():
        for value in forbidden:
            if value in text:
                problems.append(f"{path}: contains a secret value")
        if re.search(r"^kind:\s*Secret\s*$", text, re.MULTILINE) and re.search(
            r"^(data|stringData):", text, re.MULTILINE
        ):
            problems.append(f"{path}: a Secret with data is committed")
    return problems
