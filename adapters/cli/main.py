"""Entry point of the ``caresupport-transport`` console script.

Each sub-command lives in its own module with a ``register(subparsers)``
function that adds its parser and sets ``func`` (an ``argparse.Namespace ->
int`` callable returning the exit code). The options before the sub-command
(``--version``, ``--log-level``) are the command's own.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext

from adapters.cli import demo, inbox, linq, outbox, simulate, twilio, webhooks
from caresupport_transport import __version__

__all__ = ["LOG_LEVELS", "build_parser", "logging_to_stderr", "main"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
"""The choices of ``--log-level``, most verbose first."""

_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (tests and pipes swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        super().emit(record)


@contextmanager
def logging_to_stderr(level: str) -> Iterator[None]:
    """Print log records at ``level`` or above to stderr while the command runs.

    The root logger is lowered to ``level`` if it is higher, never raised, so a
    host that already collects more (a test at DEBUG) still does; on the way
    out, the handler goes and the root logger's level is put back.
    """
    root = logging.getLogger()
    handler = _StderrHandler()
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    previous = root.level
    root.setLevel(min(previous, logging.getLevelName(level)))
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="caresupport-transport",
        description=(
            "CareSupport's conversations over iMessage, RCS and SMS. "
            "Run 'caresupport-transport demo' to see a care conversation end to end."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=None,
        help=(
            "print the library's log records at this level or above to stderr "
            "(default: none; a failed command prints its own error either way)"
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in (demo, webhooks, inbox, outbox, simulate, linq, twilio):
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
        with logging_to_stderr(args.log_level) if args.log_level else nullcontext():
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
