"""Throwaway PostgreSQL and Redis servers on loopback, for the store tests and for CI.

One piece of code serves both places:

* the test fixtures (``conftest.py``) start a server here when its URL is not in the
  environment (``CARESUPPORT_TEST_POSTGRES_URL``, ``CARESUPPORT_TEST_REDIS_URL``);
* ``.ci/run`` starts both before pytest and stops them in a trap::

      eval "$(python tests/stores/servers.py start STATE_DIR)"   # prints the exports
      python tests/stores/servers.py stop STATE_DIR

PostgreSQL refuses to run as root, so as root ``initdb`` and ``pg_ctl`` run through
``runuser -u postgres --`` on a temporary directory owned by ``postgres``. Neither
server writes anything outside its temporary directory, and both listen on
127.0.0.1 only, on a free port.

Standard library only: it runs before the test environment matters.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

POSTGRES_URL_ENV = "CARESUPPORT_TEST_POSTGRES_URL"
REDIS_URL_ENV = "CARESUPPORT_TEST_REDIS_URL"

POSTGRES_HOW_TO = (
    "start PostgreSQL: install PostgreSQL (Debian: apt-get install postgresql, which puts "
    "initdb and pg_ctl in /usr/lib/postgresql/<version>/bin) so the tests start a "
    f"throwaway server, or set {POSTGRES_URL_ENV}=postgresql://user:password@127.0.0.1:5432/db "
    "to use a running one"
)
REDIS_HOW_TO = (
    "start Redis: install redis-server (Debian: apt-get install redis-server) so the tests "
    f"start a throwaway server, or set {REDIS_URL_ENV}=redis://127.0.0.1:6379/0 to use a "
    "running one"
)
_READY_WITHIN = 30.0
"""Seconds a server may take to answer after it was started."""


class ServerUnavailable(RuntimeError):
    """The server cannot be started here; the message says how to provide one."""


@dataclass
class Server:
    """A started server: its URL, and what :func:`stop` needs."""

    kind: str
    url: str
    directory: str
    pid: int | None = None
    pg_ctl: str | None = None

    def stop(self) -> None:
        """Stop the server (bounded in time) and remove its directory."""
        try:
            if self.kind == "postgres" and self.pg_ctl is not None:
                _run(
                    [self.pg_ctl, "-D", f"{self.directory}/data", "-m", "immediate", "-w", "stop"],
                    as_postgres=True,
                    check=False,
                )
            elif self.pid is not None:
                _terminate(self.pid)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_bin() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl`` (newest installed version), if any."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(found[-1]).parent if found else None


def start_postgres() -> Server:
    """Start a throwaway PostgreSQL on 127.0.0.1 (trust auth, no fsync) and return it."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise ServerUnavailable(f"no initdb/pg_ctl found; {POSTGRES_HOW_TO}")
    as_root = os.geteuid() == 0
    if as_root and shutil.which("runuser") is None:
        raise ServerUnavailable(f"running as root without runuser; {POSTGRES_HOW_TO}")
    directory = tempfile.mkdtemp(prefix="caresupport-pg-")
    os.chmod(directory, 0o700)
    if as_root:
        try:
            import pwd

            entry = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(directory, ignore_errors=True)
            raise ServerUnavailable(f"no 'postgres' user to run as; {POSTGRES_HOW_TO}") from None
        os.chown(directory, entry.pw_uid, entry.pw_gid)
    port = free_port()
    pg_ctl = str(bin_dir / "pg_ctl")
    server = Server("postgres", "", directory, pg_ctl=pg_ctl)
    try:
        _run(
            [
                str(bin_dir / "initdb"),
                "-D",
                f"{directory}/data",
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            as_postgres=as_root,
        )
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -k {directory} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        _run(
            [
                pg_ctl,
                "-D",
                f"{directory}/data",
                "-o",
                options,
                "-l",
                f"{directory}/server.log",
                "-t",
                str(int(_READY_WITHIN)),
                "-w",
                "start",
            ],
            as_postgres=as_root,
        )
    except BaseException:
        server.stop()
        raise
    server.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    return server


def start_redis() -> Server:
    """Start a throwaway redis-server on 127.0.0.1 (no persistence) and return it."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerUnavailable(f"no redis-server found; {REDIS_HOW_TO}")
    directory = tempfile.mkdtemp(prefix="caresupport-redis-")
    port = free_port()
    pidfile = f"{directory}/redis.pid"
    _run(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            directory,
            "--daemonize",
            "yes",
            "--pidfile",
            pidfile,
            "--logfile",
            f"{directory}/redis.log",
        ],
        as_postgres=False,
    )
    server = Server("redis", f"redis://127.0.0.1:{port}/0", directory)
    try:
        deadline = time.monotonic() + _READY_WITHIN
        while not _redis_answers(port):
            if time.monotonic() > deadline:
                raise ServerUnavailable(f"redis-server did not answer on port {port}")
            time.sleep(0.02)
        server.pid = int(Path(pidfile).read_text().strip())
    except BaseException:
        server.stop()
        raise
    return server


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _run(argv: Sequence[str], *, as_postgres: bool, check: bool = True) -> None:
    command = ["runuser", "-u", "postgres", "--", *argv] if as_postgres else list(argv)
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=_READY_WITHIN * 2, check=False
    )
    if check and done.returncode != 0:
        raise ServerUnavailable(
            f"{Path(argv[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}"
        )


def _terminate(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _main(argv: Sequence[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: servers.py start|stop STATE_DIR", file=sys.stderr)
        return 2
    state = Path(argv[1]) / "servers.json"
    if argv[0] == "stop":
        if state.exists():
            for entry in json.loads(state.read_text()):
                Server(**entry).stop()
            state.unlink()
        return 0
    state.parent.mkdir(parents=True, exist_ok=True)  # before a server starts: none is orphaned
    started: list[Server] = []
    try:
        for start in (start_postgres, start_redis):
            began = time.monotonic()
            started.append(start())
            state.write_text(json.dumps([vars(s) for s in started]))
            print(f"{started[-1].kind} ready in {time.monotonic() - began:.1f} s", file=sys.stderr)
    except ServerUnavailable as exc:
        print(f"cannot start the test servers: {exc}", file=sys.stderr)
        return 1
    print(f"export {POSTGRES_URL_ENV}={started[0].url}")
    print(f"export {REDIS_URL_ENV}={started[1].url}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
