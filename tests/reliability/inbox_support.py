"""What the inbox proofs share: the Linq simulator process, the inbox processes, the effect log.

* :class:`LinqSimulator` runs ``caresupport-transport simulate`` as one process
  on loopback, shared by every worker process: it opens each person's chat
  (its control endpoint plays the person writing in) and says, in its
  ``/_simulator/state``, how many messages each idempotency key created.
* :class:`InboxProcess` is one ``inbox_process.py`` process (a receiver or a
  worker): started, SIGKILLed, or stopped with SIGTERM.
* :class:`Connection` is the test's Linq: a lean HTTP/1.1 client for posting deliveries.
* :func:`read_log` parses the handler's effect log (see ``inbox_process.py``).
* :func:`delivery_body` and :func:`signed_headers` build a Linq ``message.received``
  delivery, signed as Linq signs it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs
import httpx

from adapters.linq.webhooks import sign_standard
from tests.linq.receiver.support import encode, envelope
from tests.stores import servers

from .inbox_process import LINE, STORE_URL_ENV
from .webhooks import SECRET

__all__ = [
    "Connection",
    "InboxProcess",
    "LinqSimulator",
    "LogLine",
    "NoAnswer",
    "cpu_seconds",
    "delivery_body",
    "machine_busy_ticks",
    "read_log",
    "signed_headers",
    "started_workers",
    "wait_until",
]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("inbox_process.py")
START_DEADLINE = 60.0
"""Seconds a process may take to answer after it was started, on a loaded machine."""


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds the process used so far (Linux's ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the machine so far (Linux's ``/proc/stat``; zeros elsewhere)."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return 0, 0
    ticks = [int(value) for value in first[1:9]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return sum(ticks) - idle, sum(ticks)


def _env(**extra: str) -> dict[str, str]:
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **extra}


async def wait_until(
    condition: Callable[[], Awaitable[bool]],
    *,
    within: float,
    what: str,
    every: float = 0.1,
    explain: Callable[[], str] = lambda: "",
) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:g} s\n{explain()}")
        await asyncio.sleep(every)


@attrs.define
class InboxProcess:
    """One ``inbox_process.py`` process (``receive`` or ``work``), its output kept in a file."""

    argv: list[str]
    store_url: str
    output: Path
    pass_fds: tuple[int, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    cpu: float = 0.0
    """CPU seconds it used, noted when it was killed or stopped."""

    def start(self) -> InboxProcess:
        with self.output.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, str(SCRIPT), *self.argv],
                pass_fds=self.pass_fds,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                env=_env(**{STORE_URL_ENV: self.store_url}),
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish anything."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.cpu = cpu_seconds(self.pid)  # a zombie until waited for: its counts are still there
        self.process.wait()

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (a graceful stop), SIGKILL after ``timeout``; the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.cpu = cpu_seconds(self.pid)
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def tail(self, chars: int | None = 3000) -> str:
        """The end of what the process printed (all of it with ``chars=None``)."""
        text = self.output.read_text(errors="replace") if self.output.exists() else ""
        return text if chars is None else text[-chars:]


@attrs.define
class LinqSimulator:
    """``caresupport-transport simulate`` in a process of its own, on a free loopback port."""

    output: Path
    token: str = attrs.Factory(lambda: f"sim_{uuid.uuid4().hex}")
    port: int = attrs.Factory(servers.free_port)
    process: subprocess.Popen[bytes] | None = None
    cpu: float = 0.0
    """CPU seconds it used, noted when it was stopped."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def start(self) -> None:
        """Start the process and wait until it answers."""
        self._launch()

        async def answers() -> bool:
            assert self.process is not None
            assert self.process.poll() is None, self.tail()
            try:
                await self.state()
            except httpx.TransportError:
                return False
            return True

        await wait_until(answers, within=START_DEADLINE, what="the simulator answering")

    def _launch(self) -> None:
        with self.output.open("ab") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    *("-m", "adapters.cli", "simulate"),
                    *("--port", str(self.port), "--token", self.token, "--phone", LINE),
                ],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                env=_env(),
            )

    async def _control(self, method: str, action: str, body: object = None) -> dict[str, Any]:
        async with httpx.AsyncClient(trust_env=False, timeout=30.0) as http:
            response = await http.request(
                method, f"{self.url}/_simulator/{action}", json=body, headers=self._headers
            )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    async def state(self) -> dict[str, Any]:
        """The simulator's counters (``messages_by_idempotency_key``, ``requests``, ...)."""
        return await self._control("GET", "state")

    async def open_chat(self, person: str, text: str = "Hi, it's me") -> str:
        """``person`` writes to our line, which opens their chat; the chat's id."""
        answer = await self._control("POST", "inbound", {"from": person, "text": text})
        chat_id: str = answer["chat_id"]
        return chat_id

    async def thread(self, chat_id: str) -> list[dict[str, Any]]:
        """Every message in the chat, read through the simulated Linq API."""
        messages: list[dict[str, Any]] = []
        async with httpx.AsyncClient(trust_env=False, timeout=30.0) as http:
            cursor: str | None = None
            while True:
                params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
                response = await http.get(
                    f"{self.url}/api/partner/v3/chats/{chat_id}/messages",
                    params=params,
                    headers=self._headers,
                )
                response.raise_for_status()
                page = response.json()
                messages.extend(page["messages"])
                cursor = page.get("next_cursor")
                if not cursor:
                    return messages

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.cpu = cpu_seconds(self.process.pid)
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def tail(self) -> str:
        text = self.output.read_text(errors="replace") if self.output.exists() else ""
        return text[-3000:]


