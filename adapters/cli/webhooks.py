"""``caresupport-transport webhooks``: run the webhook receiver, or check one captured delivery.

This module is a composition root: it is the only place in the CLI that reads
the ``LINQ_WEBHOOK_SIGNING_SECRET`` and ``LINQ_WEBHOOK_SIGNING_SECRET_FILE``
environment variables.

``webhooks serve``
    Runs :class:`~adapters.linq.asgi.WebhookReceiver` under uvicorn (the optional
    ``server`` extra) with the limits of :mod:`adapters.linq.serving`, storing
    each delivery in the durable inbox of ``--store`` (SQLite by default;
    PostgreSQL or Redis for many receivers) for a worker in the same process
    (or ``inbox work`` processes with ``--no-workers``), printing each event
    it receives as one readable line: types, ids and masked handles, the
    message text only with ``--show-content``. Log records (uvicorn's, asyncio's,
    ours) go through a :class:`~caresupport_transport.redact.MaskingFilter` and
    a :class:`~adapters.linq.serving.FloodFilter`.
``webhooks verify``
    Checks one captured delivery (body file plus headers) and prints ``OK`` with
    the parsed event type, or what failed; exit status 0 or 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import attrs

from adapters.cli._store import DEFAULT_STORE_URL, STORE_URL_ENV_VAR, store_url_from
from adapters.linq.asgi import (
    DEFAULT_BODY_TIMEOUT_SECONDS,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONCURRENT,
    DEFAULT_MAX_UNVERIFIED_BYTES,
    WebhookReceiver,
)
from adapters.linq.receiving import inbound_sink
from adapters.linq.serving import (
    DEFAULT_HEADER_TIMEOUT_SECONDS,
    DEFAULT_KEEP_ALIVE_SECONDS,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HEADER_BYTES,
    FloodFilter,
    ServerLimits,
    fd_budget,
    import_uvicorn,
)
from adapters.linq.serving import make_server as make_limited_server
from adapters.linq.webhook_events import parse_delivery
from adapters.linq.webhooks import DEFAULT_TOLERANCE_SECONDS, WebhookVerifier
from caresupport_transport.content import LinkPart, MediaPart, Reaction, ReactionKind, TextPart
from caresupport_transport.errors import (
    ConfigurationError,
    ProtocolError,
    UnreachableError,
    WebhookVerificationError,
)
from caresupport_transport.events import (
    ContactCardReceived,
    ConversationCreated,
    ConversationUpdated,
    InboundEvent,
    LineStatusChanged,
    MessageEdited,
    MessageReceived,
    MessageStatusChanged,
    ParticipantAdded,
    ParticipantRemoved,
    ReactionAdded,
    ReactionRemoved,
    TypingStarted,
    TypingStopped,
    UnknownEvent,
    WebhookSubscriptionChanged,
)
from caresupport_transport.handles import Handle
from caresupport_transport.inbound import EventStore, open_event_store
from caresupport_transport.inbound.urls import redacted_url
from caresupport_transport.model import DeliveryStatus, Direction
from caresupport_transport.port import InboundHandler
from caresupport_transport.redact import MaskingFilter, mask_handle, mask_handles_in

__all__ = [
    "SECRET_ENV_VAR",
    "SECRET_FILE_ENV_VAR",
    "ServeApp",
    "describe_event",
    "install_log_filters",
    "make_server",
    "open_serve_app",
    "read_secret_file",
    "register",
    "report_floods",
    "secrets_from",
    "serve_store_url",
    "verify_delivery",
]

SECRET_ENV_VAR = "LINQ_WEBHOOK_SIGNING_SECRET"
SECRET_FILE_ENV_VAR = "LINQ_WEBHOOK_SIGNING_SECRET_FILE"
_NO_SECRET = (
    f"no signing secret: pass --secret or --secret-file, "
    f"or set {SECRET_ENV_VAR} or {SECRET_FILE_ENV_VAR}"
)
_DEFAULT_LOG_INTERVAL = 10.0

LoggingHandlerFilter = tuple[logging.Handler, FloodFilter]


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
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description=(
            "Run the webhook receiver under uvicorn and print one line per event it "
            "receives: type, ids and masked phone numbers and emails; message text only "
            "with --show-content. The signing secret comes from --secret, --secret-file, "
            f"${SECRET_ENV_VAR} (several, separated by spaces, during a rotation) or "
            f"${SECRET_FILE_ENV_VAR}."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8788, help="port to listen on")
    where = serve.add_mutually_exclusive_group()
    where.add_argument(
        "--store",
        metavar="URL",
        default=None,
        help=(
            "the inbox and record of seen events: sqlite:///events.sqlite, "
            f"postgresql://..., redis://... (default ${STORE_URL_ENV_VAR}, else "
            f"{DEFAULT_STORE_URL})"
        ),
    )
    where.add_argument(
        "--db",
        type=Path,
        default=None,
        help="a SQLite file as the store (same as --store sqlite:///DB)",
    )
    serve.add_argument(
        "--namespace",
        default="caresupport",
        help="separates deployments sharing one PostgreSQL database or Redis server",
    )
    mode = serve.add_mutually_exclusive_group()
    mode.add_argument(
        "--ack-after-handler",
        action="store_true",
        help="no inbox: answer each delivery only after the handler ran (Linq retries ~30 min)",
    )
    mode.add_argument(
        "--no-workers",
        action="store_true",
        help="only store deliveries; `caresupport-transport inbox work` processes handle them",
    )
    _add_secret_arguments(serve)
    serve.add_argument(
        "--include-outbound", action="store_true", help="also print our own outbound echoes"
    )
    _add_show_content_argument(serve)
    serve.add_argument(
        "--access-log", action="store_true", help="log a line per request (uvicorn's access log)"
    )
    limits = serve.add_argument_group(
        "limits", "what a slow or hostile client can hold; see docs/webhooks.md"
    )
    limits.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="bigger bodies are refused (413) before they are read",
    )
    limits.add_argument(
        "--header-timeout",
        type=float,
        default=DEFAULT_HEADER_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="a connection that has not sent a complete request head by then is closed",
    )
    limits.add_argument(
        "--body-timeout",
        type=float,
        default=DEFAULT_BODY_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="a body not complete by then is answered 503 (Linq delivers it again)",
    )
    limits.add_argument(
        "--keep-alive-timeout",
        type=float,
        default=DEFAULT_KEEP_ALIVE_SECONDS,
        metavar="SECONDS",
        help="an idle connection is closed this long after its last answer",
    )
    limits.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        help=(
            "connections open at once, lowered to fit the file-descriptor limit; at the "
            "bound a new connection closes the oldest idle one"
        ),
    )
    limits.add_argument(
        "--max-concurrent",
        type=int,
        default=DEFAULT_MAX_CONCURRENT,
        help=(
            "requests in hand at once, at most half the connection bound; beyond it 503 "
            "with Retry-After"
        ),
    )
    limits.add_argument(
        "--max-unverified-bytes",
        type=int,
        default=DEFAULT_MAX_UNVERIFIED_BYTES,
        help="bytes that bodies not yet verified may hold between them",
    )
    limits.add_argument(
        "--max-header-bytes",
        type=int,
        default=DEFAULT_MAX_HEADER_BYTES,
        help="a bigger request head is answered 400",
    )
    limits.add_argument(
        "--log-interval",
        type=float,
        default=_DEFAULT_LOG_INTERVAL,
        metavar="SECONDS",
        help="at most one log line of each kind per interval, with a count of the rest",
    )
    serve.set_defaults(func=_serve_command)

    verify = commands.add_parser(
        "verify",
        help="check one captured delivery's signature and payload",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description=(
            "Check one captured delivery: its raw body (a file) and its headers. "
            "Prints OK and the event type, or what failed; exits 0 or 1."
        ),
    )
    _add_secret_arguments(verify)
    _add_show_content_argument(verify)
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
    verify.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE_SECONDS,
        metavar="SECONDS",
        help="how far the delivery's timestamp may be from --at, either way",
    )
    verify.set_defaults(func=_verify_command)


def _add_secret_arguments(parser: argparse.ArgumentParser) -> None:
    given = parser.add_mutually_exclusive_group()
    given.add_argument(
        "--secret",
        action="append",
        default=None,
        help=(
            f"signing secret (repeat during a rotation; default ${SECRET_ENV_VAR}); "
            "visible in 'ps', so prefer --secret-file"
        ),
    )
    given.add_argument(
        "--secret-file",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"file with the signing secret(s), one per line (default ${SECRET_FILE_ENV_VAR})",
    )


def _add_show_content_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--show-content",
        action="store_true",
        help=(
            "also print message text (health details: keep it off where output is "
            "stored); phone numbers and emails stay masked"
        ),
    )


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def secrets_from(
    given: Sequence[str] | None, environ: Mapping[str, str], *, file: Path | None = None
) -> list[str]:
    """The secrets from ``--secret``, else ``--secret-file``, else the environment, else none.

    From the environment: ``$LINQ_WEBHOOK_SIGNING_SECRET`` (space-separated), else
    the file named by ``$LINQ_WEBHOOK_SIGNING_SECRET_FILE``.

    Raises:
        ConfigurationError: for a secret file that cannot be read.
    """
    if given:
        return [secret for secret in given if secret.strip()]
    if file is not None:
        return read_secret_file(file, "--secret-file")
    from_env = environ.get(SECRET_ENV_VAR, "").split()
    if from_env:
        return from_env
    named = environ.get(SECRET_FILE_ENV_VAR, "").strip()
    return read_secret_file(Path(named), SECRET_FILE_ENV_VAR) if named else []


def read_secret_file(path: Path, source: str) -> list[str]:
    """The secrets in ``path``, one per line; blank lines and ``#`` comments are skipped.

    Raises:
        ConfigurationError: naming ``source`` and the path when it cannot be read
            as UTF-8 text (the message never contains the file's content).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise ConfigurationError(f"{source}: cannot read {path}: {reason}") from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


# serve


_HIDDEN = "(text hidden; --show-content shows it)"


def describe_event(event: InboundEvent, *, show_content: bool = False) -> str:
    """One readable line for an event, for the ``serve`` console.

    Phone numbers and emails are always masked (``+1651•••7981``), in the text
    too; message text and group names appear only with ``show_content``.
    """
    return mask_handles_in(_describe(event, show_content))


def _describe(event: InboundEvent, show_content: bool) -> str:
    when = event.occurred_at.strftime("%Y-%m-%d %H:%M:%S")
    where = f" in {event.conversation_id}" if event.conversation_id else ""
    if isinstance(event, MessageReceived):
        message = event.message
        service = f" via {message.service.value}" if message.service else ""
        media = sum(1 for part in message.parts if isinstance(part, MediaPart))
        links = sum(1 for part in message.parts if isinstance(part, LinkPart))
        extra = f" +{media} attachment(s)" if media else ""
        extra += f" +{links} link(s)" if links else ""
        arrow = "from" if message.direction is Direction.INBOUND else "sent by us as"
        late = " (arrived late: reconciled)" if event.reconciled else ""
        return (
            f"{when} message {message.id} {arrow} {_who(message.sender, 'unknown sender')}"
            f"{where}{service}: {_text(message.text, show_content)}{extra}{late}"
        )
    if isinstance(event, MessageStatusChanged):
        if event.status is DeliveryStatus.FAILED:
            service = f" on {event.service.value}" if event.service else ""
            code = f" (error {event.error_code})" if event.error_code is not None else ""
            if event.error_code is not None and event.detail_code is not None:
                code = f" (error {event.error_code}, detail {event.detail_code})"
            reason = event.reason or "no reason given"
            return f"{when} message {event.message_id}{where} failed{service}: {reason}{code}"
        return f"{when} message {event.message_id}{where} is {event.status.value}"
    if isinstance(event, ReactionAdded | ReactionRemoved):
        verb = "added" if isinstance(event, ReactionAdded) else "removed"
        who = "us" if event.is_from_me else _who(event.actor, "someone")
        return (
            f"{when} reaction {_reaction(event.reaction, show_content)} {verb} by {who} "
            f"on message {event.message_id}{where}"
        )
    if isinstance(event, TypingStarted | TypingStopped):
        verb = "started" if isinstance(event, TypingStarted) else "stopped"
        return f"{when} {_who(event.handle, 'someone')} {verb} typing{where}"
    if isinstance(event, MessageEdited):
        text = "\n\n".join(part.text for part in event.parts if isinstance(part, TextPart))
        return f"{when} message {event.message_id}{where} edited: {_text(text, show_content)}"
    if isinstance(event, ParticipantAdded | ParticipantRemoved):
        verb = "joined" if isinstance(event, ParticipantAdded) else "left"
        return f"{when} {mask_handle(event.handle)} {verb}{where}"
    if isinstance(event, ConversationCreated):
        conversation = event.conversation
        kind = "group" if conversation.is_group else "chat"
        people = ", ".join(mask_handle(handle) for handle in conversation.participants)
        return f"{when} {kind} {conversation.id} created with {people or 'nobody yet'}"
    if isinstance(event, ConversationUpdated):
        value = f": {event.value}" if show_content and event.value else ""
        outcome = " failed" if event.failed else ""
        return f"{when} conversation {event.conversation_id} {event.change} changed{outcome}{value}"
    if isinstance(event, ContactCardReceived):
        name = " ".join(filter(None, (event.first_name, event.last_name)))
        shown = f": {json.dumps(name, ensure_ascii=False)}" if show_content else ""
        return f"{when} {mask_handle(event.person)} shared a contact card{shown}"
    if isinstance(event, LineStatusChanged):
        status = event.status.value if event.status else "unchanged"
        reputation = event.reputation.value if event.reputation else "unchanged"
        return f"{when} line {mask_handle(event.line)} is {status}, reputation {reputation}"
    if isinstance(event, WebhookSubscriptionChanged):
        return f"{when} webhook subscription {event.subscription_id} {event.change}"
    if isinstance(event, UnknownEvent):
        return f"{when} {event.event_type}{where} (not modelled; event {event.event_id})"
    return f"{when} {type(event).__name__}{where} (event {event.event_id})"


def _who(handle: Handle | None, nobody: str) -> str:
    return mask_handle(handle) if handle is not None else nobody


def _text(text: str, show_content: bool) -> str:
    if not text:
        return "(no text)"
    return json.dumps(text, ensure_ascii=False) if show_content else _HIDDEN


def _reaction(reaction: Reaction, show_content: bool) -> str:
    if reaction.kind is ReactionKind.CUSTOM and show_content and reaction.emoji:
        return f"{reaction.emoji} (custom)"
    return reaction.kind.value


def _printing_handler(out: TextIO, show_content: bool) -> InboundHandler:
    async def handle(event: InboundEvent) -> None:
        print(describe_event(event, show_content=show_content), file=out, flush=True)

    return handle


@attrs.define
class ServeApp:
    """What ``serve`` runs: the receiver (with its inbox worker) and the store it uses."""

    receiver: WebhookReceiver
    store: EventStore
    store_url: str

    async def aclose(self) -> None:
        """Stop the in-process worker (handlers in flight may finish), then close the store."""
        try:
            await self.receiver.aclose()
        finally:
            await self.store.close()


async def open_serve_app(
    secrets: Sequence[str],
    store_url: str,
    *,
    out: TextIO,
    namespace: str = "caresupport",
    ack_after_handler: bool = False,
    workers: bool = True,
    include_outbound: bool = False,
    show_content: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_timeout: float = DEFAULT_BODY_TIMEOUT_SECONDS,
    max_concurrent: int = DEFAULT_MAX_CONCURRENT,
    max_unverified_bytes: int = DEFAULT_MAX_UNVERIFIED_BYTES,
    clock: Callable[[], float] = time.time,
) -> ServeApp:
    """Wire the receiver: verifier, store, inbox and worker, and a handler printing to ``out``.

    Opened inside the event loop that will serve (a networked store's
    connections belong to it). Close it with :meth:`ServeApp.aclose`.

    Raises:
        ConfigurationError: for no secret, an unusable secret, limit or store URL
            (checked before the store is opened), or a store that cannot open.
        UnreachableError: a networked store's server did not answer.
    """
    verifier = WebhookVerifier(secrets, clock=clock)
    if not verifier.configured:
        raise ConfigurationError(_NO_SECRET)
    handler = _printing_handler(out, show_content)
    store = await open_event_store(store_url, namespace=namespace)
    try:
        sink, worker = inbound_sink(
            handler,
            store,
            ack_after_handler=ack_after_handler,
            include_outbound=include_outbound,
            workers=workers,
        )
        receiver = WebhookReceiver(
            verifier,
            sink,
            worker=worker,
            max_body_bytes=max_body_bytes,
            body_timeout=body_timeout,
            max_concurrent=max_concurrent,
            max_unverified_bytes=max_unverified_bytes,
        )
    except BaseException:
        await store.close()
        raise
    return ServeApp(receiver, store, store_url)


def make_server(
    receiver: WebhookReceiver,
    host: str,
    port: int,
    *,
    limits: ServerLimits | None = None,
    access_log: bool = False,
    quiet: bool = False,
) -> Any:
    """A ``uvicorn.Server`` for ``receiver`` with ``limits``; start it with ``await .serve()``.

    ``quiet`` is kept for callers from before the limits: the access log is off
    unless asked for, and logging is left as configured either way.

    Raises:
        ConfigurationError: when uvicorn (the ``server`` extra) is not installed.
    """
    return make_limited_server(
        receiver, host, port, limits=limits, access_log=access_log and not quiet
    )


def install_log_filters(interval: float = _DEFAULT_LOG_INTERVAL) -> list[LoggingHandlerFilter]:
    """Mask handles in, and rate-limit, every record that reaches the root logger's handlers.

    Without a handler yet (no ``--log-level`` or other configuration), one
    writing to stderr is added, leaving the level as it is (WARNING by
    default). uvicorn's and asyncio's loggers propagate to the root, so their
    records pass the same filters.

    Returns:
        Each handler with its :class:`FloodFilter`, for :func:`report_floods`.
    """
    root = logging.getLogger()
    if not root.handlers:
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(stderr)
    installed: list[LoggingHandlerFilter] = []
    for handler in root.handlers:
        flood = next((f for f in handler.filters if isinstance(f, FloodFilter)), None)
        if flood is None:
            flood = FloodFilter(interval)
            handler.addFilter(flood)
        if not any(isinstance(existing, MaskingFilter) for existing in handler.filters):
            handler.addFilter(MaskingFilter())
        installed.append((handler, flood))
    return installed


async def report_floods(installed: Sequence[LoggingHandlerFilter], interval: float) -> None:
    """Every ``interval``, one line per handler saying what its :class:`FloodFilter` left out."""
    while True:
        await asyncio.sleep(interval)
        for handler, flood in installed:
            record = flood.summary_record()
            if record is not None:
                handler.handle(record)


def _serve_command(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_serve(args))
    except (ConfigurationError, UnreachableError) as exc:
        print(f"caresupport-transport webhooks serve: {exc}", file=sys.stderr)
        return 1


async def _serve(args: argparse.Namespace) -> int:
    try:
        import_uvicorn()
        bound = fd_budget(args.max_connections).connections
        limits = ServerLimits(
            header_timeout=args.header_timeout,
            keep_alive_timeout=args.keep_alive_timeout,
            max_connections=bound,
            max_header_bytes=args.max_header_bytes,
        )
        FloodFilter(args.log_interval)  # checks the interval before anything starts
        secrets = secrets_from(args.secret, os.environ, file=args.secret_file)
        store_url = serve_store_url(args.store, args.db, os.environ)
        app = await open_serve_app(
            secrets,
            store_url,
            out=sys.stdout,
            namespace=args.namespace,
            ack_after_handler=args.ack_after_handler,
            workers=not args.no_workers,
            include_outbound=args.include_outbound,
            show_content=args.show_content,
            max_body_bytes=args.max_body_bytes,
            body_timeout=args.body_timeout,
            # Half the connections at most: a new connection then always finds
            # an idle one to close when the bound is reached.
            max_concurrent=min(args.max_concurrent, max(1, bound // 2)),
            max_unverified_bytes=args.max_unverified_bytes,
        )
    except ConfigurationError as exc:
        print(f"caresupport-transport webhooks serve: {exc}", file=sys.stderr)
        return 1
    if args.ack_after_handler:
        mode = "each delivery answered after the handler ran"
    elif args.no_workers:
        mode = "deliveries stored in the inbox for `inbox work` processes"
    else:
        mode = "deliveries stored in the inbox and handled by a worker in this process"
    print(
        f"Receiving Linq webhooks on http://{_url_host(args.host)}:{args.port}/ "
        f"({mode}; store {redacted_url(store_url)}); Ctrl+C stops.\n"
        f"Limits: request head within {limits.header_timeout:g} s, body within "
        f"{app.receiver.body_timeout:g} s and {app.receiver.max_body_bytes} bytes; "
        f"{bound} connections, {app.receiver.max_concurrent} requests at once. "
        f"Message text is {'shown' if args.show_content else 'hidden (--show-content)'}.",
        flush=True,
    )
    installed = install_log_filters(args.log_interval)
    reporting = asyncio.create_task(report_floods(installed, args.log_interval))
    try:
        server = make_server(
            app.receiver, args.host, args.port, limits=limits, access_log=args.access_log
        )
        await server.serve()
    finally:
        reporting.cancel()
        await app.aclose()
    return 0


def serve_store_url(store: str | None, db: Path | None, environ: Mapping[str, str]) -> str:
    """The store ``serve`` uses: ``--store``, else ``--db`` (a SQLite file), else
    ``$CARESUPPORT_STORE_URL``, else ``sqlite:///events.sqlite``."""
    if store is None and db is not None:
        return f"sqlite:///{db}"
    return store_url_from(store, environ)


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
    show_content: bool = False,
) -> int:
    """Check one delivery as the receiver would; print the verdict; return 0 (OK) or 1.

    Args:
        at: check as of this Unix time (a delivery captured earlier is stale by now).
        show_content: print the message text too (handles stay masked).
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
        f"{describe_event(event, show_content=show_content)}",
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
        secrets = secrets_from(args.secret, os.environ, file=args.secret_file)
        body = args.body.read_bytes()
    except ConfigurationError as exc:
        print(f"caresupport-transport webhooks verify: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"caresupport-transport webhooks verify: cannot read --body: {exc}", file=sys.stderr)
        return 1
    return verify_delivery(
        secrets,
        body,
        headers,
        out=sys.stdout,
        at=args.at,
        tolerance=args.tolerance,
        show_content=args.show_content,
    )
