"""One round of webhook receiving over HTTP: each receiver in its own process, loaded by another.

Standard library only (it runs in the orchestrator). For each target (rotated
per round) a server process starts on a free port, a load process
(``benchmarks.receive_http load``) sends signed unique deliveries at each
concurrency, and the server is stopped. PostgreSQL and Redis run only when
``CARESUPPORT_BENCH_POSTGRES_URL`` / ``CARESUPPORT_BENCH_REDIS_URL`` (or the
test suite's ``CARESUPPORT_TEST_*_URL``) name a server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.environment import ROOT, worker_env

__all__ = ["CONCURRENCIES", "available_targets", "run_target"]

CONCURRENCIES = (1, 20)
_STORE_ENV = {
    "serve_postgres": ("CARESUPPORT_BENCH_POSTGRES_URL", "CARESUPPORT_TEST_POSTGRES_URL"),
    "serve_redis": ("CARESUPPORT_BENCH_REDIS_URL", "CARESUPPORT_TEST_REDIS_URL"),
}
_ORDER = (
    "naive",
    "serve_sqlite",
    "serve_sqlite_normal",
    "serve_memory",
    "serve_postgres",
    "serve_redis",
    "serve_sqlite_worker",
    "serve_memory_worker",
)


def _networked_url(target: str) -> str | None:
    for name in _STORE_ENV[target]:
        if os.environ.get(name):
            return os.environ[name]
    return None


def available_targets() -> tuple[list[str], dict[str, str]]:
    """The targets this run can measure, and why the others are skipped."""
    chosen, skipped = [], {}
    for target in _ORDER:
        if target in _STORE_ENV and _networked_url(target) is None:
            skipped[target] = f"set {_STORE_ENV[target][0]} to measure it"
            continue
        chosen.append(target)
    return chosen, skipped


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _server_command(python: str, target: str, port: int, secret: str, scratch: Path) -> list[str]:
    if target == "naive":
        return [
            *(python, "-m", "benchmarks.receive_http", "naive"),
            *("--port", str(port), "--secret", secret),
        ]
    store = target.removesuffix("_worker")
    if store == "serve_sqlite":
        url = f"sqlite:///{scratch / 'events.sqlite'}"
    elif store == "serve_sqlite_normal":
        url = f"sqlite:///{scratch / 'events.sqlite'}?synchronous=normal"
    elif store == "serve_memory":
        url = "memory://"
    else:
        url = _networked_url(store) or ""
    return [
        *(python, "-m", "adapters.cli.main", "webhooks", "serve"),
        *("--host", "127.0.0.1", "--port", str(port), "--store", url),
        *("--secret", secret, "--namespace", f"bench{os.urandom(4).hex()}"),
        # Intake only (the naive receiver's work), but for the _worker targets.
        *(() if target.endswith("_worker") else ("--no-workers",)),
    ]


def _cpu_seconds(pid: int) -> float | None:
    """The process's CPU time (user + system) so far; ``None`` where /proc is not there."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the server did not listen in time")


def run_target(
    python: str,
    target: str,
    *,
    seconds: float,
    warmup: float,
    note: Callable[[str], None],
) -> dict[int, dict[str, Any] | None]:
    """Start ``target``, load it at each of ``CONCURRENCIES``; the figures by concurrency."""
    secret = _secret()
    port = _free_port()
    figures: dict[int, dict[str, Any] | None] = {}
    with tempfile.TemporaryDirectory(prefix="bench-receive-") as scratch:
        server = subprocess.Popen(
            _server_command(python, target, port, secret, Path(scratch)),
            cwd=ROOT,
            env=worker_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            _wait_listening(port, server)
            for concurrency in CONCURRENCIES:
                figures[concurrency] = _load(
                    python, server.pid, port, secret, concurrency, seconds, warmup, target, note
                )
        except RuntimeError as exc:
            note(f"receiving `{target}` failed: {exc}")
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            if server.stderr is not None:
                server.stderr.close()
    return figures


def _load(
    python: str,
    server: int,
    port: int,
    secret: str,
    concurrency: int,
    seconds: float,
    warmup: float,
    target: str,
    note: Callable[[str], None],
) -> dict[str, Any] | None:
    cpu_before = _cpu_seconds(server)
    done = subprocess.run(
        [
            *(python, "-m", "benchmarks.receive_http", "load", "--port", str(port)),
            *("--secret", secret, "--concurrency", str(concurrency)),
            *("--seconds", str(seconds), "--warmup", str(warmup)),
        ],
        cwd=ROOT,
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=seconds + warmup + 120,
    )
    if done.returncode != 0 or not done.stdout.strip():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        note(f"load on `{target}` at concurrency {concurrency} failed: {last}")
        return None
    cpu_after = _cpu_seconds(server)
    figure: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    answered = figure.get("answered_total") or 0
    if cpu_before is not None and cpu_after is not None and answered:
        figure["server_cpu_us_per_delivery"] = (cpu_after - cpu_before) / answered * 1e6
    if figure.get("not_ok"):
        note(f"`{target}` at concurrency {concurrency}: {figure['not_ok']} answers were not 200")
    return figure


def _secret() -> str:
    import base64

    return "whsec_" + base64.b64encode(os.urandom(32)).decode()
