"""The run: servers up, every measurement in a fresh subprocess, peers alternating, rounds repeated.

This module runs on any Python 3.11 (standard library only); the peers run on
the benchmark interpreter through ``python -m benchmarks.worker``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks import receiving_suite
from benchmarks.environment import ROOT, machine, worker_env
from benchmarks.imports import measure_imports

__all__ = ["BENCHES", "Settings", "Suite", "canned_server"]

BENCHES = (
    "send-seq",
    "send-conc",
    "webhooks",
    "receive-http",
    "imports",
    "listing",
    "memory",
)
SEND_PEERS = (
    "httpx",
    "linq_client",
    "linq_transport",
    "linq_sdk",
    "urllib",
    "aiohttp",
    "httpx_aiohttp",
    "linq_client_aiohttp",
)
WEBHOOK_PEERS = ("ours_standard", "ours_legacy", "ours_intake", "standardwebhooks", "linq_sdk")


@dataclass(frozen=True)
class Settings:
    """How long and how often each measurement runs."""

    rounds: int = 5
    seq_sends: int = 2000
    seq_warmup: int = 200
    concurrency: int = 50
    latency_ms: float = 20.0
    conc_seconds: float = 3.0
    webhook_seconds: float = 2.0
    receive_seconds: float = 3.0
    receive_warmup: float = 0.5
    listing_totals: tuple[int, int] = (200, 20_000)
    memory_sends: int = 20_000

    @classmethod
    def quick(cls, rounds: int | None = None) -> Settings:
        """A short run (about two minutes on two cores): fewer, shorter rounds."""
        return cls(
            rounds=rounds or 3,
            seq_sends=500,
            seq_warmup=100,
            conc_seconds=1.0,
            webhook_seconds=0.5,
            receive_seconds=1.0,
            receive_warmup=0.3,
            memory_sends=5000,
        )


@contextlib.contextmanager
def canned_server(python: str, latency_ms: float) -> Iterator[str]:
    """Run ``benchmarks.server`` in its own process; yields its origin ``http://127.0.0.1:PORT``."""
    process = subprocess.Popen(
        [python, "-m", "benchmarks.server", "--latency-ms", str(latency_ms)],
        cwd=ROOT,
        env=worker_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        announced = process.stdout.readline().strip()
        if not announced.startswith("listening "):
            raise RuntimeError(f"the canned server did not start: {announced!r}")
        yield "http://" + announced.removeprefix("listening ")
    finally:
        process.terminate()
        process.wait(timeout=10)


def server_stats(origin: str) -> dict[str, int]:
    """The server's counters (this control request is not counted)."""
    with urllib.request.urlopen(f"{origin}/_bench/stats", timeout=10) as response:
        stats: dict[str, int] = json.loads(response.read())
    return stats


def _count_traffic(
    figure: dict[str, Any] | None, before: dict[str, int], after: dict[str, int]
) -> None:
    """Add the connections the peer opened, and the requests it made, to its figure."""
    if figure is not None:
        figure["connections"] = after["connections"] - before["connections"]
        figure["requests"] = after["requests"] - before["requests"]


def _rotated(items: Sequence[str], shift: int) -> list[str]:
    shift %= max(len(items), 1)
    return [*items[shift:], *items[:shift]]


@dataclass
class Suite:
    """One benchmark run and what it found.

    Args:
        python: the benchmark interpreter.
        settings: rounds and durations.
        benches: which of ``BENCHES`` to run.
        say: where progress lines go.
    """

    python: str
    settings: Settings
    benches: Sequence[str] = BENCHES
    say: Callable[[str], None] = print
    results: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    _round_index: int = 0

    def worker(self, *args: str, timeout: float = 600) -> dict[str, Any] | None:
        """Run one measurement in a fresh interpreter; ``None`` (and a note) if it failed."""
        command = [self.python, "-m", "benchmarks.worker", *args]
        done = subprocess.run(
            command, cwd=ROOT, env=worker_env(), capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0 or not done.stdout.strip():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            self.notes.append(f"`{' '.join(args[:3])}` failed: {last}")
            self.say(f"  ! {' '.join(args[:3])} failed: {last}")
            return None
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    def run(self) -> dict[str, Any]:
        """Run the chosen benches and return every figure (see ``benchmarks.report``)."""
        started = time.time()
        load_before = os.getloadavg()
        versions = self.worker("versions") or {}
        unavailable: dict[str, str] = versions.get("unavailable", {})
        for peer, reason in unavailable.items():
            self.notes.append(f"peer `{peer}` skipped: {reason}")
            self.say(f"  - {peer} skipped: {reason}")
        send_peers = [p for p in SEND_PEERS if p not in unavailable]
        hook_peers = [
            p for p in WEBHOOK_PEERS if not (p == "linq_sdk" and "linq_sdk" in unavailable)
        ]
        for name in ("send_seq", "send_conc", "webhooks", "receive_http", "listing", "memory"):
            self.results[name] = {}
        receive_targets, receive_skipped = receiving_suite.available_targets()
        if "receive-http" in self.benches:
            for target, reason in receive_skipped.items():
                self.notes.append(f"receiving target `{target}` skipped: {reason}")
        with (
            canned_server(self.python, 0.0) as origin,
            canned_server(self.python, self.settings.latency_ms) as slow_origin,
        ):
            for round_index in range(self.settings.rounds):
                self.say(f"round {round_index + 1} of {self.settings.rounds}")
                self._round(round_index, origin, slow_origin, send_peers, hook_peers)
                if "receive-http" in self.benches:
                    self._receive_round(round_index, receive_targets)
        if "imports" in self.benches:
            self.say("import times")
            self.results["imports"] = measure_imports(self.python, self.settings.rounds)
        self.results["meta"] = {
            "machine": machine(),
            "python": versions.get("python"),
            "packages": versions.get("packages", {}),
            "settings": asdict(self.settings),
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
            "seconds": time.time() - started,
            "load_before": load_before,
            "load_after": os.getloadavg(),
            "orchestrator": sys.version.split()[0],
            "max_in_flight": versions.get("max_in_flight"),
            "max_in_flight_aiohttp": versions.get("max_in_flight_aiohttp"),
        }
        self.results["notes"] = self.notes
        return self.results

    def _receive_round(self, index: int, targets: Sequence[str]) -> None:
        """Each receiver in turn (rotated), at every concurrency, loaded from another process."""
        self._round_index = index
        for target in _rotated(targets, index):
            figures = receiving_suite.run_target(
                self.python,
                target,
                seconds=self.settings.receive_seconds,
                warmup=self.settings.receive_warmup,
                note=self._note,
            )
            for concurrency, figure in figures.items():
                self._record("receive_http", f"{target}@{concurrency}", figure)

    def _note(self, text: str) -> None:
        self.notes.append(text)
        self.say(f"  ! {text}")

    def _record(self, bench: str, key: str, figure: dict[str, Any] | None) -> None:
        if figure is not None:
            figure["round"] = self._round_index
            self.results[bench].setdefault(key, []).append(figure)

    def _round(
        self,
        index: int,
        origin: str,
        slow_origin: str,
        send_peers: Sequence[str],
        hook_peers: Sequence[str],
    ) -> None:
        s = self.settings
        self._round_index = index
        if "send-seq" in self.benches:
            for peer in _rotated(send_peers, index):
                before = server_stats(origin)
                figure = self.worker(
                    *("send-seq", "--peer", peer, "--origin", origin),
                    *("--count", str(s.seq_sends), "--warmup", str(s.seq_warmup)),
                )
                _count_traffic(figure, before, server_stats(origin))
                self._record("send_seq", peer, figure)
        if "send-conc" in self.benches:
            for peer in _rotated(send_peers, index):
                before = server_stats(slow_origin)
                figure = self.worker(
                    *("send-conc", "--peer", peer, "--origin", slow_origin),
                    *("--concurrency", str(s.concurrency), "--seconds", str(s.conc_seconds)),
                )
                _count_traffic(figure, before, server_stats(slow_origin))
                self._record("send_conc", peer, figure)
        if "webhooks" in self.benches:
            for peer in _rotated(hook_peers, index):
                figure = self.worker(
                    "webhooks", "--peer", peer, "--seconds", str(s.webhook_seconds)
                )
                self._record("webhooks", peer, figure)
        if "listing" in self.benches:
            for total in _rotated([str(t) for t in s.listing_totals], index):
                figure = self.worker("listing", "--origin", origin, "--total", total)
                self._record("listing", total, figure)
        if "memory" in self.benches:
            figure = self.worker("memory", "--count", str(s.memory_sends))
            self._record("memory", "InMemoryTransport", figure)
