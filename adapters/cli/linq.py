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
import mimetypes
import os
import re
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs
import httpx

from adapters.cli import _linq_output as output
from adapters.cli._parsing import HelpFormatter, JsonAwareParser
from adapters.linq import LinqClient, LinqConfig, codes
from adapters.linq.config import DEFAULT_BASE_URL
from adapters.linq.loopback import is_https_or_loopback_http
from caresupport_transport.capabilities import Feature, Service, capabilities_of
from caresupport_transport.checks import check_handle, check_idempotency_key
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
    VoiceMemo,
    check_content_type,
)
from caresupport_transport.errors import (
    ConfigurationError,
    ProviderError,
    TransportError,
    ValidationError,
)
from caresupport_transport.handles import Handle
from caresupport_transport.model import Degradation, DegradationAction
from caresupport_transport.policy import plan_message
from caresupport_transport.redact import mask_handle
from caresupport_transport.sending import keyed_send, new_idempotency_key, split_key
from caresupport_transport.transport import FIRST_MESSAGE_EFFECT

__all__ = ["Wiring", "register", "wired"]

T = TypeVar("T")
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
        formatter_class=HelpFormatter,
    )
    parser.set_defaults(func=lambda _args: _usage(parser))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, metavar="FILE", help="a JSON configuration file")
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    commands = parser.add_subparsers(
        dest="linq_command", metavar="COMMAND", parser_class=JsonAwareParser
    )

    def group(
        within: Any, name: str, help_text: str, description: str
    ) -> tuple[argparse.ArgumentParser, Any]:
        """A command whose actions are sub-commands (``webhooks list``, ``group add``)."""
        sub: argparse.ArgumentParser = within.add_parser(
            name, help=help_text, description=description, formatter_class=HelpFormatter
        )
        sub.set_defaults(func=lambda _args: _usage(sub))
        return sub, sub.add_subparsers(dest=f"{name}_command", metavar="ACTION")

    def command(
        name: str, action: Action, help_text: str, *, within: Any = commands
    ) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = within.add_parser(
            name,
            parents=[common],
            help=help_text,
            description=f"{help_text[0].upper()}{help_text[1:]}. {_ENV_HELP}",
            formatter_class=HelpFormatter,
        )
        sub.set_defaults(func=lambda args: _run(args, action))
        return sub

    def chat_id(sub: argparse.ArgumentParser, what: str = "the chat") -> None:
        sub.add_argument("--chat-id", required=True, metavar="CHAT_ID", help=what)

    def idempotency_key(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--idempotency-key",
            metavar="KEY",
            help="de-duplicates repeated sends (a new one is made when omitted; "
            "after a failure, retry under the key the error printed)",
        )

    create = command(
        "create", _create, "create a chat with its first message (or send into the existing one)"
    )
    create.add_argument(
        "--to", action="append", required=True, metavar="HANDLE", help="a handle (repeat)"
    )
    create.add_argument("--body", required=True, help="the first message's text")
    create.add_argument(
        "--service",
        choices=sorted(_SERVICES),
        help="pin a service (no fallback); by default Linq picks and falls back",
    )
    create.add_argument(
        "--effect", help="an iMessage effect (never sent: a chat's first message has none)"
    )
    idempotency_key(create)

    send = command("send", _send, "send a message into a chat")
    chat_id(send)
    send.add_argument("--body", help="the text")
    send.add_argument(
        "--media-url",
        action="append",
        default=[],
        metavar="URL",
        help="media by https:// URL, or http:// to this machine (the simulator's "
        "download_url) (repeat)",
    )
    send.add_argument(
        "--attachment-id",
        action="append",
        default=[],
        metavar="ID",
        help="media uploaded before with 'linq upload' (repeat)",
    )
    send.add_argument(
        "--reply-to",
        metavar="MESSAGE_ID",
        help="reply in that message's thread (iMessage; dropped and reported elsewhere)",
    )
    send.add_argument(
        "--service",
        choices=sorted(_SERVICES),
        help="pin a service (no fallback); by default Linq picks and falls back",
    )
    send.add_argument(
        "--effect",
        help="an iMessage screen or bubble effect (dropped and reported where the chat's "
        "service has none)",
    )
    idempotency_key(send)

    memo = command("voice-memo", _voice_memo, "send an iMessage voice memo into a chat")
    chat_id(memo)
    audio = memo.add_mutually_exclusive_group(required=True)
    audio.add_argument(
        "--url",
        help="the audio by https:// URL (http:// to this machine for the simulator); "
        "MP3, M4A, AAC, CAF, WAV, AIFF or AMR",
    )
    audio.add_argument(
        "--attachment-id", metavar="ID", help="audio uploaded before with 'linq upload'"
    )
    idempotency_key(memo)

    chats = command("chats", _chats, "list the line's chats")
    chats.add_argument(
        "--to", action="append", default=[], metavar="HANDLE", help="only chats with this handle"
    )
    chats.add_argument("--limit", type=int, default=50, help="the most chats to show")

    messages = command("messages", _messages, "a chat's history, newest first")
    chat_id(messages)
    messages.add_argument("--limit", type=int, default=20, help="the most messages to show")

    edit = command("edit", _edit, "replace the text of a sent message (iMessage)")
    edit.add_argument("--message-id", required=True, help="the message to edit")
    edit.add_argument("--body", required=True, help="the new text")
    edit.add_argument("--part-index", type=int, default=0, help="which part of the message")

    delete = command("delete", _delete, "delete a message from Linq's records (recipients keep it)")
    delete.add_argument("--message-id", required=True, help="the message to delete")

    command("phones", _phones, "the partner's lines")

    available = command(
        "available-number", _available_number, "the line Linq suggests sending from"
    )
    available.add_argument(
        "--to", action="append", default=[], metavar="HANDLE", help="a recipient (repeatable)"
    )
    available.add_argument(
        "--exclude-from", action="append", default=[], metavar="LINE", help="a line to skip"
    )
    available.add_argument("--type", choices=("imessage", "rcs"), help="only lines of this kind")

    reputation = command(
        "reputation", _reputation, "each line's reputation, or one reputation audit"
    )
    reputation.add_argument("--audit-id", metavar="ID", help="read this audit")
    reputation.add_argument(
        "--phone-number", metavar="LINE", help="the audited line (the configured one by default)"
    )

    locations = command("locations", _locations, "where the people sharing in a chat are")
    chat_id(locations)

    typing = command("typing", _typing, "show (or hide) the typing indicator")
    chat_id(typing)
    typing.add_argument("--stop", action="store_true", help="hide it")

    read = command("read", _read, "mark a chat read")
    chat_id(read)

    react = command("react", _react, "add (or remove) a tapback")
    react.add_argument("--message-id", required=True, help="the message to react to")
    react.add_argument(
        "--type", required=True, choices=_SENDABLE_REACTIONS, help="the kind of tapback"
    )
    react.add_argument("--emoji", help="the emoji of a custom reaction (--type custom)")
    react.add_argument(
        "--part-index", type=int, default=None, help="which part of the message (all by default)"
    )
    react.add_argument("--remove", action="store_true", help="take the tapback back")

    _, members = group(
        commands,
        "group",
        "add or remove someone in a group chat",
        f"Add or remove a participant of a group chat (3 or more people). {_ENV_HELP}",
    )
    for name, action, verb in (("add", _group_add, "add"), ("remove", _group_remove, "remove")):
        member = command(name, action, f"{verb} someone in a group chat", within=members)
        chat_id(member, "the group chat")
        member.add_argument(
            "--handle", required=True, help=f"the phone number or email address to {verb}"
        )

    leave = command("leave", _leave, "leave a group chat (the line stops taking part)")
    chat_id(leave, "the group chat")

    capability = command("capability", _capability, "whether a handle has iMessage and RCS")
    capability.add_argument("--to", required=True, metavar="HANDLE", help="the handle to check")

    upload = command("upload", _upload, "upload a file to send as media")
    upload.add_argument("file", type=Path, metavar="FILE", help="the file to upload")
    upload.add_argument(
        "--content-type",
        metavar="TYPE",
        help="its MIME type, like image/png (guessed from the name when omitted)",
    )
    upload.add_argument("--filename", help="the name recipients see (the file's own by default)")

    _, cards = group(
        commands,
        "contact-card",
        "the line's contact card: get, create, update, share",
        f"The contact card iMessage shows for a line (Name and Photo Sharing). {_ENV_HELP}",
    )
    getting = command("get", _card_get, "the active contact cards", within=cards)
    getting.add_argument(
        "--phone-number", metavar="LINE", help="only this line's card (every line's by default)"
    )
    making_card = command("create", _card_create, "set up a line's card once", within=cards)
    making_card.add_argument("--first-name", required=True, help="the first name shown")
    changing = command("update", _card_update, "change fields of a line's card", within=cards)
    changing.add_argument("--first-name", help="the new first name")
    for sub in (making_card, changing):
        sub.add_argument("--last-name", help="the last name shown")
        sub.add_argument("--image-url", metavar="URL", help="an https:// URL of the photo")
        sub.add_argument(
            "--phone-number", metavar="LINE", help="the line (the configured one by default)"
        )
    sharing = command("share", _card_share, "share the line's card with a chat", within=cards)
    chat_id(sharing)

    command("events", _events, "the webhook event types a subscription can name")

    _, actions = group(
        commands,
        "webhooks",
        "webhook subscriptions: list, create, delete",
        f"Manage webhook subscriptions. {_ENV_HELP}",
    )
    command("list", _webhooks_list, "every subscription", within=actions)
    making = command("create", _webhooks_create, "subscribe a URL", within=actions)
    making.add_argument(
        "url",
        nargs="?",
        help="the target URL (?version=2026-02-03 picks the payload); before or after --events",
    )
    making.add_argument(
        "--events",
        nargs="+",
        action="extend",
        required=True,
        metavar="EVENT",
        help="event types, e.g. message.received (see 'linq events'); several, or comma-separated",
    )
    deleting = command("delete", _webhooks_delete, "delete a subscription", within=actions)
    deleting.add_argument("subscription_id", metavar="ID", help="the subscription's id")

    blocking = command(
        "block", _block, "block a handle: Linq drops its messages and refuses direct sends"
    )
    blocking.add_argument("handle", metavar="HANDLE", help="a phone number or email address")
    blocking.add_argument("--reason", help="why (free text, kept on the blocklist)")
    unblocking = command("unblock", _unblock, "take a handle off the blocklist")
    unblocking.add_argument("handle", metavar="HANDLE", help="a phone number or email address")
    command("blocked", _blocked, "the blocklist, newest first (handles masked)")


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
        output.report_error(exc, as_json=args.json)
        return 2
    except TransportError as exc:
        output.report_error(exc, as_json=args.json)
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
    parts.extend(_option(partial(MediaPart, url=url), "--media-url") for url in args.media_url)
    parts.extend(
        _option(partial(MediaPart, attachment_id=ident), "--attachment-id")
        for ident in args.attachment_id
    )
    if not parts:
        raise ValidationError("--body", "give --body, --media-url, --attachment-id or several")
    reply = ReplyTo(args.reply_to) if args.reply_to else None
    return OutgoingMessage(parts, effect=effect, reply_to=reply)


