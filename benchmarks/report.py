"""Turn a run's figures into medians, spreads, ratios, target verdicts and ``docs/benchmarks.md``.

Ratios between two peers are paired by round (each round ran both peers back to
back) and the median of the per-round ratios is reported with its range, so
slow drift of the machine's load cancels out.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.imports import IMPORTS
from benchmarks.peers import PEERS
from benchmarks.receive_http import RECEIVE_TARGETS
from benchmarks.webhook_bench import WEBHOOK_PEERS

__all__ = ["Target", "render_markdown", "summary", "targets"]

FINDINGS = Path(__file__).resolve().parent / "findings.md"

Figures = dict[str, list[dict[str, Any]]]


def _values(figures: Sequence[dict[str, Any]], key: str) -> list[float]:
    return [float(f[key]) for f in figures if key in f]


def _spread(values: Sequence[float], fmt: str = "{:,.0f}") -> str:
    if not values:
        return "n/a"
    median = fmt.format(statistics.median(values))
    if len(values) == 1:
        return median
    return f"{median} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def paired_ratios(figures: Figures, peer: str, base: str, key: str) -> list[float]:
    """``peer``'s figure over ``base``'s, round by round (rounds where both ran)."""
    by_round = {f["round"]: float(f[key]) for f in figures.get(base, [])}
    return [
        float(f[key]) / by_round[f["round"]]
        for f in figures.get(peer, [])
        if by_round.get(f["round"])
    ]


def _requests_per_send(figures: Sequence[dict[str, Any]]) -> list[float]:
    return [f["requests"] / f["all_sends"] for f in figures if f.get("all_sends")]


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


@dataclass(frozen=True)
class Target:
    """One target of the issue, with what was measured."""

    name: str
    goal: str
    measured: float | None
    limit: float
    at_most: bool
    spread: str

    @property
    def met(self) -> bool | None:
        if self.measured is None:
            return None
        return self.measured <= self.limit if self.at_most else self.measured >= self.limit

    @property
    def verdict(self) -> str:
        return {True: "met", False: "**missed**", None: "not measured"}[self.met]


def _ratio_spread(values: Sequence[float]) -> str:
    return _spread(values, "{:.2f}x")


def targets(results: dict[str, Any]) -> list[Target]:
    """Each target of the issue against this run's paired ratios."""
    seq, conc = results.get("send_seq", {}), results.get("send_conc", {})
    hooks, listing = results.get("webhooks", {}), results.get("listing", {})
    imports: dict[str, list[float]] = results.get("imports", {})
    found: list[Target] = []

    def add(name: str, goal: str, ratios: list[float], limit: float, *, at_most: bool) -> None:
        found.append(Target(name, goal, _median(ratios), limit, at_most, _ratio_spread(ratios)))

    key = "cpu_us_per_send"
    add(
        "LinqClient CPU per sequential send / raw httpx",
        "<= 1.15x",
        paired_ratios(seq, "linq_client", "httpx", key),
        1.15,
        at_most=True,
    )
    add(
        "LinqClient CPU per sequential send / official SDK",
        "<= 0.70x",
        paired_ratios(seq, "linq_client", "linq_sdk", key),
        0.70,
        at_most=True,
    )
    add(
        "LinqClient throughput at concurrency 50 / raw httpx",
        ">= 1.0x",
        paired_ratios(conc, "linq_client", "httpx", "sends_per_second"),
        1.0,
        at_most=False,
    )
    bound = results.get("meta", {}).get("max_in_flight") or 0
    connections = _values(conc.get("linq_client", []), "connections")
    found.append(
        Target(
            "LinqClient connections at concurrency 50 (max over rounds)",
            f"<= max_in_flight ({bound})",
            max(connections) if connections else None,
            float(bound),
            True,
            _spread(connections),
        )
    )
    add(
        "LinqClient over aiohttp: CPU per sequential send / raw httpx",
        "<= 0.70x",
        paired_ratios(seq, "linq_client_aiohttp", "httpx", key),
        0.70,
        at_most=True,
    )
    add(
        "LinqClient over aiohttp: throughput at concurrency 50 / raw aiohttp",
        ">= 0.5x",
        paired_ratios(conc, "linq_client_aiohttp", "aiohttp", "sends_per_second"),
        0.5,
        at_most=False,
    )
    aio_connections = _values(conc.get("linq_client_aiohttp", []), "connections")
    aio_bound = results.get("meta", {}).get("max_in_flight_aiohttp") or 0
    found.append(
        Target(
            "LinqClient over aiohttp: connections at concurrency 50 (max over rounds)",
            f"<= its max_in_flight ({aio_bound})",
            max(aio_connections) if aio_connections else None,
            float(aio_bound),
            True,
            _spread(aio_connections),
        )
    )
    add(
        "Webhook verify+parse (Standard Webhooks) / SDK unwrap",
        ">= 2x",
        paired_ratios(hooks, "ours_standard", "linq_sdk", "events_per_second"),
        2.0,
        at_most=False,
    )
    add(
        "Webhook verify + the inbox intake's read (what the receiver does per message) "
        "/ standardwebhooks verify + json.loads",
        ">= 0.8x",
        paired_ratios(hooks, "ours_intake", "standardwebhooks", "events_per_second"),
        0.8,
        at_most=False,
    )
    add(
        "Webhook verify + full parse into a domain event (Standard Webhooks) "
        "/ standardwebhooks verify + json.loads",
        ">= 0.8x",
        paired_ratios(hooks, "ours_standard", "standardwebhooks", "events_per_second"),
        0.8,
        at_most=False,
    )
    receive = results.get("receive_http", {})
    for target, label, goal in (
        ("serve_sqlite", "SQLite (full)", 0.7),
        ("serve_memory", "memory store", 0.9),
    ):
        for concurrency in (1, 20):
            add(
                f"webhooks serve (intake), {label}, deliveries/s "
                f"at concurrency {concurrency} / naive",
                f">= {goal:.1f}x",
                paired_ratios(
                    receive,
                    f"{target}@{concurrency}",
                    f"naive@{concurrency}",
                    "deliveries_per_second",
                ),
                goal,
                at_most=False,
            )
    ours = imports.get("adapters.linq", [])
    sdk = imports.get("linq (official SDK)", [])
    import_ratios = [a / b for a, b in zip(ours, sdk, strict=False) if b > 0]
    add(
        "import adapters.linq (LinqClient) / import linq",
        "<= 0.5x",
        import_ratios,
        0.5,
        at_most=True,
    )
    small, large = (
        str(t)
        for t in results.get("meta", {}).get("settings", {}).get("listing_totals", (200, 20_000))
    )
    add(
        f"Peak RSS listing {int(large):,} chats / {int(small):,} chats",
        "<= 1.10x",
        paired_ratios(listing, large, small, "peak_rss_kib"),
        1.10,
        at_most=True,
    )
    return found


