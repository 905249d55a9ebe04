"""The benchmark environment: its own virtual environment, and what machine this is.

The official SDK, matplotlib and pyinstrument are benchmark-only: they go into
``benchmarks/.venv`` (git-ignored), never into the project's dependencies. Every
peer runs on that one interpreter, so all share one httpx.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

__all__ = [
    "BENCH_PACKAGES",
    "BENCH_VENV",
    "ROOT",
    "ensure_bench_python",
    "machine",
    "missing_modules",
    "worker_env",
]

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV = ROOT / "benchmarks" / ".venv"
BENCH_PACKAGES = ("linq-python", "matplotlib", "pyinstrument", "standardwebhooks")
_NEEDED_MODULES = (
    "httpx",
    "attrs",
    "cattrs",
    "standardwebhooks",
    "linq",
    "matplotlib",
    "uvicorn",
    "httpx_aiohttp",
    "psycopg",
    "redis",
)


def worker_env() -> dict[str, str]:
    """The environment of every benchmark subprocess: the repository on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if "PYTHONPATH" in env else "")
    env.pop("PYTHONSTARTUP", None)
    return env


def missing_modules(python: str) -> list[str]:
    """The modules the benchmarks use that ``python`` cannot import."""
    probe = (
        "import importlib.util, sys\n"
        f"names = {list(_NEEDED_MODULES)!r}\n"
        "print(' '.join(n for n in names if importlib.util.find_spec(n) is None))\n"
    )
    found = subprocess.run(
        [python, "-c", probe], capture_output=True, text=True, env=worker_env(), check=True
    )
    return found.stdout.split()


def ensure_bench_python(python: str | None, *, log: bool = True) -> str:
    """The interpreter to run the peers on, creating ``benchmarks/.venv`` when needed.

    Args:
        python: an interpreter the user chose (``--python``); used as it is.
        log: say what is being installed.
    """
    if python:
        return python
    bench_python = BENCH_VENV / "bin" / "python"
    if not bench_python.exists():
        if log:
            print(f"creating {BENCH_VENV.relative_to(ROOT)} (benchmark-only packages)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    if missing_modules(str(bench_python)):
        if log:
            print(f"installing {', '.join(BENCH_PACKAGES)} and the project into it", flush=True)
        pip = [str(bench_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        # The project with the server (webhooks serve), aiohttp (the aiohttp peers),
        # postgres and redis (the receivers on those stores) extras.
        subprocess.run(
            [*pip, *BENCH_PACKAGES, "-e", f"{ROOT}[server,aiohttp,postgres,redis]"], check=True
        )
    return str(bench_python)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


def _git_commit() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit


def machine() -> dict[str, object]:
    """The machine and system the run is on."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "commit": _git_commit(),
    }
