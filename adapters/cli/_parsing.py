"""What the ``linq``, ``inbox`` and ``outbox`` commands share in parsing arguments (private).

Help that shows each option's default, sub-command parsers that answer a
usage error in JSON when ``--json`` is among the arguments, so a script reading
JSON gets JSON even when it called the command wrongly, and the whole numbers
of options such as ``--limit``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import NoReturn

from adapters.cli import _linq_output as output

__all__ = ["HelpFormatter", "JsonAwareParser", "positive_int"]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show (unset, off, empty)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or action.default == []:
            return action.help
        return super()._get_help_string(action)


class JsonAwareParser(argparse.ArgumentParser):
    """A sub-command's parser: with ``--json`` among its arguments, usage errors are JSON too.

    The JSON is ``{"error": {"kind": "usage", ...}}`` on stderr, and the exit
    status 2, as argparse's own.
    """

    _as_json = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._as_json = args is not None and "--json" in args
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        if not self._as_json:
            super().error(message)
        print(json.dumps(output.error_json("usage", message)), file=sys.stderr)
        sys.exit(2)


def positive_int(text: str) -> int:
    """An option's whole number of at least 1 (``--limit``, ``--concurrency``)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value