class NoAnswer(Exception):
    """The connection failed, closed, or the answer did not come in time."""


@attrs.define
class Connection:
    """One keep-alive HTTP/1.1 connection, enough to POST webhook deliveries and read answers.

    The test's Linq sends thousands of deliveries on a two-core machine that also
    runs every process under test: httpx spends a few milliseconds of CPU on
    each request here, this a tenth of that.
    """

    host: str
    port: int
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None

    async def post(
        self, path: str, body: bytes, headers: dict[str, str], *, within: float
    ) -> tuple[int, bytes]:
        """The status and body of the answer to one POST.

        Raises:
            NoAnswer: no complete answer within ``within`` seconds (the connection is closed).
        """
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Length: {len(body)}\r\n{head}\r\n"
        ).encode("latin-1") + body
        try:
            async with asyncio.timeout(within):
                if self._reader is None or self._reader.at_eof():
                    self.close()  # the server closed an idle connection
                    self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
                assert self._writer is not None
                self._writer.write(request)
                await self._writer.drain()
                status_line, *lines = (
                    (await self._reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                )
                fields = dict(line.lower().split(": ", 1) for line in lines if ": " in line)
                answer = await self._read_body(self._reader, fields)
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            self.close()
            raise NoAnswer(type(exc).__name__) from exc
        if fields.get("connection") == "close":
            self.close()
        return int(status_line.split(" ")[1]), answer

    @staticmethod
    async def _read_body(reader: asyncio.StreamReader, fields: dict[str, str]) -> bytes:
        if fields.get("transfer-encoding") != "chunked":
            return await reader.readexactly(int(fields.get("content-length", "0")))
        chunks = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        await reader.readuntil(b"\r\n")
        return b"".join(chunks)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


@attrs.frozen
class LogLine:
    """One step of the handler (see ``inbox_process.py``)."""

    phase: str
    pid: int
    at: float
    order_key: str
    event_id: str
    call: int
    extra: str = ""


def read_log(path: Path) -> list[LogLine]:
    """The effect log's lines, in the order they were written."""
    if not path.exists():
        return []
    lines = []
    for text in path.read_text().splitlines():
        phase, pid, at, order_key, event_id, call, *extra = text.split(" ")
        line = LogLine(phase, int(pid), float(at), order_key, event_id, int(call), " ".join(extra))
        lines.append(line)
    return lines


def started_workers(path: Path) -> set[int]:
    """The pids of the workers that wrote their start line (``W``) to the effect log."""
    if not path.exists():
        return set()
    lines = path.read_text().splitlines()
    return {int(text.split(" ")[1]) for text in lines if text.startswith("W ")}


def delivery_body(*, event_id: str, message_id: str, chat_id: str, person: str, text: str) -> bytes:
    """A ``message.received`` delivery (2026-02-03 payload) from ``person`` in ``chat_id``."""
    payload = envelope(event_id, message_id=message_id, chat_id=chat_id, text=text)
    payload["data"]["sender_handle"]["handle"] = person
    payload["data"]["chat"]["owner_handle"]["handle"] = LINE
    return encode(payload)


def signed_headers(body: bytes, event_id: str, secret: str = SECRET) -> dict[str, str]:
    """Standard Webhooks headers signed now, as Linq signs every attempt afresh."""
    headers = sign_standard(body, secret, msg_id=event_id, timestamp=int(time.time()))
    return {**headers, "Content-Type": "application/json"}
