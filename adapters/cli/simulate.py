"""``caresupport-transport simulate``: the Linq Partner API V3 on localhost, no account needed.

``simulate`` serves the simulator with uvicorn (the optional ``server`` extra)
on loopback, prints the environment to point the ``linq`` commands (and
CareSupport) at it, registers demo recipients of every kind, and moves the
clock in real time so delivery statuses progress and webhooks go out.

``simulate inbound --from +1... --text ...``, ``simulate react ...`` and
``simulate vote ...`` play the other side of a running simulator through its
control endpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

import httpx

from adapters.cli._demo_worlds import linq_setup_on
from adapters.cli._store import missing_sqlite_file
from adapters.cli.demo import run_scenario
from adapters.linq._url_logging import QueryHidingAccessLog
from adapters.linq.loopback import is_loopback_host
from adapters.linq.simulator import BASE_PATH, DEFAULT_PHONE, Faults, FaultTiming, Simulator
from adapters.linq.simulator.console import CONSOLE_PATH
from adapters.linq.simulator.control import CONTROL_PATH
from adapters.memory import RecipientKind, World
from caresupport_transport.errors import ConfigurationError, TransportError
from caresupport_transport.inbound.urls import open_event_store

__all__ = ["DEMO_RECIPIENTS", "build_simulator", "console_url", "print_banner", "register"]

DEMO_RECIPIENTS: tuple[tuple[str, RecipientKind, str], ...] = (
    ("+15550101001", RecipientKind.IMESSAGE, "iMessage (and SMS)"),
    ("+15550101002", RecipientKind.RCS, "RCS (and SMS)"),
    ("+15550101003", RecipientKind.SMS_ONLY, "SMS only"),
    ("+15550101004", RecipientKind.UNREACHABLE, "unreachable: every message fails"),
    ("family@example.org", RecipientKind.IMESSAGE, "iMessage by email address"),
)
_INSTALL_HINT = "pip install 'caresupport-transport[server]'"
_FAULT_FLAGS = ("429", "500", "503", "hang", "drop", "malformed")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="serve a local Linq API simulator (needs the 'server' extra: uvicorn)",
        description=(
            "Serve the Linq Partner API V3 simulator on loopback. Point the 'linq' "
            "commands (or CareSupport) at it with the printed LINQ_* variables."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="a loopback address (default 127.0.0.1)"
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help=(
            "allow a --host off loopback: anyone who reaches it can use the web console "
            "(which needs no token) to read and write as every simulated person"
        ),
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help=(
            "play the demo's care conversation on the served simulator first (its care "
            "logic keeps answering), then watch and answer it in the web console"
        ),
    )
    parser.add_argument("--port", type=int, default=8787, help="default 8787")
    parser.add_argument("--token", help="the bearer token to accept (default: a random one)")
    parser.add_argument(
        "--phone", default=DEFAULT_PHONE, help=f"the sender line (default {DEFAULT_PHONE})"
    )
    parser.add_argument("--webhook", metavar="URL", help="deliver every event to this loopback URL")
    parser.add_argument("--secret", help="the webhook signing secret (whsec_...; default: random)")
    parser.add_argument(
        "--seed",
        type=int,
        help=(
            "make ids and secrets reproducible (default: a random seed, so a restarted "
            "simulator never re-issues a message or event id a receiver has seen)"
        ),
    )
    parser.add_argument("--speed", type=float, default=1.0, help="virtual seconds per real second")
    parser.add_argument(
        "--inbox-store",
        metavar="URL",
        help="show this care app's inbox store in the web console (dead letters, replay)",
    )
    parser.add_argument(
        "--outbox-store",
        metavar="URL",
        help="show this care app's outbox store in the web console (intents, pending deadlines)",
    )
    for flag in _FAULT_FLAGS:
        parser.add_argument(
            f"--rate-{flag}",
            type=float,
            default=0.0,
            metavar="FRACTION",
            help=f"fraction of API requests that get the {flag} fault",
        )
    parser.add_argument("--retry-after", type=float, default=1.0, help="Retry-After of a 429")
    parser.add_argument(
        "--fault-timing",
        choices=[t.value for t in FaultTiming],
        default=FaultTiming.EITHER.value,
        help="whether faults strike before or after the request takes effect",
    )
    parser.set_defaults(func=_serve_command)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    _register_inbound(actions)
    _register_react(actions)
    _register_vote(actions)


def _register_inbound(actions: Any) -> None:
    parser = actions.add_parser("inbound", help="a message arrives at a running simulator")
    _add_target_arguments(parser)
    parser.add_argument(
        "--from", dest="sender", required=True, help="who sends it (E.164 or email)"
    )
    parser.add_argument("--text", required=True)
    parser.add_argument("--chat-id", help="the chat it arrives in (default: the sender's 1:1)")
    parser.set_defaults(func=_inbound_command)


def _register_react(actions: Any) -> None:
    parser = actions.add_parser("react", help="someone reacts to a message in a running simulator")
    _add_target_arguments(parser)
    parser.add_argument("--from", dest="sender", required=True)
    parser.add_argument("--message-id", required=True)
    parser.add_argument(
        "--type", required=True, help="love, like, dislike, laugh, emphasize, question, custom"
    )
    parser.add_argument("--emoji", help="the emoji of a custom reaction")
    parser.add_argument("--remove", action="store_true")
    parser.set_defaults(func=_react_command)


def _register_vote(actions: Any) -> None:
    parser = actions.add_parser("vote", help="someone votes in a poll in a running simulator")
    _add_target_arguments(parser)
    parser.add_argument("--from", dest="sender", required=True, help="who votes")
    parser.add_argument("--poll-id", required=True, help="the poll's message id")
    parser.add_argument("--option-id", required=True)
    parser.add_argument("--remove", action="store_true", help="take the vote back")
    parser.set_defaults(func=_vote_command)


def _add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="the simulator's base URL (default: $LINQ_BASE_URL)")
    parser.add_argument("--token", help="its token (default: $LINQ_API_TOKEN)")


def build_simulator(args: argparse.Namespace) -> Simulator:
    """The simulator ``simulate`` serves, from its arguments.

    Raises:
        ConfigurationError: a host off loopback, or a bad fault rate, phone or webhook.
    """
    if not is_loopback_host(args.host) and not args.allow_remote:
        raise ConfigurationError(
            f"--host {args.host}: the simulator only listens on loopback "
            "(--allow-remote serves it, and its token-less web console, off loopback)"
        )
    if args.demo and args.webhook:
        raise ConfigurationError("--demo delivers webhooks to its own care logic; drop --webhook")
    rates = {f"rate_{flag}": getattr(args, f"rate_{flag}") for flag in _FAULT_FLAGS}
    token = args.token or "sim_" + secrets.token_urlsafe(18)
    try:
        # Real time in a terminal: the clock starts now, so timestamps read as today.
        start = datetime.now(UTC).replace(microsecond=0)
        # No --seed: the World draws a random one, so ids differ from every earlier run.
        world = World(owner=args.phone, seed=args.seed, start=start)
        faults = Faults(
            retry_after=args.retry_after,
            timing=FaultTiming(args.fault_timing),
            seed=world.seed,
            **rates,
        )
        simulator = Simulator(
            tokens={token: [args.phone]},
            world=world,
            seed=world.seed,
            faults=faults,
            deterministic_secrets=args.seed is not None,
        )
        for handle, kind, _ in DEMO_RECIPIENTS:
            simulator.add_recipient(handle, kind)
        simulator.console.allow_remote = args.allow_remote
        if args.webhook:
            simulator.subscribe(args.webhook, secret=args.secret)
        elif args.secret:
            raise ConfigurationError("--secret is the signing secret of --webhook; give both")
    except ConfigurationError:
        raise
    except (TransportError, ValueError) as exc:
        raise ConfigurationError(str(exc)) from None
    return simulator


def console_url(host: str, port: int) -> str:
    """Where ``simulate`` serves the web console: ``http://127.0.0.1:8787/console``."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{CONSOLE_PATH}"


