"""``caresupport-transport webhooks serve`` as a real process on 127.0.0.1, and clients for it.

Each server gets a free port, a secret file, a SQLite file, and stdout/stderr
written to files (a pipe nobody reads would fill up and stall the server).
Every wait here is bounded in time.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from adapters.linq.webhooks import sign_standard

from .support import SECRET

REPO = Path(__file__).resolve().parents[3]
DEBUG_LOGGING = "import logging, sys; logging.basicConfig(level=logging.DEBUG)"


@attrs.define
class ServeProcess:
    """A running ``webhooks serve``: its port, pid and output files."""

    process: subprocess.Popen[bytes]
    port: int
    stdout: Path
    stderr: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kb(self) -> int:
        """Resident memory of the server process, from /proc (kB)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS in /proc status")

    def output(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _lower_fd_limit(limit: int) -> Callable[[], None]:
    def preexec() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return preexec


@contextmanager
def serve_process(
    tmp_path: Path,
    *args: str,
    fd_limit: int | None = None,
    debug_logging: bool = False,
    startup_seconds: float = 15.0,
) -> Iterator[ServeProcess]:
    """Start ``webhooks serve`` with ``args``; yield once it accepts connections; stop it."""
    port = free_port()
    secret_file = tmp_path / "signing-secret"
    secret_file.write_text(f"# the test's secret\n{SECRET}\n")
    stdout, stderr = tmp_path / "serve.out", tmp_path / "serve.err"
    argv = [
        "webhooks",
        "serve",
        "--port",
        str(port),
        "--db",
        str(tmp_path / "events.sqlite"),
        "--secret-file",
        str(secret_file),
        *args,
    ]
    prelude = DEBUG_LOGGING if debug_logging else "import sys"
    code = f"{prelude}; from adapters.cli.main import main; sys.exit(main({argv!r}))"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    env.pop("LINQ_WEBHOOK_SIGNING_SECRET", None)
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=out,
            stderr=err,
            cwd=tmp_path,
            env=env,
            preexec_fn=_lower_fd_limit(fd_limit) if fd_limit else None,
        )
    server = ServeProcess(process, port, stdout, stderr)
    try:
        _wait_until_listening(server, startup_seconds)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_until_listening(server: ServeProcess, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(
                f"serve exited with {server.process.returncode}: {server.output()}"
            )
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"serve did not listen within {seconds} s: {server.output()}")


def delivery(
    event_id: str,
    *,
    event_type: str = "message.received",
    text: str = "Did Mom take her 8am pills?",
    sender: str = "+12025559876",
    data: dict[str, Any] | None = None,
) -> bytes:
    """A 2026-02-03 delivery; ``data`` replaces the message fields for other event types."""
    payload = data or {
        "chat": {"id": "chat-1", "is_group": False, "owner_handle": {"handle": "+12025551234"}},
        "id": f"msg-{event_id}",
        "direction": "inbound",
        "sender_handle": {"handle": sender},
        "parts": [{"type": "text", "value": text}],
        "service": "iMessage",
        "sent_at": "2026-02-05T19:31:13.074Z",
    }
    return json.dumps(
        {
            "api_version": "v3",
            "webhook_version": "2026-02-03",
            "event_type": event_type,
            "event_id": event_id,
            "created_at": "2026-02-05T19:31:13.736Z",
            "data": payload,
        }
    ).encode()


def signed_request(body: bytes, *, msg_id: str = "msg_1") -> bytes:
    """The whole HTTP/1.1 request for a genuine delivery, signed now."""
    headers = sign_standard(body, SECRET, msg_id=msg_id, timestamp=int(time.time()))
    return request_bytes(body, headers)


def request_bytes(body: bytes, headers: dict[str, str], *, length: int | None = None) -> bytes:
    lines = [
        "POST /linq/webhooks HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Content-Length: {len(body) if length is None else length}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def send_and_read_status(port: int, request: bytes, *, timeout: float) -> int | None:
    """Send ``request`` on a new connection; the answer's status, or ``None`` for silence.

    Silence is a timeout, a reset before any answer, or a close without one.
    """
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
            connection.sendall(request)
            received = b""
            while b"\r\n" not in received:
                connection.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = connection.recv(4096)
                if not chunk:
                    return None
                received += chunk
    except OSError:
        return None
    status_line = received.split(b"\r\n", 1)[0].split()
    return int(status_line[1])


class SlowClient:
    """A connection that sends its first bytes once connected, then a little at a time.

    Connecting does not block: against a server whose backlog is full the
    kernel keeps retrying, as an attacker's would.
    """

    def __init__(self, port: int, first_bytes: bytes) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setblocking(False)
        self.socket.connect_ex(("127.0.0.1", port))
        self._first = first_bytes

    def poke(self, more: bytes) -> None:
        """Send the first bytes if not sent yet, else ``more``; quietly if not connected yet."""
        try:
            if self._first:
                self._first = self._first[self.socket.send(self._first) :]
            else:
                self.socket.send(more)
        except OSError:
            pass  # not connected yet, or closed by the server

    def closed_by_server(self) -> bool:
        """Whether the server closed it (end of stream or reset), without waiting.

        An answer sent before the close is read and dropped.
        """
        for _ in range(64):  # at most 4 MB of answer: far more than any refusal
            try:
                if self.socket.recv(65536) == b"":
                    return True
            except (BlockingIOError, InterruptedError):
                return False
            except OSError as exc:
                # Not connected yet is open as far as the test is concerned.
                return exc.errno not in (errno.ENOTCONN, errno.EINPROGRESS)
        return False

    def close(self) -> None:
        self.socket.close()


@contextmanager
def slow_clients(port: int, count: int, first_bytes: bytes) -> Iterator[list[SlowClient]]:
    clients = [SlowClient(port, first_bytes) for _ in range(count)]
    try:
        yield clients
    finally:
        for client in clients:
            client.close()


def poke_all(clients: Sequence[SlowClient], more: bytes = b"X-Slow: 1\r\n") -> None:
    for client in clients:
        client.poke(more)
