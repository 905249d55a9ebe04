"""``caresupport-transport outbox``: look after the durable outbox's intents.

This module is a composition root: it reads ``$CARESUPPORT_OUTBOX_STORE_URL``
when ``--store`` is not given, opens the store with
:func:`~caresupport_transport.inbound.open_event_store`, and goes through the
public :class:`~caresupport_transport.outbound.Outbox` alone, so a script can
do the same. The outbox's store is its own (another SQLite file, or another
namespace): a store that holds an inbox is refused.

``outbox list`` / ``show`` / ``stats``
    What was asked to be sent and where it stands: ids, states, kinds, the
    recipients (masked) or the conversation, times, attempts, re-sends, the
    watchdog's rules that fired, the error's summary. ``show`` prints every
    field of the :class:`~caresupport_transport.outbound.IntentStatus`; the
    message text only with ``--show-content``, phone numbers and emails masked
    always.
``outbox retry`` / ``cancel``
    Queue a failed (or stuck queued) intent to be sent again under its own key;
    cancel an intent not sent yet, or a failed one (the watchdog's re-sends
    stop). Either says why when the intent's state does not allow it.

Output is readable text, or JSON with ``--json``. Exit status: 0 done; 2 for a
usage or configuration error (a malformed store URL, a SQLite file that does
not exist, a store that holds an inbox); 1 when the store could not be reached,
holds no intent with the id given, or the intent's state refuses the change. A
store URL is only ever shown with its password replaced by ``***``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from adapters.cli import _linq_output as output
from adapters.cli._admin import Refused, admin_parser, refuse_another_role, run_command, when
from adapters.cli._parsing import positive_int
from adapters.cli._store import (
    DEFAULT_OUTBOX_STORE_URL,
    OUTBOX_STORE_URL_ENV_VAR,
    missing_sqlite_file,
    store_url_from,
)
from caresupport_transport.content import MediaPart, OutgoingMessage
from caresupport_transport.inbound import DEFAULT_LIST_LIMIT, open_event_store
from caresupport_transport.outbound import DeliveryState, IntentStatus, Outbox
from caresupport_transport.redact import mask_handle, mask_handles_in

__all__ = ["DEFAULT_NAMESPACE", "register"]


DEFAULT_NAMESPACE = "caresupport_outbox"
"""The namespace (PostgreSQL schema, Redis key prefix) without ``--namespace``."""

Action = Callable[[Outbox, argparse.Namespace], Awaitable[output.Output]]
_STORE_HELP = (
    "The store is --store URL (memory://, sqlite:///path, postgresql://..., redis://...), "
    f"else ${OUTBOX_STORE_URL_ENV_VAR}, else {DEFAULT_OUTBOX_STORE_URL}: the outbox's own "
    "store, never the inbox's"
)
_HIDDEN = "(text hidden; --show-content shows it)"
_RETRYABLE = frozenset({DeliveryState.FAILED, DeliveryState.QUEUED})
_WHY_NOT_RETRIED = {
    DeliveryState.SENT: "the provider accepted it, so a retry would not send it again",
    DeliveryState.DELIVERED: "it was delivered",
    DeliveryState.READ: "it was read",
    DeliveryState.CANCELLED: "it was cancelled; record a new send to send it after all",
}
_WHY_NOT_CANCELLED = {
    DeliveryState.SENT: "the provider accepted it already",
    DeliveryState.DELIVERED: "it was delivered",
    DeliveryState.READ: "it was read",
    DeliveryState.CANCELLED: "it was cancelled already",
}
_CANCELLABLE = frozenset({DeliveryState.QUEUED, DeliveryState.FAILED})


def register(subparsers: Any) -> None:
    """Add the ``outbox`` command and its sub-commands."""
    command = admin_parser(
        subparsers,
        "outbox",
        help_text="the durable outbox: list, show, retry, cancel, stats",
        about=(
            "Look after the durable outbox (sends recorded before any I/O, carried out by "
            "workers, watched until delivered)."
        ),
        store_sentence=_STORE_HELP,
        store_help=(
            f"the outbox's event store (default ${OUTBOX_STORE_URL_ENV_VAR}, else "
            f"{DEFAULT_OUTBOX_STORE_URL})"
        ),
        namespace_default=DEFAULT_NAMESPACE,
        namespace_help="the outbox's namespace in a shared PostgreSQL database or Redis server",
    )

    listing = command("list", "the intents, oldest first: no message content")
    listing.add_argument(
        "--state",
        choices=[state.value for state in DeliveryState],
        help="only intents in this state",
    )
    listing.add_argument(
        "--limit",
        type=positive_int,
        default=DEFAULT_LIST_LIMIT,
        metavar="N",
        help="the most intents to show",
    )
    listing.set_defaults(func=lambda args: _run(args, _list))

    showing = command("show", "one intent: every field of its status (handles masked)")
    showing.add_argument("id", metavar="ID", help="the intent's id (its idempotency key)")
    showing.add_argument(
        "--show-content",
        action="store_true",
        help=(
            "also print message text and attachment names (health details: keep it off "
            "where output is stored); phone numbers and emails stay masked"
        ),
    )
    showing.set_defaults(func=lambda args: _run(args, _show))

    retrying = command(
        "retry", "send a failed (or queued) intent again, under its own key, by a worker"
    )
    retrying.add_argument("id", metavar="ID", help="the intent's id (its idempotency key)")
    retrying.set_defaults(func=lambda args: _run(args, _retry))

    cancelling = command(
        "cancel", "cancel an intent not sent yet, or a failed one: no worker will (re-)send it"
    )
    cancelling.add_argument("id", metavar="ID", help="the intent's id (its idempotency key)")
    cancelling.set_defaults(func=lambda args: _run(args, _cancel))

    counting = command("stats", "how many intents are in each state")
    counting.set_defaults(func=lambda args: _run(args, _stats))


# -- running a command ---------------------------------------------------------------------


def _store_url(args: argparse.Namespace) -> str:
    """``--store``, else the environment, else the default; refused before any I/O if bad."""
    url = store_url_from(
        args.store, os.environ, env_var=OUTBOX_STORE_URL_ENV_VAR, default=DEFAULT_OUTBOX_STORE_URL
    )
    path = missing_sqlite_file(url)
    if path is not None:
        raise Refused(
            "configuration",
            f"no outbox store at {path}: run where the outbox's workers keep it, or give "
            f"--store or ${OUTBOX_STORE_URL_ENV_VAR}",
            code=2,
        )
    return url


def _run(args: argparse.Namespace, action: Action) -> int:
    def command() -> output.Output:
        return asyncio.run(_call(_store_url(args), args, action))

    return run_command(command, as_json=args.json)


async def _call(url: str, args: argparse.Namespace, action: Action) -> output.Output:
    store = await open_event_store(url, namespace=args.namespace)
    try:
        await refuse_another_role(
            store,
            url,
            "outbox",
            f"give the outbox's own store with --store or ${OUTBOX_STORE_URL_ENV_VAR}",
        )
        return await action(Outbox(store), args)
    finally:
        await store.close()


async def _status(outbox: Outbox, intent_id: str) -> IntentStatus:
    status = await outbox.status(intent_id)
    if status is None:
        raise Refused("not_found", f"no intent {intent_id!r} in the outbox", code=1)
    return status


# -- what the commands print -----------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _at(moment: datetime | None) -> str:
    return "-" if moment is None else when(moment)


def _masked(text: str | None) -> str | None:
    return None if text is None else mask_handles_in(text)


def _conversation(status: IntentStatus) -> str | None:
    """Where it went, once known; else where it is to go (``None`` before a start is sent)."""
    return status.conversation_id or status.intent.conversation_id


def _recipients(status: IntentStatus) -> list[str]:
    return [mask_handle(handle) for handle in status.intent.recipients]


def _target(status: IntentStatus) -> str:
    if status.intent.recipients:
        return f"to {', '.join(_recipients(status))}"
    return f"in {_conversation(status)}"


def _attempts(status: IntentStatus) -> str:
    return f"{status.attempts} attempt{'' if status.attempts == 1 else 's'}"


def _intent_json(status: IntentStatus) -> dict[str, Any]:
    intent = status.intent
    return {
        "id": intent.id,
        "state": status.state.value,
        "kind": _masked(intent.kind),
        "recipients": _recipients(status),
        "conversation_id": _masked(_conversation(status)),
        "created_at": intent.created_at.isoformat(),
        "attempts": status.attempts,
        "resends": status.resends,
        "fired": list(status.fired),
        "error": _masked(status.error),
    }


def _intent_line(status: IntentStatus) -> str:
    intent = status.intent
    return mask_handles_in(
        f"{intent.id}  {status.state.value:<9}  {intent.kind or '-'}  {_target(status)}  "
        f"created {when(intent.created_at)}  attempts {status.attempts}  "
        f"resends {status.resends}  fired {', '.join(status.fired) or '-'}"
        + (f"  {status.error}" if status.error else "")
    )


def _attachment_json(part: MediaPart, show_content: bool) -> dict[str, Any]:
    """An attachment without its URL (a signed URL is a credential to the file)."""
    return {
        "content_type": part.content_type,
        "size_bytes": part.size_bytes,
        "by": "url" if part.url is not None else "attachment_id",
        "attachment_id": part.attachment_id,
        "filename": _masked(part.filename) if show_content else None,
    }


def _attachment_line(part: MediaPart, show_content: bool) -> str:
    how = "by URL, not shown" if part.url is not None else f"attachment {part.attachment_id}"
    name = f" {part.filename!r}" if show_content and part.filename else ""
    size = f", {part.size_bytes} bytes" if part.size_bytes is not None else ""
    return f"attachment:{name} {part.content_type or 'unknown type'} ({how}{size})"


def _message_json(message: OutgoingMessage, show_content: bool) -> dict[str, Any]:
    return {
        "content_shown": show_content,
        "text": mask_handles_in(message.text) if show_content and message.text else None,
        "attachments": [
            _attachment_json(part, show_content)
            for part in message.parts
            if isinstance(part, MediaPart)
        ],
        "effect": None if message.effect is None else message.effect.name,
        "reply_to": None if message.reply_to is None else message.reply_to.message_id,
    }


def _message_lines(message: OutgoingMessage, show_content: bool) -> list[str]:
    if not message.text:
        text = "(no text)"
    elif show_content:
        text = mask_handles_in(json.dumps(message.text, ensure_ascii=False))
    else:
        text = _HIDDEN
    lines = [f"message: {text}"]
    lines.extend(
        f"  {_attachment_line(part, show_content)}"
        for part in message.parts
        if isinstance(part, MediaPart)
    )
    if message.effect is not None:
        lines.append(f"  effect: {message.effect.name}")
    if message.reply_to is not None:
        lines.append(f"  reply to: {message.reply_to.message_id}")
    return lines


def _was(status: IntentStatus) -> dict[str, Any]:
    return {"id": status.intent.id, "was": status.state.value, "attempts": status.attempts}


def _not_allowed(status: IntentStatus, why: dict[DeliveryState, str], rule: str) -> Refused:
    reason = why.get(status.state, "its state does not allow it")
    return Refused(
        "wrong_state",
        f"intent {status.intent.id!r} is {status.state.value}: {reason}; {rule}",
        code=1,
    )


# -- the commands ----------------------------------------------------------------------


async def _list(outbox: Outbox, args: argparse.Namespace) -> output.Output:
    state = None if args.state is None else DeliveryState(args.state)
    found = await outbox.intents(state, limit=args.limit + 1)
    shown = found[: args.limit]
    lines = [_intent_line(status) for status in shown]
    if not lines:
        lines.append(f"(no {args.state} intents)" if args.state else "(no intents)")
    if len(found) > len(shown):
        lines.append(f"(more intents than --limit {args.limit}: raise it to see them)")
    return output.Output(tuple(lines), [_intent_json(status) for status in shown])


async def _show(outbox: Outbox, args: argparse.Namespace) -> output.Output:
    status = await _status(outbox, args.id)
    intent = status.intent
    service = None if status.service is None else status.service.value
    lines = [
        f"intent {intent.id} ({status.state.value})",
        f"kind: {intent.kind or '-'}",
        f"to: {', '.join(_recipients(status)) or '-'}",
        f"conversation: {_conversation(status) or '-'}",
        f"preference: {intent.preference.value}",
        f"created: {when(intent.created_at)}",
        *_message_lines(intent.message, args.show_content),
        f"service: {service or '-'}",
        f"message ids: {', '.join(status.message_ids) or '-'}",
        f"sent: {_at(status.sent_at)}",
        f"delivered: {_at(status.delivered_at)}",
        f"read: {_at(status.read_at)}",
        f"failed: {_at(status.failed_at)}",
        f"attempts: {status.attempts}",
        f"resends: {status.resends}",
        f"fired: {', '.join(status.fired) or '-'}",
        f"error: {status.error or '-'}",
    ]
    data = {
        **_intent_json(status),
        "preference": intent.preference.value,
        "message": _message_json(intent.message, args.show_content),
        "service": service,
        "message_ids": list(status.message_ids),
        "sent_at": _iso(status.sent_at),
        "delivered_at": _iso(status.delivered_at),
        "read_at": _iso(status.read_at),
        "failed_at": _iso(status.failed_at),
    }
    return output.Output(tuple(mask_handles_in(line) for line in lines), data)


async def _retry(outbox: Outbox, args: argparse.Namespace) -> output.Output:
    rule = "only a failed or queued intent can be retried"
    status = await _status(outbox, args.id)
    if status.state not in _RETRYABLE:
        raise _not_allowed(status, _WHY_NOT_RETRIED, rule)
    if not await outbox.retry(status.intent.id):
        # Another writer moved it on between the two reads: say where it is now.
        raise _not_allowed(await _status(outbox, args.id), _WHY_NOT_RETRIED, rule)
    line = (
        f"retried {status.intent.id} (was {status.state.value}, {_attempts(status)}): queued "
        "for a worker to send under its own key"
    )
    return output.Output((mask_handles_in(line),), {"retried": [_was(status)]})


async def _cancel(outbox: Outbox, args: argparse.Namespace) -> output.Output:
    rule = "only a queued or failed intent can be cancelled"
    status = await _status(outbox, args.id)
    if status.state not in _CANCELLABLE:
        raise _not_allowed(status, _WHY_NOT_CANCELLED, rule)
    if not await outbox.cancel(status.intent.id):
        raise _not_allowed(await _status(outbox, args.id), _WHY_NOT_CANCELLED, rule)
    line = (
        f"cancelled {status.intent.id} (was {status.state.value}, {_attempts(status)}): no "
        "worker will send or re-send it now (a send already under way, or one whose answer "
        "was lost, may still arrive)"
    )
    return output.Output((mask_handles_in(line),), {"cancelled": [_was(status)]})


async def _stats(outbox: Outbox, args: argparse.Namespace) -> output.Output:
    counts = await outbox.stats()
    lines = tuple(f"{state.value}: {count}" for state, count in counts.items())
    return output.Output(lines, {state.value: count for state, count in counts.items()})
