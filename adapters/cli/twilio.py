"""``caresupport-transport twilio send|messages|serve``: the Twilio SMS adapter from a shell.

Configuration comes from ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN`` (or
``TWILIO_API_KEY`` / ``TWILIO_API_SECRET``), ``TWILIO_FROM`` or
``TWILIO_MESSAGING_SERVICE_SID``, and ``TWILIO_STATUS_CALLBACK_URL``; or from
the ``twilio`` object of the JSON file given with ``--config``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import httpx

from adapters.linq.serving import make_server
from adapters.twilio import (
    SqliteKeyStore,
    TwilioClient,
    TwilioConfig,
    TwilioProvider,
    TwilioTransport,
)
from caresupport_transport.content import MediaPart, OutgoingMessage, TextPart
from caresupport_transport.errors import ConfigurationError, TransportError, ValidationError
from caresupport_transport.events import InboundEvent, MessageStatusChanged
from caresupport_transport.handles import Handle
from caresupport_transport.inbound import open_event_store
from caresupport_transport.model import Message
from caresupport_transport.redact import mask_handle

__all__ = ["register", "wired"]

_ENV_HELP = (
    "Reads TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET), "
    "TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID, TWILIO_STATUS_CALLBACK_URL, "
    "or the 'twilio' object of --config FILE."
)


@attrs.frozen
class Wiring:
    """Where commands get their environment and HTTP transport (tests swap both)."""

    environ: Mapping[str, str] = attrs.Factory(lambda: dict(os.environ))
    transport: httpx.AsyncBaseTransport | None = None


_WIRING: contextvars.ContextVar[Wiring | None] = contextvars.ContextVar(
    "twilio_wiring", default=None
)


@contextlib.contextmanager
def wired(
    *, environ: Mapping[str, str], transport: httpx.AsyncBaseTransport | None = None
) -> Iterator[None]:
    """Run ``twilio`` commands with this environment and HTTP transport (for tests)."""
    token = _WIRING.set(Wiring(environ, transport))
    try:
        yield
    finally:
        _WIRING.reset(token)


def register(subparsers: Any) -> None:
    """Add the ``twilio`` command and its sub-commands."""
    parser = subparsers.add_parser(
        "twilio",
        help="Twilio SMS: send a text, list a thread, serve the webhook receiver",
        description=f"Use the Twilio SMS adapter. {_ENV_HELP}",
    )
    parser.set_defaults(func=lambda _args: _usage(parser))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, metavar="FILE", help="a JSON configuration file")
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    common.add_argument(
        "--keys",
        type=Path,
        default=Path(os.environ.get("TWILIO_KEYS_DB", "twilio-keys.sqlite3")),
        metavar="FILE",
        help=(
            "where sends remember their idempotency keys, so a re-run never texts twice "
            "(default: $TWILIO_KEYS_DB or ./twilio-keys.sqlite3)"
        ),
    )
    commands = parser.add_subparsers(dest="twilio_command", metavar="COMMAND")

    send = commands.add_parser("send", parents=[common], help="send one SMS or MMS")
    send.add_argument("--to", required=True, metavar="NUMBER", help="E.164 number")
    send.add_argument("--text", metavar="TEXT", help="the text")
    send.add_argument(
        "--media-url", action="append", default=[], metavar="URL", help="a public media URL (MMS)"
    )
    send.add_argument("--idempotency-key", metavar="KEY", help="re-run with it: never two texts")
    send.set_defaults(func=lambda args: _run(args, _send))

    messages = commands.add_parser("messages", parents=[common], help="the thread with a number")
    messages.add_argument("--with", dest="other", required=True, metavar="NUMBER")
    messages.add_argument("--limit", type=int, default=20, metavar="N")
    messages.set_defaults(func=lambda args: _run(args, _messages))

    serve = commands.add_parser(
        "serve", parents=[common], help="serve the webhook receiver (inbound texts, statuses)"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8790)
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help="the origin Twilio posts to (behind a proxy), e.g. https://care.example.org",
    )
    serve.add_argument(
        "--trust-forwarded",
        action="store_true",
        help="rebuild the signed URL from X-Forwarded-Proto/-Host (behind a proxy only)",
    )
    serve.add_argument(
        "--store",
        default="memory://",
        metavar="URL",
        help="the inbox's event store (sqlite:///path, postgresql://..., default memory://)",
    )
    serve.set_defaults(func=_serve)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _config(args: argparse.Namespace, environ: Mapping[str, str]) -> TwilioConfig:
    if args.config is not None:
        return TwilioConfig.from_json_file(args.config)
    return TwilioConfig.from_env(environ)


Action = Callable[[TwilioTransport, argparse.Namespace], Awaitable[dict[str, Any]]]


def _run(args: argparse.Namespace, action: Action) -> int:
    wiring = _WIRING.get() or Wiring()
    try:
        config = _config(args, wiring.environ)
        result = asyncio.run(_call(config, wiring, args, action))
    except (ValidationError, ConfigurationError) as exc:
        _error(exc, args.json)
        return 2
    except TransportError as exc:
        _error(exc, args.json)
        return 1
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


def _error(exc: Exception, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
    else:
        print(f"error: {exc}", file=sys.stderr)


async def _call(
    config: TwilioConfig, wiring: Wiring, args: argparse.Namespace, action: Action
) -> dict[str, Any]:
    http = httpx.AsyncClient(transport=wiring.transport) if wiring.transport else None
    client = TwilioClient(config, http=http)
    records = SqliteKeyStore(args.keys)
    try:
        provider = TwilioProvider(client, records=records)
        return await action(TwilioTransport(client, provider=provider), args)
    finally:
        records.close()
        await client.aclose()


async def _send(transport: TwilioTransport, args: argparse.Namespace) -> dict[str, Any]:
    parts = ([TextPart(args.text)] if args.text else []) + [
        MediaPart(url=url) for url in args.media_url
    ]
    if not parts:
        raise ValidationError("text", "give --text or --media-url")
    conversation = await transport.conversation_for(Handle(args.to))
    receipt = await transport.send_message(
        conversation.id, OutgoingMessage(tuple(parts)), idempotency_key=args.idempotency_key
    )
    return {
        "message_sid": receipt.message_ids[0],
        "status": receipt.status.value,
        "idempotency_key": receipt.idempotency_key,
    }


async def _messages(transport: TwilioTransport, args: argparse.Namespace) -> dict[str, Any]:
    conversation = await transport.conversation_for(Handle(args.other))
    found: list[Message] = []
    async for message in transport.messages(conversation.id, page_size=min(args.limit, 100)):
        found.append(message)
        if len(found) >= args.limit:
            break
    return {
        "messages": [
            {
                "sid": m.id,
                "direction": m.direction.value,
                "status": m.status.value,
                "created_at": m.created_at.isoformat(),
                "text": m.text,
            }
            for m in found
        ]
    }


def _serve(args: argparse.Namespace) -> int:
    wiring = _WIRING.get() or Wiring()
    try:
        config = _config(args, wiring.environ)
        asyncio.run(_serve_until_stopped(config, args))
    except (ValidationError, ConfigurationError) as exc:
        _error(exc, args.json)
        return 2
    return 0


async def _serve_until_stopped(config: TwilioConfig, args: argparse.Namespace) -> None:
    """Serve the receiver; each handled event prints one line (numbers masked, no text)."""
    client = TwilioClient(config)
    provider = TwilioProvider(client, records=SqliteKeyStore(args.keys))
    transport = TwilioTransport(client, provider=provider)

    async def show(event: InboundEvent) -> None:
        line: dict[str, Any] = {"type": type(event).__name__, "event_id": event.event_id}
        if isinstance(event, MessageStatusChanged):
            line["status"] = event.status.value
        sender = getattr(getattr(event, "message", None), "sender", None)
        if sender is not None:
            line["from"] = mask_handle(sender)
        print(json.dumps(line), flush=True)

    transport.on_inbound(show)
    store = await open_event_store(args.store)
    app = transport.webhook_app(
        store, public_url=args.public_url, trust_forwarded=args.trust_forwarded
    )
    try:
        await make_server(app, args.host, args.port).serve()
    finally:
        await client.aclose()
