"""Bar charts of a run's figures (matplotlib, from the benchmark environment).

``python -m benchmarks.chart RESULTS.json OUT.png``: one panel per benchmark,
bars at the median, whiskers at the min and max over rounds.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["draw"]

_SHORT = {
    "httpx": "raw httpx",
    "linq_client": "LinqClient",
    "linq_transport": "LinqTransport",
    "linq_sdk": "official SDK",
    "urllib": "urllib\n(blocking)",
    "ours_standard": "ours\n(standard)",
    "ours_legacy": "ours\n(legacy)",
    "ours_intake": "ours\n(inbox intake)",
    "standardwebhooks": "standard-\nwebhooks",
    "aiohttp": "raw\naiohttp",
    "httpx_aiohttp": "httpx over\nhttpx-aiohttp",
    "linq_client_aiohttp": "LinqClient\nover aiohttp",
    "naive": "naive\nreceiver",
    "serve_sqlite": "serve\nSQLite full",
    "serve_sqlite_normal": "serve\nSQLite normal",
    "serve_memory": "serve\nmemory",
    "serve_postgres": "serve\nPostgreSQL",
    "serve_redis": "serve\nRedis",
    "serve_sqlite_worker": "serve+worker\nSQLite full",
    "serve_memory_worker": "serve+worker\nmemory",
}
_IMPORT_LABELS = {
    "caresupport_transport": "caresupport_\ntransport",
    "adapters.linq": "adapters.linq\n(LinqClient)",
    "LinqTransport": "LinqTransport",
    "linq (official SDK)": "linq\n(official SDK)",
    "httpx (for reference)": "httpx\n(reference)",
}
_OURS = {
    "linq_client",
    "linq_client_aiohttp",
    "serve_sqlite",
    "serve_sqlite_normal",
    "serve_memory",
    "serve_postgres",
    "serve_redis",
    "serve_sqlite_worker",
    "serve_memory_worker",
    "linq_transport",
    "ours_standard",
    "ours_legacy",
    "ours_intake",
    "caresupport_transport",
    "adapters.linq",
    "LinqTransport",
    "200 chats",
    "20,000 chats",
}


def _panel(
    axis: Any,
    title: str,
    bars: Mapping[str, Sequence[float]],
    unit: str,
    *,
    log: bool = False,
    short: Mapping[str, str] = _SHORT,
) -> None:
    labels = [short.get(name, name) for name in bars]
    medians = [statistics.median(v) if v else 0.0 for v in bars.values()]
    lower = [m - min(v) if v else 0.0 for m, v in zip(medians, bars.values(), strict=True)]
    upper = [max(v) - m if v else 0.0 for m, v in zip(medians, bars.values(), strict=True)]
    colours = ["tab:blue" if name in _OURS else "tab:gray" for name in bars]
    axis.bar(labels, medians, yerr=[lower, upper], color=colours, capsize=3)
    axis.set_title(title, fontsize=10)
    axis.set_ylabel(unit, fontsize=9)
    axis.tick_params(axis="x", labelsize=8 if len(labels) <= 5 else 7)
    if len(labels) > 5:  # side by side they would overlap
        axis.tick_params(axis="x", labelrotation=40)
        for label in axis.get_xticklabels():
            label.set_horizontalalignment("right")
    if log:
        axis.set_yscale("log")
    for index, median in enumerate(medians):
        axis.annotate(
            f"{median:,.0f}" if median >= 10 else f"{median:.2f}",
            (index, median),
            ha="center",
            va="bottom",
            fontsize=7,
            xytext=(0, 2),
            textcoords="offset points",
        )


def _series(figures: dict[str, list[dict[str, Any]]], key: str) -> dict[str, list[float]]:
    return {name: [float(f[key]) for f in runs] for name, runs in figures.items()}


def draw(results: dict[str, Any], out: Path) -> None:
    """Write the chart of ``results`` to ``out`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(3, 3, figsize=(16, 12.5))
    seq, conc = results.get("send_seq", {}), results.get("send_conc", {})
    _panel(axes[0][0], "1. client CPU per sequential send", _series(seq, "cpu_us_per_send"), "µs")
    _panel(
        axes[0][1],
        "2. throughput, concurrency 50, 20 ms latency",
        _series(conc, "sends_per_second"),
        "sends / s",
    )
    _panel(
        axes[0][2],
        "2. TCP connections opened (concurrency 50)",
        _series(conc, "connections"),
        "connections (log)",
        log=True,
    )
    _panel(
        axes[1][0],
        "3. webhook verify + parse",
        _series(results.get("webhooks", {}), "events_per_second"),
        "events / s (log)",
        log=True,
    )
    imports = results.get("imports", {})
    _panel(
        axes[1][1],
        "4. import time over bare start-up",
        imports,
        "ms",
        short=_IMPORT_LABELS,
    )
    listing = results.get("listing", {})
    _panel(
        axes[1][2],
        "5. peak RSS, LinqClient.list_chats",
        {
            f"{int(total):,} chats": [f["peak_rss_kib"] / 1024 for f in runs]
            for total, runs in sorted(listing.items(), key=lambda item: int(item[0]))
        },
        "MiB",
    )
    receive = results.get("receive_http", {})
    for column, concurrency in enumerate((1, 20)):
        _panel(
            axes[2][column],
            f"3b. webhooks received over HTTP, concurrency {concurrency}",
            {
                name.rsplit("@", 1)[0]: [float(f["deliveries_per_second"]) for f in runs]
                for name, runs in receive.items()
                if name.endswith(f"@{concurrency}")
            },
            "deliveries / s",
        )
    axes[2][2].axis("off")
    figure.suptitle(
        "caresupport-transport benchmarks (blue: this project; grey: peers)", fontsize=12
    )
    figure.tight_layout()
    figure.savefig(out, dpi=90)
    pyplot.close(figure)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        raise SystemExit("usage: python -m benchmarks.chart RESULTS.json OUT.png")
    draw(json.loads(Path(args[0]).read_text(encoding="utf-8")), Path(args[1]))


if __name__ == "__main__":
    main()
