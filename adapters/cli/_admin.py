"""What the ``inbox`` and ``outbox`` commands share in running (private).

A :class:`Refused` command and its exit status, :func:`run_command` (which
prints a command's :class:`~adapters.cli._linq_output.Output`, or its error
with the status the commands document: 2 for usage and configuration, 1 for a
store that did not answer or an id it does not hold), and how times print.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from adapters.cli import _linq_output as output
from adapters.cli._parsing import HelpFormatter, JsonAwareParser
from caresupport_transport.errors import ConfigurationError, TransportError, ValidationError
from caresupport_transport.inbound import EventStore, store_role
from caresupport_transport.inbound.urls import redacted_url

__all__ = ["Refused", "refuse", "run_command", "when"]


class Refused(Exception):
    """A command that cannot do what it was asked, and the exit status to say so with."""

    def __init__(self, kind: str, message: str, *, code: int) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.code = code


def refuse(exc: Refused, *, as_json: bool) -> int:
    """Print ``exc`` on stderr (``error: ...``, or its JSON); return its exit status."""
    if as_json:
        print(json.dumps(output.error_json(exc.kind, exc.message)), file=sys.stderr)
    else:
        print(f"error: {exc.message}", file=sys.stderr)
    return exc.code


def run_command(command: Callable[[], output.Output], *, as_json: bool) -> int:
    """Run ``command`` and print what it returns; return the exit status.

    A :class:`Refused` exits with its own status, a validation or configuration
    error with 2, any other ``TransportError`` (a store that did not answer)
    with 1, each reported on stderr.
    """
    try:
        result = command()
    except Refused as exc:
        return refuse(exc, as_json=as_json)
    except (ValidationError, ConfigurationError) as exc:
        output.report_error(exc, as_json=as_json)
        return 2
    except TransportError as exc:
        output.report_error(exc, as_json=as_json)
        return 1
    result.write(sys.stdout, as_json=as_json)
    return 0


def when(moment: datetime) -> str:
    """``2026-03-01 12:00:00Z``: a stored time (aware UTC) as the commands print it."""
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


async def refuse_another_role(store: EventStore, url: str, role: str, hint: str) -> None:
    """Refuse (exit 2) a store that serves another role: listing it would mislead, changing it harm.

    ``hint`` says how to name the right store (``--store`` and its variable).
    """
    found = await store_role(store)
    if found is not None and found != role:
        raise Refused(
            "configuration",
            f"the store {redacted_url(url)} holds an {found}, not an {role}: {hint}",
            code=2,
        )


SubcommandFactory = Callable[[str, str], argparse.ArgumentParser]
"""``command(name, help_text)``: one sub-command with the common options."""


def admin_parser(
    subparsers: Any,
    name: str,
    *,
    help_text: str,
    about: str,
    store_sentence: str,
    store_help: str,
    namespace_default: str,
    namespace_help: str,
) -> SubcommandFactory:
    """The ``inbox`` or ``outbox`` command, whose sub-commands share the store options.

    Args:
        about: the command's description, before ``store_sentence``.
        store_sentence: which store the commands open, ending every description.

    Returns:
        The factory that adds a sub-command. The command alone prints its help (exit 2).
    """
    parser = subparsers.add_parser(
        name,
        help=help_text,
        description=f"{about} {store_sentence}.",
        formatter_class=HelpFormatter,
    )
    parser.set_defaults(func=lambda _args: _usage(parser))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", metavar="URL", help=store_help)
    common.add_argument(
        "--namespace", default=namespace_default, metavar="NAME", help=namespace_help
    )
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    commands = parser.add_subparsers(
        dest=f"{name}_command", metavar="COMMAND", parser_class=JsonAwareParser
    )

    def command(sub_name: str, sub_help: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(
            sub_name,
            parents=[common],
            help=sub_help,
            description=f"{sub_help[0].upper()}{sub_help[1:]}. {store_sentence}.",
            formatter_class=HelpFormatter,
        )
        return sub

    return command


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2
