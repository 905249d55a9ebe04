"""``caresupport-transport webhooks``: run the webhook receiver, or check one captured delivery.

This module is a composition root: it is the only place in the CLI that reads
the ``LINQ_WEBHOOK_SIGNING_SECRET`` environment variable.

``webhooks serve``
    Runs :class:`~adapters.linq.asgi.WebhookReceiver` under uvicorn (the optional
    ``server`` extra) with a :class:`~caresupport_transport.inbound.SqliteEventStore`,
    printing each event it receives as one readable line.
``webhooks verify``
    Checks one captured delivery (body file plus headers) and prints ``OK`` with
    the parsed event type, or what failed; exit status 0 or 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import attrs

from adapters.linq.asgi import DEFAULT_MAX_BODY_BYTES, WebhookReceiver
from adapters.linq.webhook_events import parse_delivery
from adapters.linq.webhooks import DEFAULT_TOLERANCE_SECONDS, WebhookVerifier
from caresupport_transport.content import MediaPart
from caresupport_transport.errors import (
    ConfigurationError,
    ProtocolError,
    WebhookVerificationError,
)
from caresupport_transport.events import (
    InboundEvent,
    MessageReceived,
    MessageStatusChanged,
    UnknownEvent,
)
from caresupport_transport.inbound import InboundDispatcher, SqliteEventStore
from caresupport_transport.model import Direction
from caresupport_transport.port import InboundHandler

__all__ = [
    "SECRET_ENV_VAR",
    "ServeApp",
    "build_serve_app",
    "describe_event",
    "make_server",
    "register",
    "secrets_from",
    "verify_delivery",
]

SECRET_ENV_VAR = "LINQ_WEBHOOK_SIGNING_SECRET"
_INSTALL_HINT = 'pip install "caresupport-transport[server]"'
_NO_SECRET = f"no signing secret: pass --secret or set {SECRET_ENV_VAR}"


def register(subparsers: Any) -> None:
    """Add the ``webhooks`` command and its ``serve`` and ``verify`` sub-commands."""
    parser = subparsers.add_parser(
        "webhooks",
        help="receive Linq webhooks, or check a captured delivery",
        description="Receive Linq webhook deliveries, or check one captured delivery.",
    )
    commands = parser.add_subparsers(dest="webhooks_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda _args: _usage(parser))

    serve = commands.add_parser(
        "serve",
        help="run the webhook receiver (needs the 'server' extra: uvicorn)",
        description=(
            "Run the webhook receiver under uvicorn and print each event it receives. "
            f"The signing secret comes from --secret or ${SECRET_ENV_VAR} "
            "(several, separated by spaces, during a rotation)."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8788, help="port to listen on")
    serve.add_argument(
        "--db", type=Path, default=Path("events.sqlite"), help="SQLite file of handled events"
    )
    _add_secret_argument(serve)
    serve.add_argument(
        "--include-outbound", action="store_true", help="also print our own outbound echoes"
    )
    serve.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    serve.set_defaults(func=_serve_command)

    verify = commands.add_parser(
        "verify",
        help="check one captured delivery's signature and payload",
        description=(
            "Check one captured delivery: its raw body (a file) and its headers. "
            "Prints OK and the event type, or what failed; exits 0 or 1."
        ),
    )
    _add_secret_argument(verify)
    verify.add_argument("--body", type=Path, required=True, help="file with the raw body")
    verify.add_argument(
        "--header",
        action="append",
        default=[],
        metavar='"NAME: VALUE"',
        help="a header of the delivery (repeat for each)",
    )
    verify.add_argument(
        "--at",
        type=int,
        default=None,
        metavar="UNIX_SECONDS",
        help="check as of this time, for a delivery captured earlier (default: now)",
    )
    verify.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE_SECONDS)
    verify.set_defaults(func=_verify_command)


def _add_secret_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--secret",
        action="append",
        default=None,
        help=f"signing secret (repeat during a rotation; default ${SECRET_ENV_VAR})",
    )


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def secrets_from(given: Sequence[str] | None, environ: Mapping[str, str]) -> list[str]:
    """The secrets from ``--secret``, else from the environment (space-separated), else none."""
    if given:
        return [secret for secret in given if secret.strip()]
    return environ.get(SECRET_ENV_VAR, "").split()


# serve


def describe_event(event: InboundEvent) -> str:
    """One readable line for an event, for the ``serve`` console."""
    when = event.occurred_at.strftime("%Y-%m-%d %H:%M:%S")
    where = f" in {event.conversation_id}" if event.conversation_id else ""
    if isinstance(event, MessageReceived):
        message = event.message
        sender = message.sender.value if message.sender else "unknown sender"
        service = f" via {message.service.value}" if message.service else ""
        media = sum(1 for part in message.parts if isinstance(part, MediaPart))
        text = json.dumps(message.text, ensure_ascii=False) if message.text else "(no text)"
        extra = f" +{media} attachment(s)" if media else ""
        arrow = "from" if message.direction is Direction.INBOUND else "sent by us as"
        return f"{when} message {arrow} {sender}{where}{service}: {text}{extra}"
    if isinstance(event, MessageStatusChanged):
        return f"{when} message {event.message_id}{where} is {event.status.value}"
    if isinstance(event, UnknownEvent):
        return f"{when} {event.event_type}{where} (not modelled; event {event.event_id})"
    return f"{when} {type(event).__name__}{where} (event {event.event_id})"


def _printing_handler(out: TextIO) -> InboundHandler:
    async def handle(event: InboundEvent) -> None:
        print(describe_event(event), file=out, flush=True)

    return handle


@attrs.define
class ServeApp:
    """What ``serve`` runs: the receiver, and the store to close when the server stops."""

    receiver: WebhookReceiver
    store: SqliteEventStore


def build_serve_app(
    secrets: Sequence[str],
    db: Path,
    *,
    out: TextIO,
    include_outbound: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    clock: Callable[[], float] = time.time,
) -> ServeApp:
    """Wire the receiver: verifier, SQLite store, dispatcher, and a handler printing to ``out``.

    Raises:
        ConfigurationError: for no secret, an unusable secret, or a store that cannot open.
    """
    verifier = WebhookVerifier(secrets, clock=clock)
    if not verifier.configured:
        raise ConfigurationError(_NO_SECRET)
    store = SqliteEventStore(db)
    dispatcher = InboundDispatcher(_printing_handler(out), store, include_outbound=include_outbound)
    return ServeApp(WebhookReceiver(verifier, dispatcher, max_body_bytes=max_body_bytes), store)


def _import_uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError:
        raise ConfigurationError(
            f"'webhooks serve' needs uvicorn, which is not installed: {_INSTALL_HINT}"
        ) from None
    return uvicorn


def make_server(receiver: WebhookReceiver, host: str, port: int, *, quiet: bool = False) -> Any:
    """A ``uvicorn.Server`` for ``receiver`` (start it with ``await server.serve()``).

    Raises:
        ConfigurationError: when uvicorn (the ``server`` extra) is not installed.
    """
    uvicorn = _import_uvicorn()
    config = uvicorn.Config(
        receiver,
        host=host,
        port=port,
        lifespan="on",
        ws="none",  # deliveries are plain POSTs
        log_config=None if quiet else uvicorn.config.LOGGING_CONFIG,
        access_log=not quiet,
    )
    return uvicorn.Server(config)


async def _serve(app: ServeApp, host: str, port: int) -> None:
    try:
        server = make_server(app.receiver, host, port)
        await server.serve()
    finally:
        await app.store.close()


def _serve_command(args: argparse.Namespace) -> int:
    try:
        _import_uvicorn()
        app = build_serve_app(
            secrets_from(args.secret, os.environ),
            args.db,
            out=sys.stdout,
            include_outbound=args.include_outbound,
            max_body_bytes=args.max_body_bytes,
        )
    except ConfigurationError as exc:
        print(f"caresupport-transport webhooks serve: {exc}", file=sys.stderr)
        return 1
    print(
        f"Receiving Linq webhooks on http://{_url_host(args.host)}:{args.port}/ "
        f"(handled events remembered in {args.db}); Ctrl+C stops.",
        flush=True,
    )
    asyncio.run(_serve(app, args.host, args.port))
    return 0


def _url_host(host: str) -> str:
    try:
        socket.inet_pton(socket.AF_INET6, host)
    except OSError:
        return host
    return f"[{host}]"


# verify


def verify_delivery(
    secrets: Sequence[str],
    body: bytes,
    headers: Sequence[tuple[str, str]],
    *,
    out: TextIO,
    at: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check one delivery as the receiver would; print the verdict; return 0 (OK) or 1.

    Args:
        at: check as of this Unix time (a delivery captured earlier is stale by now).
    """
    try:
        verifier = WebhookVerifier(
            secrets, tolerance=tolerance, clock=time.time if at is None else lambda: at
        )
    except ConfigurationError as exc:
        print(f"FAILED: {exc}", file=out)
        return 1
    if not verifier.configured:
        print(f"FAILED: {_NO_SECRET}", file=out)
        return 1
    try:
        verifier.verify(body, headers)
    except WebhookVerificationError as exc:
        hint = ""
        if exc.reason == "stale" and at is None:
            hint = " (captured earlier? pass --at with the delivery's Unix time)"
        print(f"FAILED: {exc}{hint}", file=out)
        return 1
    try:
        event = parse_delivery(body)
    except ProtocolError as exc:
        print(f"FAILED: the signature is valid, but the body is not a delivery: {exc}", file=out)
        return 1
    wire_type = json.loads(body).get("event_type")
    print(
        f"OK: {wire_type} -> {type(event).__name__} (event {event.event_id}): "
        f"{describe_event(event)}",
        file=out,
    )
    return 0


def _parse_header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise ConfigurationError(f"--header {text!r}: write it as 'Name: value'")
    return name.strip(), value.strip()


def _verify_command(args: argparse.Namespace) -> int:
    try:
        headers = [_parse_header(text) for text in args.header]
        body = args.body.read_bytes()
    except ConfigurationError as exc:
        print(f"caresupport-transport webhooks verify: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"caresupport-transport webhooks verify: cannot read --body: {exc}", file=sys.stderr)
        return 1
    return verify_delivery(
        secrets_from(args.secret, os.environ),
        body,
        headers,
        out=sys.stdout,
        at=args.at,
        tolerance=args.tolerance,
    )
