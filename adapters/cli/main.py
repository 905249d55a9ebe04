"""Entry point of the ``caresupport-transport`` console script.

Each sub-command lives in its own module with a ``register(subparsers)``
function that adds its parser and sets ``func`` (an ``argparse.Namespace ->
int`` callable returning the exit code).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from adapters.cli import demo, linq, simulate, webhooks

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="caresupport-transport",
        description=(
            "CareSupport's conversations over iMessage, RCS and SMS. "
            "Run 'caresupport-transport demo' to see a care conversation end to end."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in (demo, webhooks, simulate, linq):
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        code: int = func(args)
        sys.stdout.flush()  # inside the try: a reader gone by now is handled below too
    except BrokenPipeError:
        # The reader went away (``... | head``): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return code


if __name__ == "__main__":
    sys.exit(main())
