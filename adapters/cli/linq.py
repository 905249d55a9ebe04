"""``caresupport-transport linq``: Linq Partner API operations from the command line.

This module is a composition root: it reads the configuration from ``--config
FILE`` (CareSupport's JSON keys) or from the ``LINQ_*`` environment variables,
and builds a :class:`~adapters.linq.LinqClient`. Output is readable text, or
JSON with ``--json``. Errors print the message, Linq's code and the trace id on
stderr and exit 2 for bad input (validation, configuration) or 1 when Linq
refused or could not be reached. The API token is never printed.

Tests run ``main([...])`` inside :func:`wired`, which injects the environment,
an ``httpx`` transport (``httpx.MockTransport``) and the retry sleep.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import attrs
import httpx

from adapters.cli import _linq_output as output
from adapters.linq import LinqClient, LinqConfig, codes
from adapters.linq.config import DEFAULT_BASE_URL
from caresupport_transport.capabilities import Service
from caresupport_transport.checks import check_handle
from caresupport_transport.content import (
    BUBBLE_EFFECTS,
    SCREEN_EFFECTS,
    Effect,
    MediaPart,
    OutgoingMessage,
    Part,
    Reaction,
    ReactionKind,
    ReplyTo,
    TextPart,
)
from caresupport_transport.errors import (
    ConfigurationError,
    ProviderError,
    TransportError,
    ValidationError,
)

__all__ = ["Wiring", "register", "wired"]

Action = Callable[[LinqClient, argparse.Namespace], Awaitable[output.Output]]
_SERVICES = {"imessage": Service.IMESSAGE, "rcs": Service.RCS, "sms": Service.SMS}
_SENDABLE_REACTIONS = [k.value for k in ReactionKind if k is not ReactionKind.STICKER]
_ENV_HELP = (
    "Configuration: --config FILE (JSON keys linq_api_token, linq_phone, base_url, "
    "webhook_signing_secret) or the environment variables LINQ_API_TOKEN, "
    f"LINQ_PHONE_NUMBER, LINQ_BASE_URL (default {DEFAULT_BASE_URL}). "
    "LINQ_API_TOKEN_FILE (JSON key linq_api_token_file) names a file holding the "
    "token instead, keeping it out of ps and the environment."
)


@attrs.frozen
class Wiring:
    """Where the commands get their environment and their HTTP from (tests replace it).

    Attributes:
        environ: the environment variables to read the configuration from.
        transport: an ``httpx`` transport to send requests through (``None``: the network).
        sleep: how to wait between retries.
    """

    environ: Mapping[str, str] = attrs.field(factory=lambda: os.environ)
    transport: httpx.AsyncBaseTransport | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


_WIRING: ContextVar[Wiring | None] = ContextVar("linq_cli_wiring", default=None)


@contextlib.contextmanager
def wired(
    *,
    environ: Mapping[str, str],
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Iterator[None]:
    """Run ``linq`` commands with this environment and HTTP transport (for tests)."""
    token = _WIRING.set(Wiring(environ, transport, sleep))
    try:
        yield
    finally:
        _WIRING.reset(token)


def register(subparsers: Any) -> None:
    """Add the ``linq`` command and its sub-commands."""
    parser = subparsers.add_parser(
        "linq",
        help="Linq API operations: chats, messages, reactions, webhooks...",
        description=f"Call the Linq Partner API. {_ENV_HELP}",
    )
    parser.set_defaults(func=lambda _args: _usage(parser))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, metavar="FILE", help="a JSON configuration file")
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    commands = parser.add_subparsers(dest="linq_command", metavar="COMMAND")

    def command(name: str, action: Action, help_text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(
            name, parents=[common], help=help_text, description=f"{help_text}. {_ENV_HELP}"
        )
        sub.set_defaults(func=lambda args: _run(args, action))
        return sub

    create = command("create", _create, "create a chat with its first message")
    create.add_argument("--to", action="append", required=True, help="a handle (repeat)")
    create.add_argument("--body", required=True, help="the first message's text")
    create.add_argument("--service", choices=sorted(_SERVICES), help="pin a service")
    create.add_argument("--effect", help="an iMessage effect (not sent on a first message)")
    create.add_argument("--idempotency-key", help="de-duplicates repeated sends")

    send = command("send", _send, "send a message into a chat")
    send.add_argument("--chat-id", required=True)
    send.add_argument("--body", help="the text")
    send.add_argument("--media-url", action="append", default=[], help="media by URL (repeat)")
    send.add_argument("--reply-to", metavar="MESSAGE_ID", help="reply in a thread (iMessage)")
    send.add_argument("--service", choices=sorted(_SERVICES), help="pin a service")
    send.add_argument("--effect", help="an iMessage screen or bubble effect")
    send.add_argument("--idempotency-key", help="de-duplicates repeated sends")

    chats = command("chats", _chats, "list the line's chats")
    chats.add_argument("--to", action="append", default=[], help="only chats with this handle")
    chats.add_argument("--limit", type=int, default=50, help="the most chats to show")

    messages = command("messages", _messages, "a chat's history, newest first")
    messages.add_argument("--chat-id", required=True)
    messages.add_argument("--limit", type=int, default=20, help="the most messages to show")

    command("phones", _phones, "the partner's lines")

    typing = command("typing", _typing, "show (or hide) the typing indicator")
    typing.add_argument("--chat-id", required=True)
    typing.add_argument("--stop", action="store_true", help="hide it")

    read = command("read", _read, "mark a chat read")
    read.add_argument("--chat-id", required=True)

    react = command("react", _react, "add (or remove) a tapback")
    react.add_argument("--message-id", required=True)
    react.add_argument("--type", required=True, choices=_SENDABLE_REACTIONS)
    react.add_argument("--emoji", help="the emoji of a custom reaction")
    react.add_argument("--part-index", type=int, default=None)
    react.add_argument("--remove", action="store_true", help="take the tapback back")

    capability = command("capability", _capability, "whether a handle has iMessage and RCS")
    capability.add_argument("--to", required=True, help="the handle to check")

    upload = command("upload", _upload, "upload a file to send as media")
    upload.add_argument("file", type=Path, metavar="FILE")
    upload.add_argument("--content-type", help="guessed from the name when omitted")
    upload.add_argument("--filename", help="the name recipients see")

    webhooks = commands.add_parser(
        "webhooks",
        help="webhook subscriptions: list, create, delete",
        description=f"Manage webhook subscriptions. {_ENV_HELP}",
    )
    webhooks.set_defaults(func=lambda _args: _usage(webhooks))
    actions = webhooks.add_subparsers(dest="webhooks_command", metavar="ACTION")
    listing = actions.add_parser("list", parents=[common], help="every subscription")
    listing.set_defaults(func=lambda args: _run(args, _webhooks_list))
    making = actions.add_parser("create", parents=[common], help="subscribe a URL")
    making.add_argument("url", help="the target URL (?version=2026-02-03 picks the payload)")
    making.add_argument("--events", nargs="+", required=True, help="e.g. message.received")
    making.set_defaults(func=lambda args: _run(args, _webhooks_create))
    deleting = actions.add_parser("delete", parents=[common], help="delete a subscription")
    deleting.add_argument("subscription_id", metavar="ID")
    deleting.set_defaults(func=lambda args: _run(args, _webhooks_delete))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


# -- running a command ---------------------------------------------------------------


def _config(args: argparse.Namespace, environ: Mapping[str, str]) -> LinqConfig:
    if args.config is not None:
        return LinqConfig.from_json_file(args.config)
    return LinqConfig.from_env(environ)


def _run(args: argparse.Namespace, action: Action) -> int:
    wiring = _WIRING.get() or Wiring()
    try:
        config = _config(args, wiring.environ)
        result = asyncio.run(_call(config, wiring, args, action))
    except (ValidationError, ConfigurationError) as exc:
        _report(exc)
        return 2
    except TransportError as exc:
        _report(exc)
        return 1
    result.write(sys.stdout, as_json=args.json)
    return 0


async def _call(
    config: LinqConfig, wiring: Wiring, args: argparse.Namespace, action: Action
) -> output.Output:
    http = httpx.AsyncClient(transport=wiring.transport) if wiring.transport else None
    try:
        async with LinqClient(config, http=http, sleep=wiring.sleep) as client:
            return await action(client, args)
    finally:
        if http is not None:
            await http.aclose()


def _report(exc: TransportError) -> None:
    for line in output.describe_error(exc):
        print(line, file=sys.stderr)


# -- arguments to domain values --------------------------------------------------------


def _effect(name: str | None) -> Effect | None:
    if name is None:
        return None
    if name in BUBBLE_EFFECTS:
        return Effect.bubble(name)
    if name in SCREEN_EFFECTS:
        return Effect.screen(name)
    known = ", ".join(sorted(SCREEN_EFFECTS | BUBBLE_EFFECTS))
    raise ValidationError("--effect", f"{name!r} is not an effect; expected one of {known}")


def _service(name: str | None) -> Service | None:
    return None if name is None else _SERVICES[name]


def _message(args: argparse.Namespace, *, effect: Effect | None = None) -> OutgoingMessage:
    parts: list[Part] = []
    if args.body:
        parts.append(TextPart(args.body))
    parts.extend(MediaPart(url=url) for url in args.media_url)
    if not parts:
        raise ValidationError("--body", "give --body, --media-url or both")
    reply = ReplyTo(args.reply_to) if args.reply_to else None
    return OutgoingMessage(parts, effect=effect, reply_to=reply)


# -- the commands -------------------------------------------------------------------------


async def _create(client: LinqClient, args: argparse.Namespace) -> output.Output:
    effect = _effect(args.effect)
    notes: list[str] = []
    if effect is not None:
        # Linq refuses an effect on a chat's first message: send the text, say so.
        notes.append(f"note: effect {effect.name!r} not sent (a chat's first message has none)")
    chat = await client.create_chat(
        args.to,
        OutgoingMessage.of_text(args.body),
        preferred_service=_service(args.service),
        idempotency_key=args.idempotency_key,
    )
    return output.created_chat(chat, notes)


async def _send(client: LinqClient, args: argparse.Namespace) -> output.Output:
    message = _message(args, effect=_effect(args.effect))
    answer = await client.send_message(
        args.chat_id,
        message,
        preferred_service=_service(args.service),
        idempotency_key=args.idempotency_key,
    )
    return output.sent(answer)


def _positive_limit(value: int) -> int:
    if value < 1:
        raise ValidationError("--limit", f"must be at least 1, got {value}")
    return value


async def _chats(client: LinqClient, args: argparse.Namespace) -> output.Output:
    limit = _positive_limit(args.limit)
    found = []
    async for chat in client.list_chats(to=args.to, limit=min(limit, 100)):
        found.append(chat)
        if len(found) >= limit:
            break
    return output.chats(found)


async def _messages(client: LinqClient, args: argparse.Namespace) -> output.Output:
    limit = _positive_limit(args.limit)
    found = []
    async for message in client.list_messages(args.chat_id, limit=min(limit, 100)):
        found.append(message)
        if len(found) >= limit:
            break
    return output.messages(found)


async def _phones(client: LinqClient, args: argparse.Namespace) -> output.Output:
    return output.phones(await client.list_phone_numbers())


async def _typing(client: LinqClient, args: argparse.Namespace) -> output.Output:
    if args.stop:
        await client.stop_typing(args.chat_id)
        return output.accepted("typing indicator hidden")
    await client.start_typing(args.chat_id)
    return output.accepted("typing indicator shown")


async def _read(client: LinqClient, args: argparse.Namespace) -> output.Output:
    await client.mark_read(args.chat_id)
    return output.accepted(f"chat {args.chat_id} marked read")


async def _react(client: LinqClient, args: argparse.Namespace) -> output.Output:
    kind = ReactionKind(args.type)
    reaction = Reaction(kind, args.emoji if kind is ReactionKind.CUSTOM else None)
    if args.emoji is not None and kind is not ReactionKind.CUSTOM:
        raise ValidationError("--emoji", "only a custom reaction (--type custom) takes an emoji")
    if args.remove:
        answer = await client.remove_reaction(args.message_id, reaction, part_index=args.part_index)
        return output.accepted(f"{kind.value} removed", answer)
    answer = await client.react(args.message_id, reaction, part_index=args.part_index)
    return output.accepted(f"{kind.value} added", answer)


async def _availability(check: Awaitable[Any]) -> str:
    try:
        answer = await check
    except ProviderError as exc:
        if exc.code in codes.UPSTREAM_UNAVAILABLE or (exc.status or 0) >= 500:
            return "unknown"
        raise
    return "available" if answer.available else "unavailable"


async def _capability(client: LinqClient, args: argparse.Namespace) -> output.Output:
    handle = check_handle(args.to, "--to")
    imessage = await _availability(client.check_imessage(handle))
    is_phone = handle.is_phone
    rcs = await _availability(client.check_rcs(handle)) if is_phone else "unavailable"
    sms = "assumed (phone number)" if is_phone else "unavailable (email address)"
    lines = (f"iMessage: {imessage}", f"RCS: {rcs}", f"SMS: {sms}")
    return output.Output(
        lines, {"address": handle.value, "imessage": imessage, "rcs": rcs, "sms": sms}
    )


async def _upload(client: LinqClient, args: argparse.Namespace) -> output.Output:
    uploaded = await client.upload(args.file, args.filename, args.content_type)
    return output.attachment(uploaded)


async def _webhooks_list(client: LinqClient, args: argparse.Namespace) -> output.Output:
    return output.subscriptions(await client.list_webhook_subscriptions())


async def _webhooks_create(client: LinqClient, args: argparse.Namespace) -> output.Output:
    created = await client.create_webhook_subscription(args.url, args.events)
    return output.subscription_created(created)


async def _webhooks_delete(client: LinqClient, args: argparse.Namespace) -> output.Output:
    await client.delete_webhook_subscription(args.subscription_id)
    return output.accepted(f"webhook subscription {args.subscription_id} deleted")