def _label(peer: str) -> str:
    return PEERS[peer][0] if peer in PEERS else WEBHOOK_PEERS.get(peer, peer)


def _send_tables(results: dict[str, Any]) -> list[str]:
    seq, conc = results.get("send_seq", {}), results.get("send_conc", {})
    settings = results.get("meta", {}).get("settings", {})
    lines = [
        "### 1. Client CPU per sequential send (server answers at once)",
        "",
        f"{settings.get('seq_sends', '?')} sends per round after "
        f"{settings.get('seq_warmup', '?')} warm-up sends; client process CPU time "
        "(`time.process_time`) over the sends.",
        "",
        "| peer | CPU µs / send | wall µs / send | CPU vs raw httpx | TCP connections "
        "| HTTP requests / send |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for peer in seq:
        ratios = paired_ratios(seq, peer, "httpx", "cpu_us_per_send")
        lines.append(
            f"| {_label(peer)} | {_spread(_values(seq[peer], 'cpu_us_per_send'))} "
            f"| {_spread(_values(seq[peer], 'wall_us_per_send'))} | {_ratio_spread(ratios)} "
            f"| {_spread(_values(seq[peer], 'connections'))} "
            f"| {_spread(_requests_per_send(seq[peer]), '{:.0f}')} |"
        )
    lines += [
        "",
        f"### 2. Throughput at concurrency {settings.get('concurrency', 50)}, server latency "
        f"{settings.get('latency_ms', 20):g} ms",
        "",
        f"{settings.get('concurrency', 50)} tasks send in a loop for "
        f"{settings.get('conc_seconds', '?')} s after one warm-up send each.",
        "",
        "| peer | sends / s | vs raw httpx | TCP connections opened | CPU µs / send |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for peer in conc:
        ratios = paired_ratios(conc, peer, "httpx", "sends_per_second")
        lines.append(
            f"| {_label(peer)} | {_spread(_values(conc[peer], 'sends_per_second'))} "
            f"| {_ratio_spread(ratios)} | {_spread(_values(conc[peer], 'connections'))} "
            f"| {_spread(_values(conc[peer], 'cpu_us_per_send'))} |"
        )
    return lines


def _other_tables(results: dict[str, Any]) -> list[str]:
    hooks, listing = results.get("webhooks", {}), results.get("listing", {})
    imports: dict[str, list[float]] = results.get("imports", {})
    memory = results.get("memory", {}).get("InMemoryTransport", [])
    lines = [
        "### 3. Webhook verify + parse (`message.received`, 2026-02-03 payload)",
        "",
        "| peer | events / s | CPU µs / event | vs SDK unwrap |",
        "| --- | ---: | ---: | ---: |",
    ]
    for peer in hooks:
        ratios = paired_ratios(hooks, peer, "linq_sdk", "events_per_second")
        lines.append(
            f"| {_label(peer)} | {_spread(_values(hooks[peer], 'events_per_second'))} "
            f"| {_spread(_values(hooks[peer], 'cpu_us_per_event'), '{:,.1f}')} "
            f"| {_ratio_spread(ratios)} |"
        )
    lines += ["", *_receive_table(results)]
    sdk_imports = imports.get("linq (official SDK)", [])
    lines += [
        "",
        "### 4. Import time (fresh interpreter, minus bare start-up)",
        "",
        "| statement | ms | vs `import linq` |",
        "| --- | ---: | ---: |",
    ]
    for label, times in imports.items():
        ratios = [a / b for a, b in zip(times, sdk_imports, strict=False) if b > 0]
        lines.append(
            f"| `{IMPORTS.get(label, label)}` | {_spread(times, '{:,.1f}')} "
            f"| {_ratio_spread(ratios)} |"
        )
    lines += [
        "",
        "### 5. Listing chats through `LinqClient.list_chats` (pages of 100)",
        "",
        "| chats | peak RSS MiB | RSS before listing MiB | seconds |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for total, figures in sorted(listing.items(), key=lambda item: int(item[0])):
        peak = [v / 1024 for v in _values(figures, "peak_rss_kib")]
        before = [v / 1024 for v in _values(figures, "baseline_rss_kib")]
        lines.append(
            f"| {int(total):,} | {_spread(peak, '{:.1f}')} | {_spread(before, '{:.1f}')} "
            f"| {_spread(_values(figures, 'seconds'), '{:.2f}')} |"
        )
    lines += [
        "",
        "### 6. `InMemoryTransport`",
        "",
        "| sends / s | CPU µs / send |",
        "| ---: | ---: |",
        f"| {_spread(_values(memory, 'sends_per_second'))} "
        f"| {_spread(_values(memory, 'cpu_us_per_send'), '{:.1f}')} |",
    ]
    return lines


def _receive_table(results: dict[str, Any]) -> list[str]:
    receive = results.get("receive_http", {})
    settings = results.get("meta", {}).get("settings", {})
    lines = [
        "### 3b. Receiving webhooks over HTTP (deliveries answered 200 per second)",
        "",
        "Each receiver runs in its own process under uvicorn (h11); a load generator in",
        "another process sends signed, unique `message.received` deliveries (Standard",
        "Webhooks) to 50 chats in turn over keep-alive connections, one request in flight",
        f"per connection, for {settings.get('receive_seconds', '?')} s after",
        f"{settings.get('receive_warmup', '?')} s of warm-up. `webhooks serve` runs with",
        "`--no-workers`: it verifies each delivery and stores it in its inbox (the work",
        "the naive receiver does, made durable), as when `inbox work` processes handle;",
        "the last two rows run its in-process worker too (a line per event to",
        "/dev/null), which competes for the same two cores. The naive receiver verifies",
        "with standardwebhooks, parses with `json.loads` and keeps a Python set. Server",
        "CPU is the receiver process's CPU time per answered delivery (warm-up included).",
        "",
        "| receiver | c=1 deliveries / s | c=1 vs naive | c=20 deliveries / s "
        "| c=20 vs naive | server CPU µs / delivery, c=1 | c=20 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for target, label in RECEIVE_TARGETS.items():
        cells = []
        for concurrency in (1, 20):
            key = f"{target}@{concurrency}"
            ratios = paired_ratios(receive, key, f"naive@{concurrency}", "deliveries_per_second")
            cells += [
                _spread(_values(receive.get(key, []), "deliveries_per_second")),
                _ratio_spread(ratios),
            ]
        for concurrency in (1, 20):
            key = f"{target}@{concurrency}"
            cells.append(_spread(_values(receive.get(key, []), "server_cpu_us_per_delivery")))
        if any(cell != "n/a" for cell in cells):
            lines.append(f"| {label} | {' | '.join(cells)} |")
    return lines


def _target_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| target | goal | measured (median, range over rounds) | verdict |",
        "| --- | --- | --- | --- |",
    ]
    for target in targets(results):
        lines.append(f"| {target.name} | {target.goal} | {target.spread} | {target.verdict} |")
    return lines


def _environment(results: dict[str, Any]) -> list[str]:
    meta = results.get("meta", {})
    host = meta.get("machine", {})
    packages = ", ".join(
        f"{name} {version}" for name, version in meta.get("packages", {}).items() if version
    )
    load_before = ", ".join(f"{v:.2f}" for v in meta.get("load_before", ()))
    load_after = ", ".join(f"{v:.2f}" for v in meta.get("load_after", ()))
    memory = host.get("memory_gib")
    return [
        f"- Machine: {host.get('cpu', '?')}, {host.get('cores', '?')} cores"
        + (f", {memory:.0f} GiB" if memory else "")
        + f"; {host.get('os', '?')}",
        f"- Python {meta.get('python', '?')} (benchmark environment); commit "
        f"`{host.get('commit', '?')}`; run started {meta.get('started', '?')}, "
        f"took {meta.get('seconds', 0):.0f} s, {meta.get('settings', {}).get('rounds', '?')} "
        "rounds",
        f"- Load average before / after: {load_before} / {load_after}",
        f"- Packages: {packages}",
    ]


def render_markdown(results: dict[str, Any], *, chart: str | None) -> str:
    """The whole of ``docs/benchmarks.md`` for this run."""
    lines = [
        "# Benchmarks",
        "",
        "Generated by `python benchmarks/run.py` (do not edit by hand; the findings",
        "section comes from `benchmarks/findings.md`). Figures are medians over rounds",
        "with the range (min–max) in brackets; every measurement ran in a fresh",
        "interpreter, peers alternating within each round. Ratios are paired by round.",
        "",
        *_environment(results),
        "",
        "## Targets",
        "",
        "A verdict is on the median; where the range crosses the goal, some rounds",
        "missed it (see the caveats below on this shared machine).",
        "",
        *_target_table(results),
        "",
    ]
    if chart:
        lines += [f"![benchmark figures]({chart})", ""]
    lines += ["## Figures", "", *_send_tables(results), "", *_other_tables(results), ""]
    notes = results.get("notes", [])
    if notes:
        lines += ["## Notes from this run", "", *(f"- {note}" for note in notes), ""]
    if FINDINGS.exists():
        lines += [FINDINGS.read_text(encoding="utf-8").rstrip(), ""]
    return "\n".join(lines)


def summary(results: dict[str, Any]) -> str:
    """What the run prints: the target verdicts and the figure tables."""
    lines = ["", "Targets", "", *_target_table(results), ""]
    lines += [*_send_tables(results), "", *_other_tables(results)]
    notes = results.get("notes", [])
    if notes:
        lines += ["", "Notes:", *(f"- {note}" for note in notes)]
    return "\n".join(lines)