def print_banner(simulator: Simulator, host: str, port: int, out: TextIO) -> None:
    shown = f"[{host}]" if ":" in host else host
    base_url = f"http://{shown}:{port}{BASE_PATH}"
    print(f"Linq simulator serving {base_url}  (Ctrl+C stops)\n", file=out)
    print(f"Web console (a phone per person): {console_url(host, port)}\n", file=out)
    print("Point the linq commands (or CareSupport) at it:\n", file=out)
    print(f"  export LINQ_BASE_URL={base_url}", file=out)
    print(f"  export LINQ_API_TOKEN={simulator.token}", file=out)
    print(f"  export LINQ_PHONE_NUMBER={simulator.phone}\n", file=out)
    print("Recipients you can message:", file=out)
    for handle, _, what in DEMO_RECIPIENTS:
        print(f"  {handle:<20} {what}", file=out)
    print("  (any other number is SMS only)\n", file=out)
    for subscription in simulator.backend.subscriptions.values():
        print(
            f"Webhooks to {subscription.target_url} (payload {subscription.version}), "
            f"signing secret {subscription.secret}",
            file=out,
        )
    print(f"Ids from seed {simulator.seed} (--seed {simulator.seed} repeats them).\n", file=out)
    print("Make someone write back:\n", file=out)
    print(
        f'  caresupport-transport simulate inbound --from {DEMO_RECIPIENTS[0][0]} --text "Hello"',
        file=out,
        flush=True,
    )


