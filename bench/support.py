"""What the benchmarks share: services as real uvicorn subprocesses (served as `make run` serves them),
their memory and CPU read from /proc, and wrk as the load generator, pinned to one core."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.broker import wait_for_port

ROOT = Path(__file__).resolve().parents[1]


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class RssSampler(threading.Thread):
    def __init__(self, pid: int, every_s: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid, self.every_s, self.peak_kb = pid, every_s, 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak_kb = max(self.peak_kb, rss_kb(self.pid))
            time.sleep(self.every_s)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return self.peak_kb


@contextmanager
def uvicorn(app: str, port: int, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                app,
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
                # As deploy/run_local.py serves them: malformed requests get a problem+json 400.
                "--http",
                "shared.http:ProblemHttpToolsProtocol",
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, timeout_s=60)
        deadline = time.monotonic() + 60
        while httpx.get(f"http://127.0.0.1:{port}/health/live").status_code != 200:
            if time.monotonic() > deadline:
                raise TimeoutError(app)
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package first if it is missing (the bench's own setup)."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    for argv in ([*sudo, "apt-get", "update", "-qq"], [*sudo, "apt-get", "install", "-y", "-qq", "wrk"]):
        subprocess.run(argv, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and `apt-get install -y wrk` failed; install it and run again")
    return found


def load_core() -> int:
    """The core the load generator is pinned to: the last one this process may use."""
    return max(os.sched_getaffinity(0))
