"""Benchmark the Linq adapter against raw httpx, the official SDK and a urllib gateway.

Usage::

    python benchmarks/run.py            # 4-5 minutes on 2 cores; writes docs/benchmarks.md
    python benchmarks/run.py --quick    # about a minute: 3 shorter rounds; prints only
    python benchmarks/run.py --repeats 7 --only send-seq,send-conc --no-write

The first run creates ``benchmarks/.venv`` (git-ignored) with the official SDK
(``linq-python``), matplotlib, pyinstrument and the project; ``--python`` runs the
peers on another interpreter instead. ``--profile PEER`` prints a pyinstrument
profile of one peer's sequential sends (or of ``webhooks:PEER``, ``listing``, ``memory``);
``--json FILE`` keeps the raw figures and ``--render FILE`` rewrites docs/ from them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: import the package from the repository, not this folder's files.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from benchmarks import report
from benchmarks.environment import ROOT, ensure_bench_python, worker_env
from benchmarks.suite import BENCHES, Settings, Suite, canned_server

DOC = ROOT / "docs" / "benchmarks.md"
CHART = ROOT / "docs" / "benchmarks.png"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    cli = argparse.ArgumentParser(
        prog="python benchmarks/run.py", description=__doc__.splitlines()[0]
    )
    cli.add_argument(
        "--quick", action="store_true", help="3 shorter rounds (~1 min); prints only unless --write"
    )
    cli.add_argument("--repeats", type=int, help="rounds (default 5, quick 3)")
    cli.add_argument("--python", help="interpreter for the peers (default benchmarks/.venv)")
    cli.add_argument(
        "--only", help=f"comma-separated subset of {','.join(BENCHES)} (implies --no-write)"
    )
    cli.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    cli.add_argument("--write", action="store_true", help="write docs/ after a --quick run too")
    cli.add_argument("--json", type=Path, help="also save the raw figures to this file")
    cli.add_argument("--profile", metavar="PEER", help="profile one peer instead of a run")
    cli.add_argument(
        "--render", type=Path, metavar="JSON", help="rewrite docs/ from figures saved by --json"
    )
    return cli.parse_args(argv)


def _profile(python: str, target: str) -> None:
    """Print a pyinstrument profile of one peer (see ``benchmarks.worker --profile``)."""
    with canned_server(python, 0.0) as origin:
        if target.startswith("webhooks:"):
            bench = ["webhooks", "--peer", target.split(":", 1)[1], "--seconds", "2"]
        elif target in ("listing", "memory"):
            bench = [target, "--origin", origin, "--total", "20000", "--count", "20000"]
        else:
            bench = ["send-seq", "--peer", target, "--origin", origin, "--count", "2000"]
        command = [python, "-m", "benchmarks.worker", *bench, "--profile"]
        subprocess.run(command, cwd=ROOT, env=worker_env(), check=True)


def _chart(python: str, results: dict[str, object], out: Path) -> bool:
    with tempfile.TemporaryDirectory() as scratch:
        figures = Path(scratch) / "results.json"
        figures.write_text(json.dumps(results), encoding="utf-8")
        drawn = subprocess.run(
            [python, "-m", "benchmarks.chart", str(figures), str(out)],
            cwd=ROOT,
            env=worker_env(),
            capture_output=True,
            text=True,
        )
    if drawn.returncode != 0:
        print(f"no chart: {(drawn.stderr.strip().splitlines() or ['?'])[-1]}", file=sys.stderr)
    return drawn.returncode == 0


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    python = ensure_bench_python(args.python)
    if args.profile:
        _profile(python, args.profile)
        return 0
    if args.render:
        _write_docs(python, json.loads(args.render.read_text(encoding="utf-8")))
        return 0
    settings = Settings.quick(args.repeats) if args.quick else Settings(rounds=args.repeats or 5)
    benches = tuple(args.only.split(",")) if args.only else BENCHES
    unknown = set(benches) - set(BENCHES)
    if unknown:
        raise SystemExit(f"--only: unknown bench {', '.join(sorted(unknown))}")
    results = Suite(python, settings, benches).run()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(report.summary(results))
    if args.write or not (args.no_write or args.only or args.quick):
        _write_docs(python, results)
    return 0


def _write_docs(python: str, results: dict[str, object]) -> None:
    chart = CHART.name if _chart(python, results, CHART) else None
    DOC.write_text(report.render_markdown(results, chart=chart), encoding="utf-8")
    print(f"\nwrote {DOC.relative_to(ROOT)}" + (f" and {CHART.relative_to(ROOT)}" if chart else ""))


if __name__ == "__main__":
    sys.exit(main())