class _QuietSimulatedFaults(logging.Filter):
    """Keeps uvicorn from logging a traceback for each connection the simulator drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, httpx.TransportError) and "simulated" in str(error))


def _import_uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError:
        raise ConfigurationError(
            f"'simulate' needs uvicorn, which is not installed: {_INSTALL_HINT}"
        ) from None
    return uvicorn


async def _serve(
    simulator: Simulator,
    host: str,
    port: int,
    speed: float,
    *,
    demo: bool = False,
    inbox_store: str | None = None,
    outbox_store: str | None = None,
) -> None:
    uvicorn = _import_uvicorn()
    # An open console tab holds its event stream: Ctrl+C waits a second at most for it.
    config = uvicorn.Config(
        simulator.app,
        host=host,
        port=port,
        lifespan="on",
        ws="none",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    logging.getLogger("uvicorn.error").addFilter(_QuietSimulatedFaults())
    # Queries carry phone numbers (?to=) and upload signatures: the access log shows paths.
    logging.getLogger("uvicorn.access").addFilter(QueryHidingAccessLog())
    async with contextlib.AsyncExitStack() as stack:
        console = simulator.console
        if inbox_store is not None:
            console.inbox_store = await open_event_store(inbox_store)
            stack.push_async_callback(console.inbox_store.close)
        if outbox_store is not None:
            console.outbox_store = await open_event_store(outbox_store)
            stack.push_async_callback(console.outbox_store.close)
        if demo:
            # The demo's care logic stays wired while the simulator is served:
            # what people answer in the console reaches its handler.
            transport, world = await stack.enter_async_context(linq_setup_on(simulator))
            await run_scenario(transport, world)
            print(
                f"\nWatch and answer it in the web console: {console_url(host, port)}", flush=True
            )
        clock = asyncio.create_task(simulator.run(speed=speed))
        try:
            await server.serve()
        finally:
            clock.cancel()
            await asyncio.gather(clock, return_exceptions=True)
            await simulator.console.settle()
            await simulator.aclose()


def _serve_command(args: argparse.Namespace) -> int:
    try:
        _import_uvicorn()
        for url in (args.inbox_store, args.outbox_store):
            if url is not None and missing_sqlite_file(url) is not None:
                raise ConfigurationError(f"no store at {url}: give the file your care app uses")
        simulator = build_simulator(args)
    except ConfigurationError as exc:
        print(f"caresupport-transport simulate: {exc}", file=sys.stderr)
        return 1
    print_banner(simulator, args.host, args.port, sys.stdout)
    asyncio.run(
        _serve(
            simulator,
            args.host,
            args.port,
            args.speed,
            demo=args.demo,
            inbox_store=args.inbox_store,
            outbox_store=args.outbox_store,
        )
    )
    return 0


def control_url(base_url: str) -> str:
    """``http://127.0.0.1:8787/_simulator`` from ``http://127.0.0.1:8787/api/partner``."""
    trimmed = base_url.rstrip("/").removesuffix("/v3").removesuffix(BASE_PATH)
    return trimmed + CONTROL_PATH


async def post_control(
    action: str,
    body: Mapping[str, object],
    *,
    url: str | None,
    token: str | None,
    environ: Mapping[str, str],
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Any]:
    """POST one control request to a running simulator; returns its JSON answer.

    Raises:
        ConfigurationError: no URL or token, or the simulator refused.
    """
    base = url or environ.get("LINQ_BASE_URL")
    secret = token or environ.get("LINQ_API_TOKEN")
    if not base or not secret:
        raise ConfigurationError("give --url and --token, or set LINQ_BASE_URL and LINQ_API_TOKEN")
    async with httpx.AsyncClient(transport=transport, trust_env=False) as client:
        try:
            response = await client.post(
                f"{control_url(base)}/{action}",
                json=dict(body),
                headers={"Authorization": f"Bearer {secret}"},
            )
        except httpx.TransportError as exc:
            raise ConfigurationError(f"no simulator answered at {base}: {exc}") from None
    answer: dict[str, Any] = response.json()
    if response.status_code >= 300:
        raise ConfigurationError(f"the simulator refused: {answer['error']['message']}")
    return answer


def _run_control(action: str, body: dict[str, object], args: argparse.Namespace) -> int:
    try:
        answer = asyncio.run(
            post_control(action, body, url=args.url, token=args.token, environ=os.environ)
        )
    except ConfigurationError as exc:
        print(f"caresupport-transport simulate {action}: {exc}", file=sys.stderr)
        return 1
    print(" ".join(f"{key}={value}" for key, value in answer.items()))
    return 0


def _inbound_command(args: argparse.Namespace) -> int:
    body: dict[str, object] = {"from": args.sender, "text": args.text}
    if args.chat_id:
        body["chat_id"] = args.chat_id
    return _run_control("inbound", body, args)


def _vote_command(args: argparse.Namespace) -> int:
    body: dict[str, object] = {
        "from": args.sender,
        "poll_id": args.poll_id,
        "option_id": args.option_id,
        "remove": args.remove,
    }
    return _run_control("vote", body, args)


def _react_command(args: argparse.Namespace) -> int:
    body: dict[str, object] = {
        "from": args.sender,
        "message_id": args.message_id,
        "type": args.type,
        "remove": args.remove,
    }
    if args.emoji:
        body["custom_emoji"] = args.emoji
    return _run_control("reaction", body, args)