def _option(build: Callable[[], T], option: str) -> T:
    """``build()``, its ValidationError naming the command-line ``option``."""
    try:
        return build()
    except ValidationError as exc:
        raise ValidationError(option, exc.rule) from None


def _checked_media_urls(args: argparse.Namespace) -> None:
    """Media URLs the client would refuse, refused here naming the option (before any I/O)."""
    for url in args.media_url:
        if not is_https_or_loopback_http(url):
            raise ValidationError(
                "--media-url",
                f"{url!r} must be an https:// URL (plain http:// only to this machine, "
                "for the simulator)",
            )


def _key(value: str | None) -> str:
    return _option(lambda: check_idempotency_key(value), "--idempotency-key") or (
        new_idempotency_key()
    )


# -- the commands -------------------------------------------------------------------------


async def _existing_chat_ids(client: LinqClient, to: Sequence[Handle]) -> set[str]:
    """Chats of the line with exactly these people, which ``POST /v3/chats`` would reuse.

    Linq matches on the line and the precise set of handles, and never reuses a
    named group.
    """
    wanted = {h.value for h in to}
    found: set[str] = set()
    async for chat in client.list_chats(to=list(to), limit=100):
        others = {h.handle for h in chat.handles if not h.is_me}
        if others == wanted and not (chat.is_group and chat.display_name):
            found.add(chat.id)
    return found


