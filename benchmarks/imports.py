"""Import time: wall time of ``python -c "import X"`` minus that of ``python -c "pass"``.

Each import runs in a fresh interpreter; the statements alternate within every
round and the median over rounds is reported. A first, unmeasured run of each
writes the bytecode caches, so no measured run compiles.
"""

from __future__ import annotations

import statistics
import subprocess
import time

from benchmarks.environment import worker_env

__all__ = ["BARE", "IMPORTS", "import_seconds", "measure_imports"]

BARE = "pass"
IMPORTS: dict[str, str] = {
    "caresupport_transport": "import caresupport_transport",
    "adapters.linq": "import adapters.linq",
    "LinqTransport": "from adapters.linq import LinqTransport",
    "linq (official SDK)": "import linq",
    "httpx (for reference)": "import httpx",
}
"""Label -> the statement timed."""


def import_seconds(python: str, statement: str) -> float:
    """Wall time of one fresh interpreter running ``statement``."""
    started = time.perf_counter()
    subprocess.run([python, "-c", statement], env=worker_env(), check=True)
    return time.perf_counter() - started


def measure_imports(
    python: str, rounds: int, imports: dict[str, str] | None = None
) -> dict[str, list[float]]:
    """Milliseconds each import adds to interpreter start-up, one figure per round.

    Every round times the bare interpreter and each import in turn (rotating the
    order); a round's figure is its import time minus the median bare time.
    """
    chosen = dict(IMPORTS if imports is None else imports)
    for statement in chosen.values():
        import_seconds(python, statement)
    bare = [import_seconds(python, BARE) for _ in range(3)]
    raw: dict[str, list[float]] = {label: [] for label in chosen}
    labels = list(chosen)
    for round_index in range(rounds):
        shift = round_index % len(labels)
        for label in labels[shift:] + labels[:shift]:
            raw[label].append(import_seconds(python, chosen[label]))
        bare.append(import_seconds(python, BARE))
    baseline = statistics.median(bare)
    return {label: [(t - baseline) * 1000 for t in times] for label, times in raw.items()}
