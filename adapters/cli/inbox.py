"""``caresupport-transport inbox``: look after the durable inbox, or run a worker on it.

This module is a composition root: it reads ``$CARESUPPORT_STORE_URL`` when
``--store`` is not given, opens the store with
:func:`~caresupport_transport.inbound.open_event_store`, and imports the care
logic's handler named by ``--handler module:function``. Everything else goes
through the public :class:`~caresupport_transport.inbound.Inbox` and
:class:`~caresupport_transport.inbound.InboxWorker`, so a script can do the same.

``inbox list`` / ``show`` / ``stats``
    What waits in the inbox: ids, states, attempts, times, the class of the
    last error. ``show`` describes the event as ``webhooks serve`` does (phone
    numbers and emails masked, message text only with ``--show-content``).
``inbox replay`` / ``discard``
    Make an entry (or every dead letter) due now; drop one for good (``--yes``).
``inbox work``
    Runs an :class:`~caresupport_transport.inbound.InboxWorker` until SIGTERM or
    SIGINT, stops it gracefully and prints what it did.

Output is readable text, or JSON with ``--json`` (``work`` then prints its
start line on stderr and its summary as JSON). Exit status: 0 done; 2 for a
usage or configuration error (a malformed store URL, a handler that cannot be
imported, ``discard`` without ``--yes``); 1 when the store could not be reached
or holds no entry with the id given. A store URL is only ever shown with its
password replaced by ``***``. Every command but ``work`` refuses a SQLite file
that does not exist, rather than create an empty inbox and report it empty.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import inspect
import math
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

from adapters.cli import _linq_output as output
from adapters.cli._admin import (
    Refused,
    admin_parser,
    refuse,
    refuse_another_role,
    run_command,
    when,
)
from adapters.cli._parsing import positive_int
from adapters.cli._store import (
    DEFAULT_STORE_URL,
    STORE_URL_ENV_VAR,
    missing_sqlite_file,
    store_url_from,
)
from adapters.cli.webhooks import describe_event
from caresupport_transport.errors import ConfigurationError, ProtocolError
from caresupport_transport.events import InboundEvent
from caresupport_transport.inbound import (
    DEFAULT_CONCURRENCY,
    DEFAULT_INBOX_LEASE,
    DEFAULT_LIST_LIMIT,
    DEFAULT_MAX_WAIT,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_QUIET,
    Coalescing,
    Inbox,
    InboxEntry,
    InboxState,
    InboxWorker,
    RetrySchedule,
    by_conversation,
    open_event_store,
)
from caresupport_transport.inbound.urls import check_store_url, redacted_url
from caresupport_transport.port import InboundHandler
from caresupport_transport.redact import mask_handles_in

_ROLE_HINT = f"give the inbox's store with --store or ${STORE_URL_ENV_VAR}"

__all__ = [
    "DEFAULT_NAMESPACE",
    "import_callable",
    "register",
]


DEFAULT_NAMESPACE = "caresupport"
"""The namespace (PostgreSQL schema, Redis key prefix) without ``--namespace``."""

Action = Callable[[Inbox, argparse.Namespace], Awaitable[output.Output]]
_DEFAULT_SCHEDULE = RetrySchedule()
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_STORE_HELP = (
    "The store is --store URL (memory://, sqlite:///path, postgresql://..., redis://...), "
    f"else ${STORE_URL_ENV_VAR}, else {DEFAULT_STORE_URL}, the file 'webhooks serve' uses"
)


# -- arguments ---------------------------------------------------------------------------


def _number(text: str, unit: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number of {unit} above 0, got {text!r}")
    return value


def _seconds(text: str) -> float:
    return _number(text, "seconds")


def _hours(text: str) -> float:
    return _number(text, "hours")


def register(subparsers: Any) -> None:
    """Add the ``inbox`` command and its sub-commands."""
    command = admin_parser(
        subparsers,
        "inbox",
        help_text="the durable inbox: list, show, replay, discard, stats; run a worker",
        about=(
            "Look after the durable inbox (events stored at intake, handled by workers, "
            "retried, kept as dead letters), or run a worker on it."
        ),
        store_sentence=_STORE_HELP,
        store_help=f"the event store (default ${STORE_URL_ENV_VAR}, else {DEFAULT_STORE_URL})",
        namespace_default=DEFAULT_NAMESPACE,
        namespace_help="the deployment's namespace in a shared PostgreSQL database or Redis server",
    )

    listing = command("list", "the entries, oldest first: no message content")
    listing.add_argument(
        "--state", choices=[state.value for state in InboxState], help="only entries in this state"
    )
    listing.add_argument(
        "--limit",
        type=positive_int,
        default=DEFAULT_LIST_LIMIT,
        metavar="N",
        help="the most entries to show",
    )
    listing.set_defaults(func=lambda args: _run(args, _list))

    showing = command("show", "one entry: its fields, its event (masked) and its last error")
    showing.add_argument("id", metavar="ID", help="the entry's id (the event's id)")
    showing.add_argument(
        "--show-content",
        action="store_true",
        help=(
            "also print message text (health details: keep it off where output is "
            "stored); phone numbers and emails stay masked"
        ),
    )
    showing.set_defaults(func=lambda args: _run(args, _show))

    replaying = command("replay", "make an entry, or every dead letter, due now")
    replaying.add_argument("id", nargs="?", metavar="ID", help="the entry's id (the event's id)")
    replaying.add_argument(
        "--all-dead", action="store_true", help="replay every dead letter (instead of an ID)"
    )
    replaying.set_defaults(func=_replay_command)

    discarding = command("discard", "drop an entry for good: its event is never handled")
    discarding.add_argument("id", metavar="ID", help="the entry's id (the event's id)")
    discarding.add_argument(
        "--yes", action="store_true", help="confirm: the event is lost for good"
    )
    discarding.set_defaults(func=_discard_command)

    counting = command("stats", "how many entries are pending, due, leased and dead")
    counting.set_defaults(func=lambda args: _run(args, _stats))

    working = command(
        "work", "hand the inbox's events to a handler until SIGTERM or SIGINT (Ctrl+C)"
    )
    working.add_argument(
        "--handler",
        required=True,
        metavar="MODULE:FUNCTION",
        help="the care logic's handler, 'async def handle(event) -> None' (its module on "
        "PYTHONPATH); raising means 'not handled, try again later'",
    )
    working.add_argument(
        "--order-key",
        metavar="MODULE:FUNCTION",
        help="the order key function the receivers use, 'def key(event) -> str' (default: "
        "per conversation); every receiver and worker of a store must use the same",
    )
    working.add_argument(
        "--concurrency",
        type=positive_int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help="order keys handled at once",
    )
    working.add_argument(
        "--lease",
        type=_seconds,
        default=DEFAULT_INBOX_LEASE.total_seconds(),
        metavar="SECONDS",
        help="how soon another worker takes over the key of a worker that died",
    )
    working.add_argument(
        "--poll-interval",
        type=_seconds,
        default=DEFAULT_POLL_INTERVAL,
        metavar="SECONDS",
        help="how often an idle worker asks the store again",
    )
    working.add_argument(
        "--first-delay",
        type=_seconds,
        default=_DEFAULT_SCHEDULE.first_delay.total_seconds(),
        metavar="SECONDS",
        help="the wait after an event's first failure (doubling after each further one)",
    )
    working.add_argument(
        "--max-delay",
        type=_seconds,
        default=_DEFAULT_SCHEDULE.max_delay.total_seconds(),
        metavar="SECONDS",
        help="the longest wait between two attempts",
    )
    working.add_argument(
        "--give-up-after",
        type=_hours,
        default=_DEFAULT_SCHEDULE.give_up_after.total_seconds() / 3600,
        metavar="HOURS",
        help="how long after receipt an event is retried before it becomes a dead letter",
    )
    working.add_argument(
        "--max-attempts",
        type=positive_int,
        default=_DEFAULT_SCHEDULE.max_attempts,
        metavar="N",
        help="also give up after this many attempts (default: no limit but --give-up-after)",
    )
    working.add_argument(
        "--turns",
        action="store_true",
        help="coalesce each key's quick events into one Turn for the handler "
        "('async def handle(turn) -> None'), answered once",
    )
    working.add_argument(
        "--quiet",
        type=_seconds,
        default=DEFAULT_QUIET.total_seconds(),
        metavar="SECONDS",
        help="with --turns: how long a key stays quiet before its events become a turn",
    )
    working.add_argument(
        "--max-wait",
        type=_seconds,
        default=DEFAULT_MAX_WAIT.total_seconds(),
        metavar="SECONDS",
        help="with --turns: the longest a turn's first event waits",
    )
    working.add_argument(
        "--include-outbound",
        action="store_true",
        help="for receivers that accept our own outbound echoes into the inbox (the "
        "filter applies at intake; set it as they do)",
    )
    working.set_defaults(func=_work_command)


def import_callable(path: str, option: str) -> Callable[..., Any]:
    """The callable that ``path`` (``package.module:function``, or ``module:object.method``) names.

    Args:
        path: the import path, as given on the command line.
        option: the option it came from, named in errors (``--handler``).

    Raises:
        ConfigurationError: naming ``option`` and ``path`` when the path is not
            ``module:name``, the module cannot be imported, it has no such
            attribute, or the attribute is not callable.
    """
    module_name, colon, attribute = path.partition(":")
    if not colon or not module_name.strip() or not attribute.strip():
        raise ConfigurationError(
            f"{option} {path!r}: expected MODULE:FUNCTION, like care.inbound:handle"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"{option} {path!r}: cannot import {module_name!r} ({type(exc).__name__}: {exc}); "
            "is its directory on PYTHONPATH?"
        ) from exc
    except Exception as exc:
        raise ConfigurationError(
            f"{option} {path!r}: importing {module_name!r} raised {type(exc).__name__} "
            f"(python -c 'import {module_name}' shows it)"
        ) from exc
    target: Any = module
    for name in attribute.split("."):
        try:
            target = getattr(target, name)
        except AttributeError:
            raise ConfigurationError(
                f"{option} {path!r}: the module {module_name!r} has no {attribute!r}"
            ) from None
    if not callable(target):
        raise ConfigurationError(f"{option} {path!r}: is a {type(target).__name__}, not a function")
    return target  # type: ignore[no-any-return]


def _handler(path: str) -> InboundHandler:
    """The ``--handler``: an async callable, refused before any event reaches it otherwise."""
    target = import_callable(path, "--handler")
    if not (
        inspect.iscoroutinefunction(target)
        or inspect.iscoroutinefunction(getattr(target, "__call__", None))  # noqa: B004
    ):
        raise ConfigurationError(
            f"--handler {path!r}: must be an async function (async def handle(event) -> None); "
            "a plain function would fail on every event"
        )
    handler: InboundHandler = target
    return handler


def _order_key(path: str | None) -> Callable[[InboundEvent], str]:
    if path is None:
        return by_conversation
    return import_callable(path, "--order-key")


# -- running a command ---------------------------------------------------------------------


def _store_url(args: argparse.Namespace) -> str:
    """``--store``, else the environment, else the default; checked before any I/O."""
    url = store_url_from(args.store, os.environ)
    check_store_url(url)
    return url


def _existing_sqlite_file(url: str) -> None:
    """Refuse a SQLite store whose file is missing: an empty inbox made here would mislead."""
    path = missing_sqlite_file(url)
    if path is not None:
        raise Refused(
            "configuration",
            f"no event store at {path}: run where the receiver keeps it, or give --store "
            f"or ${STORE_URL_ENV_VAR}",
            code=2,
        )


def _run(args: argparse.Namespace, action: Action) -> int:
    def command() -> output.Output:
        url = _store_url(args)
        _existing_sqlite_file(url)
        return asyncio.run(_call(url, args, action))

    return run_command(command, as_json=args.json)


async def _call(url: str, args: argparse.Namespace, action: Action) -> output.Output:
    store = await open_event_store(url, namespace=args.namespace)
    try:
        await refuse_another_role(store, url, "inbox", _ROLE_HINT)
        return await action(Inbox(store), args)
    finally:
        await store.close()


# -- what the commands print -----------------------------------------------------------


def _error_class(last_error: str | None) -> str | None:
    """The first line of a recorded failure: the error's class and facts, without frames."""
    if not last_error:
        return None
    return last_error.splitlines()[0].removesuffix(", raised at:").strip()