async def _create(client: LinqClient, args: argparse.Namespace) -> output.Output:
    to = [check_handle(value, f"to[{index}]") for index, value in enumerate(args.to)]
    effect = _effect(args.effect)
    first = OutgoingMessage.of_text(args.body)
    key = _key(args.idempotency_key)
    notes: list[str] = []
    if effect is not None:
        # Linq refuses an effect on a chat's first message: send the text, say so.
        dropped = Degradation(Feature.EFFECT, DegradationAction.DROPPED, FIRST_MESSAGE_EFFECT)
        notes.append(f"note: effect {effect.name!r} not sent ({dropped})")
    existing = await _existing_chat_ids(client, to)
    with keyed_send(key):
        chat = await client.create_chat(
            to, first, preferred_service=_service(args.service), idempotency_key=key
        )
    return output.created_chat(chat, notes, reused=chat.id in existing)


_SHORTEST_TEXT_LIMIT = min(capabilities_of(service).max_text_chars for service in Service)


def _needs_plan(message: OutgoingMessage) -> bool:
    """Whether some service could not carry ``message`` as it is."""
    long_text = any(
        isinstance(part, TextPart) and len(part.text) > _SHORTEST_TEXT_LIMIT
        for part in message.parts
    )
    return message.effect is not None or message.reply_to is not None or long_text


async def _send(client: LinqClient, args: argparse.Namespace) -> output.Output:
    message = _message(args, effect=_effect(args.effect))
    _checked_media_urls(args)
    key = _key(args.idempotency_key)
    pinned = _service(args.service)
    service = pinned
    if service is None and _needs_plan(message):
        service = (await client.get_chat(args.chat_id)).service
    # The Transport's own policy: what the chat's service cannot carry is dropped (or
    # split) and reported the same way, word for word.
    plan = plan_message(message, service) if service is not None else None
    bubbles = plan.messages if plan is not None else (message,)
    answers = []
    with keyed_send(key):  # a failed send prints the key to retry under
        for index, bubble in enumerate(bubbles):
            answers.append(
                await client.send_message(
                    args.chat_id,
                    bubble,
                    preferred_service=pinned,
                    idempotency_key=split_key(key, index, len(bubbles)),
                )
            )
    return output.sent(answers, plan.degradations if plan is not None else (), key=key)


async def _voice_memo(client: LinqClient, args: argparse.Namespace) -> output.Output:
    if args.url is not None:
        if not is_https_or_loopback_http(args.url):
            raise ValidationError(
                "--url", "must be an https:// URL (plain http:// only to this machine)"
            )
        guessed = mimetypes.guess_type(urlsplit(args.url).path)[0]
        audio = _option(lambda: MediaPart(url=args.url, content_type=guessed), "--url")
        memo = _option(lambda: VoiceMemo(audio), "--url")
    else:
        audio = _option(lambda: MediaPart(attachment_id=args.attachment_id), "--attachment-id")
        memo = VoiceMemo(audio)
    key = _key(args.idempotency_key)
    with keyed_send(key):
        sent = await client.send_voice_memo(args.chat_id, memo, idempotency_key=key)
    return output.voice_memo_sent(sent)


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


async def _edit(client: LinqClient, args: argparse.Namespace) -> output.Output:
    text = _option(lambda: TextPart(args.body).text, "--body")
    if args.part_index < 0:
        raise ValidationError("--part-index", f"must not be negative, got {args.part_index}")
    edited = await client.edit_message(args.message_id, text, part_index=args.part_index)
    return output.edited(edited)


async def _delete(client: LinqClient, args: argparse.Namespace) -> output.Output:
    await client.delete_message(args.message_id)
    return output.accepted(
        f"message {args.message_id} deleted from Linq's records (recipients keep it)"
    )


async def _phones(client: LinqClient, args: argparse.Namespace) -> output.Output:
    return output.phones(await client.list_phone_numbers())


async def _available_number(client: LinqClient, args: argparse.Namespace) -> output.Output:
    kind = {"imessage": Service.IMESSAGE, "rcs": Service.RCS}.get(args.type or "")
    chosen = await client.get_available_number(
        to=args.to, exclude_from=args.exclude_from, type=kind
    )
    return output.available_number(chosen)


async def _reputation(client: LinqClient, args: argparse.Namespace) -> output.Output:
    if args.audit_id is None:
        if args.phone_number is not None:
            raise ValidationError("--phone-number", "goes with --audit-id")
        return output.reputations(await client.list_phone_numbers())
    line = args.phone_number or client.config.phone_number
    if line is None:
        raise ValidationError("--phone-number", "is required when no line is configured")
    return output.audit(await client.get_reputation_audit(line, args.audit_id))


async def _locations(client: LinqClient, args: argparse.Namespace) -> output.Output:
    return output.locations(await client.get_locations(args.chat_id))


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


async def _group_add(client: LinqClient, args: argparse.Namespace) -> output.Output:
    handle = check_handle(args.handle, "--handle")
    answer = await client.add_participant(args.chat_id, handle)
    return output.accepted(f"{handle.value} added to chat {args.chat_id}", answer)


async def _group_remove(client: LinqClient, args: argparse.Namespace) -> output.Output:
    handle = check_handle(args.handle, "--handle")
    answer = await client.remove_participant(args.chat_id, handle)
    return output.accepted(f"{handle.value} removed from chat {args.chat_id}", answer)