def _entry_json(entry: InboxEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "state": entry.state.value,
        "order_key": mask_handles_in(entry.order_key),
        "attempts": entry.attempts,
        "received_at": entry.received_at.isoformat(),
        "due_at": entry.due_at.isoformat(),
        "error": _error_class(entry.last_error),
    }


def _entry_line(entry: InboxEntry) -> str:
    error = _error_class(entry.last_error)
    return mask_handles_in(
        f"{entry.id}  {entry.state.value:<7}  {entry.order_key}  attempts {entry.attempts}  "
        f"received {when(entry.received_at)}  due {when(entry.due_at)}"
        + (f"  {error}" if error else "")
    )


def _was(entry: InboxEntry) -> dict[str, Any]:
    return {"id": entry.id, "was": entry.state.value, "attempts": entry.attempts}


def _attempts(entry: InboxEntry) -> str:
    return f"{entry.attempts} attempt{'' if entry.attempts == 1 else 's'}"


def _age(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


async def _entry(inbox: Inbox, entry_id: str) -> InboxEntry:
    entry = await inbox.entry(entry_id)
    if entry is None:
        raise Refused("not_found", f"no entry {entry_id!r} in the inbox", code=1)
    return entry


# -- the commands ----------------------------------------------------------------------


async def _list(inbox: Inbox, args: argparse.Namespace) -> output.Output:
    state = None if args.state is None else InboxState(args.state)
    found = await inbox.entries(state, limit=args.limit + 1)
    shown = found[: args.limit]
    lines = [_entry_line(entry) for entry in shown]
    if not lines:
        lines.append(f"(no {args.state} entries)" if args.state else "(no entries)")
    if len(found) > len(shown):
        lines.append(f"(more entries than --limit {args.limit}: raise it to see them)")
    return output.Output(tuple(lines), [_entry_json(entry) for entry in shown])


async def _show(inbox: Inbox, args: argparse.Namespace) -> output.Output:
    entry = await _entry(inbox, args.id)
    try:
        event = Inbox.event_of(entry)
    except ProtocolError as exc:
        event_type = None
        described = f"(cannot be read by this version: {type(exc).__name__})"
    else:
        event_type = type(event).__name__
        described = describe_event(event, show_content=args.show_content)
    last_error = mask_handles_in(entry.last_error) if entry.last_error else None
    lines = [
        f"entry {entry.id} ({entry.state.value})",
        f"order key: {mask_handles_in(entry.order_key)}",
        f"keys: {', '.join(entry.keys) or '-'}",
        f"attempts: {entry.attempts}",
        f"received: {when(entry.received_at)}",
        f"due: {when(entry.due_at)}",
        f"event: {event_type or '?'}: {described}",
    ]
    if last_error is None:
        lines.append("last error: -")
    else:
        lines.append("last error:")
        lines.extend(f"  {line}" for line in last_error.splitlines())
    data = {
        **_entry_json(entry),
        "keys": list(entry.keys),
        "event_type": event_type,
        "event": described,
        "last_error": last_error,
    }
    return output.Output(tuple(lines), data)


def _replay_command(args: argparse.Namespace) -> int:
    if (args.id is None) == (not args.all_dead):
        return refuse(
            Refused("usage", "give an entry's ID or --all-dead (one of them)", code=2),
            as_json=args.json,
        )
    return _run(args, _replay)


async def _replay(inbox: Inbox, args: argparse.Namespace) -> output.Output:
    if args.all_dead:
        replayed = await _replay_dead(inbox)
    else:
        entry = await _entry(inbox, args.id)
        if not await inbox.replay(entry.id):
            raise Refused("not_found", f"no entry {entry.id!r} in the inbox", code=1)
        replayed = [entry]
    lines = [
        f"replayed {entry.id} (was {entry.state.value}, {_attempts(entry)}): due now"
        for entry in replayed
    ] or ["(no dead entries to replay)"]
    return output.Output(tuple(lines), {"replayed": [_was(entry) for entry in replayed]})


async def _replay_dead(inbox: Inbox) -> list[InboxEntry]:
    """Replay the dead letters page by page (a replayed entry leaves the dead ones)."""
    replayed: list[InboxEntry] = []
    seen: set[str] = set()
    while True:
        page = await inbox.entries(InboxState.DEAD, limit=DEFAULT_LIST_LIMIT)
        fresh = [entry for entry in page if entry.id not in seen]
        if not fresh:
            return replayed
        for entry in fresh:
            seen.add(entry.id)
            if await inbox.replay(entry.id):
                replayed.append(entry)


def _discard_command(args: argparse.Namespace) -> int:
    if not args.yes:
        refusal = Refused(
            "usage",
            f"discarding entry {args.id!r} loses its event for good (it is never handled); "
            "pass --yes to discard it",
            code=2,
        )
        return refuse(refusal, as_json=args.json)
    return _run(args, _discard)


async def _discard(inbox: Inbox, args: argparse.Namespace) -> output.Output:
    entry = await _entry(inbox, args.id)
    if not await inbox.discard(entry.id):
        raise Refused("not_found", f"no entry {entry.id!r} in the inbox", code=1)
    line = (
        f"discarded {entry.id} (was {entry.state.value}, {_attempts(entry)}): it will not be "
        "handled, and a redelivery of it stays a duplicate"
    )
    return output.Output((line,), {"discarded": [_was(entry)]})


async def _stats(inbox: Inbox, args: argparse.Namespace) -> output.Output:
    stats = await inbox.stats()
    oldest = stats.oldest_pending
    age = inbox.clock() - oldest if oldest is not None else None
    lines = (
        f"pending: {stats.pending}",
        f"due now: {stats.due}",
        f"leased: {stats.leased}",
        f"dead: {stats.dead}",
        "oldest pending: -"
        if oldest is None or age is None
        else f"oldest pending: {_age(age)} old (received {when(oldest)})",
    )
    data = {
        "pending": stats.pending,
        "due": stats.due,
        "leased": stats.leased,
        "dead": stats.dead,
        "oldest_pending": oldest.isoformat() if oldest is not None else None,
        "oldest_pending_age_seconds": age.total_seconds() if age is not None else None,
    }
    return output.Output(lines, data)


# -- work ------------------------------------------------------------------------------


def _work_command(args: argparse.Namespace) -> int:
    def command() -> output.Output:
        url = _store_url(args)
        handler = _handler(args.handler)
        order_key = _order_key(args.order_key)
        schedule = RetrySchedule(
            first_delay=timedelta(seconds=args.first_delay),
            max_delay=timedelta(seconds=args.max_delay),
            give_up_after=timedelta(hours=args.give_up_after),
            max_attempts=args.max_attempts,
        )
        turns = (
            Coalescing(
                quiet=timedelta(seconds=args.quiet), max_wait=timedelta(seconds=args.max_wait)
            )
            if args.turns
            else None
        )
        worker = asyncio.run(_work(url, args, handler, order_key, schedule, turns))
        counts = {
            "handled": worker.handled,
            "retried": worker.failed,
            "buried": worker.buried,
            "fenced": worker.fenced,
        }
        summary = "stopped: " + ", ".join(f"{name} {count}" for name, count in counts.items())
        return output.Output((summary,), counts)

    return run_command(command, as_json=args.json)


async def _work(
    url: str,
    args: argparse.Namespace,
    handler: InboundHandler,
    order_key: Callable[[InboundEvent], str],
    schedule: RetrySchedule,
    turns: Coalescing | None = None,
) -> InboxWorker:
    """Run a worker until a stop signal; return it stopped, with its counts."""
    store = await open_event_store(url, namespace=args.namespace)
    try:
        await refuse_another_role(store, url, "inbox", _ROLE_HINT)
        inbox = Inbox(store, order_key=order_key, include_outbound=args.include_outbound)
        worker = InboxWorker(
            inbox,
            handler,
            schedule=schedule,
            concurrency=args.concurrency,
            lease=timedelta(seconds=args.lease),
            poll_interval=args.poll_interval,
            turns=turns,
        )
        stopping = asyncio.Event()
        with _stop_signals(stopping.set):
            worker.start()
            print(
                f"Working the inbox in {redacted_url(url)} with {args.handler}, "
                f"{args.concurrency} order keys at a time; SIGTERM or Ctrl+C stops.",
                file=sys.stderr if args.json else sys.stdout,
                flush=True,
            )
            # The worker runs until told to stop; should it end by itself, so do we.
            while worker.started and not stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), timeout=1.0)
            await worker.stop()
    finally:
        await store.close()
    return worker


@contextlib.contextmanager
def _stop_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Call ``stop`` on SIGTERM or SIGINT while inside (instead of dying, or KeyboardInterrupt)."""
    loop = asyncio.get_running_loop()
    for signum in _STOP_SIGNALS:
        loop.add_signal_handler(signum, stop)
    try:
        yield
    finally:
        for signum in _STOP_SIGNALS:
            loop.remove_signal_handler(signum)