async def _leave(client: LinqClient, args: argparse.Namespace) -> output.Output:
    answer = await client.leave_chat(args.chat_id)
    return output.accepted(f"left chat {args.chat_id}", answer)


async def _block(client: LinqClient, args: argparse.Namespace) -> output.Output:
    handle = check_handle(args.handle, "HANDLE")
    return output.blocked_handle(await client.block_handle(handle, reason=args.reason))


async def _unblock(client: LinqClient, args: argparse.Namespace) -> output.Output:
    handle = check_handle(args.handle, "HANDLE")
    await client.unblock_handle(handle)
    return output.accepted(f"{mask_handle(handle)} unblocked")


async def _blocked(client: LinqClient, args: argparse.Namespace) -> output.Output:
    return output.blocked_handles(await client.list_blocked_handles())


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


_MIME_TYPE = re.compile(
    r"(application|audio|font|image|message|model|multipart|text|video)"
    r"/[a-z0-9][a-z0-9!#$&^_.+-]*"
)


def _upload_content_type(given: str | None, filename: str) -> str:
    """The upload's MIME type: a known one given, or guessed from the name (before any I/O)."""
    if given is None:
        guessed = mimetypes.guess_type(filename)[0]
        if guessed is None or not _MIME_TYPE.fullmatch(guessed):
            raise ValidationError(
                "--content-type",
                f"cannot be guessed from {filename!r}; give it, like --content-type image/png",
            )
        given = guessed
    base = given.split(";", 1)[0].strip().lower()
    if not _MIME_TYPE.fullmatch(base):
        raise ValidationError(
            "--content-type",
            f"{given!r} is not a known MIME type (image, audio, video, text, application... "
            "then '/' and a subtype, like image/png)",
        )
    check_content_type("--content-type", given)
    return given


async def _upload(client: LinqClient, args: argparse.Namespace) -> output.Output:
    filename = args.filename if args.filename is not None else args.file.name
    content_type = _upload_content_type(args.content_type, filename)
    uploaded = await client.upload(args.file, filename, content_type)
    return output.attachment(uploaded)


async def _card_get(client: LinqClient, args: argparse.Namespace) -> output.Output:
    return output.contact_cards(await client.get_contact_cards(phone_number=args.phone_number))


async def _card_create(client: LinqClient, args: argparse.Namespace) -> output.Output:
    card = await client.create_contact_card(
        first_name=args.first_name,
        last_name=args.last_name,
        image_url=args.image_url,
        phone_number=args.phone_number,
    )
    return output.contact_card(card, "created")


async def _card_update(client: LinqClient, args: argparse.Namespace) -> output.Output:
    card = await client.update_contact_card(
        first_name=args.first_name,
        last_name=args.last_name,
        image_url=args.image_url,
        phone_number=args.phone_number,
    )
    return output.contact_card(card, "updated")


async def _card_share(client: LinqClient, args: argparse.Namespace) -> output.Output:
    await client.share_contact_card(args.chat_id)
    return output.accepted(f"contact card shared with chat {args.chat_id}")


async def _events(client: LinqClient, args: argparse.Namespace) -> output.Output:
    return output.event_types(await client.list_webhook_event_types())


async def _webhooks_list(client: LinqClient, args: argparse.Namespace) -> output.Output:
    return output.subscriptions(await client.list_webhook_subscriptions())


def _target_and_events(url: str | None, given: Sequence[str]) -> tuple[str, list[str]]:
    """The URL and the event types, whichever side of ``--events`` the URL was written.

    ``--events`` takes one or more values, so a URL written after them lands among
    them; an event type never contains ``://``.
    """
    words = [word.strip() for value in given for word in value.split(",") if word.strip()]
    urls = [word for word in words if "://" in word]
    events = [word for word in words if "://" not in word]
    if url is not None:
        urls.insert(0, url)
    if len(urls) != 1:
        rule = "is missing" if not urls else f"given {len(urls)} times: {', '.join(urls)}"
        raise ValidationError("url", f"the target URL {rule}; give exactly one")
    if not events:
        raise ValidationError(
            "--events", "name at least one event type, e.g. message.received (see 'linq events')"
        )
    return urls[0], events


async def _webhooks_create(client: LinqClient, args: argparse.Namespace) -> output.Output:
    url, events = _target_and_events(args.url, args.events)
    created = await client.create_webhook_subscription(url, events)
    return output.subscription_created(created)


async def _webhooks_delete(client: LinqClient, args: argparse.Namespace) -> output.Output:
    await client.delete_webhook_subscription(args.subscription_id)
    return output.accepted(f"webhook subscription {args.subscription_id} deleted")
