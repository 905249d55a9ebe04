"""``Simulator``: the World, the ASGI app, counters, faults and webhook delivery, together.

A test builds one, talks to it over HTTP (``simulator.client()`` is an
``httpx.AsyncClient`` wired to the app in-process), plays the outside world
(``add_recipient``, ``inject_inbound_text``, ``inject_reaction``), moves time
(``await simulator.advance(5)``, which also delivers the webhooks that time
produced) and reads what happened (``simulator.counters``, ``simulator.world``).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

import httpx

from adapters.linq.event_types import LINQ_2026_EVENT_TYPES
from adapters.linq.simulator._routes_chat_extras import end_share, start_share
from adapters.linq.simulator._routes_message_extras import place_card
from adapters.linq.simulator._targets import EVENT_TYPES
from adapters.linq.simulator.app import BASE_PATH, SimulatorApp
from adapters.linq.simulator.control import handle_control
from adapters.linq.simulator.counters import Counters
from adapters.linq.simulator.deliveries import DeliveryOutcome, SigningScheme, WebhookDeliverer
from adapters.linq.simulator.faults import FaultInjector, Faults
from adapters.linq.simulator.state import Account, Backend, Subscription
from adapters.linq.webhooks import WebhookVerifier
from adapters.memory._ids import random_seed
from adapters.memory.recipients import RecipientKind
from adapters.memory.world import World
from caresupport_transport.content import Part, Reaction, ReactionKind, TextPart
from caresupport_transport.errors import ValidationError
from caresupport_transport.handles import Handle
from caresupport_transport.model import Message

__all__ = [
    "DEFAULT_PHONE",
    "DEFAULT_TOKEN",
    "IN_PROCESS_BASE_URL",
    "OPT_IN_KEYWORDS",
    "OPT_OUT_KEYWORDS",
    "Simulator",
]

DEFAULT_TOKEN = "sim-token-caresupport"
DEFAULT_PHONE = "+15550100000"
IN_PROCESS_BASE_URL = "https://simulator.linq.test" + BASE_PATH
"""The base URL ``client()`` uses in-process (no network: any host works). It is
``https`` because upload URLs are handed out on the origin the client used, and
``LinqClient`` sends file bytes only to an ``https://`` upload URL."""
OPT_OUT_KEYWORDS = frozenset({"STOP", "UNSUBSCRIBE", "OPTOUT", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "OPTIN", "UNSTOP"})

Sleep = Callable[[float], Awaitable[None]]


class Simulator:
    """The Linq Partner API V3 on top of a :class:`World`, easy to build in a test.

    Args:
        tokens: bearer token -> the sender numbers it may use. By default one
            token (:data:`DEFAULT_TOKEN`) owning :data:`DEFAULT_PHONE`.
        world: the World of the first number (made if not given; its owner
            must be one of the numbers).
        seed: seeds ids, trace ids, secrets (unless ``deterministic_secrets``
            is false) and the World made here. ``None`` (the default) takes the
            given World's seed, or else draws a random one (see :attr:`seed`),
            so a restarted simulator never re-issues an id.
        faults: fault rates to start with (none by default).
        webhook_client: the client webhooks are posted with.
        sleep: what retry back-off and hangs wait with (inject one in tests).
        clock: Unix seconds for webhook signature timestamps.
        signing: which signature schemes deliveries carry.
    """

    def __init__(
        self,
        *,
        tokens: Mapping[str, Sequence[str]] | None = None,
        world: World | None = None,
        seed: int | None = None,
        faults: Faults | None = None,
        webhook_client: httpx.AsyncClient | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        signing: Sequence[SigningScheme] = (SigningScheme.STANDARD, SigningScheme.LEGACY),
        partner_id: str = "sim-partner",
        deterministic_secrets: bool = True,
    ) -> None:
        if tokens is None:
            owner = str(world.owner) if world is not None else DEFAULT_PHONE
            tokens = {DEFAULT_TOKEN: (owner,)}
        if any(isinstance(numbers, str) for numbers in tokens.values()):
            raise ValidationError("tokens", "map each token to a list of sender numbers")
        accounts = [Account(token, tuple(numbers)) for token, numbers in tokens.items()]
        if seed is None:
            seed = world.seed if world is not None else random_seed()
        self.seed = seed
        """What ids, trace ids and (deterministic) secrets come from; reuse it to repeat them."""
        self.backend = Backend.create(
            accounts,
            world=world,
            seed=seed,
            partner_id=partner_id,
            deterministic_secrets=deterministic_secrets,
        )
        self.faults = FaultInjector(faults or Faults(seed=seed))
        self.app = SimulatorApp(
            self.backend, self.faults, sleep, control=lambda request: handle_control(self, request)
        )
        self.deliverer = WebhookDeliverer(
            self.backend,
            self.faults,
            webhook_client,
            sleep=sleep,
            clock=clock,
            schemes=tuple(signing),
        )

    # -- what a test reads -------------------------------------------------------

    @property
    def world(self) -> World:
        """The World of the first sender number (the one most tests use)."""
        return self.backend.primary

    @property
    def worlds(self) -> Mapping[str, World]:
        """Every line's World, by sender number."""
        return self.backend.lines

    @property
    def counters(self) -> Counters:
        return self.backend.counters

    @property
    def token(self) -> str:
        """The first configured token."""
        return next(iter(self.backend.accounts))

    @property
    def phone(self) -> str:
        """The first sender number."""
        return str(self.world.owner)

    @property
    def deliveries(self) -> list[DeliveryOutcome]:
        """Every webhook delivery so far, in the order they ended."""
        return self.deliverer.outcomes

    def client(
        self, *, token: str | None = None, base_url: str = IN_PROCESS_BASE_URL
    ) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` talking to the app in-process, authenticated as ``token``.

        ``token=""`` sends no ``Authorization`` header.
        """
        used = self.token if token is None else token
        headers = {"Authorization": f"Bearer {used}"} if used else {}
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=base_url, headers=headers
        )

    def transport(self) -> httpx.ASGITransport:
        """An ``httpx`` transport into the app, for a client made elsewhere (``LinqClient``)."""
        return httpx.ASGITransport(app=self.app)

    # -- the outside world ---------------------------------------------------------

    def add_recipient(
        self, handle: Handle | str, kind: RecipientKind = RecipientKind.IMESSAGE
    ) -> Handle:
        """Register how ``handle`` can be reached (shared by every line)."""
        return self.world.add_recipient(handle, kind)

    def _line(self, line: str | None) -> World:
        if line is None:
            return self.world
        try:
            return self.backend.lines[line]
        except KeyError:
            raise ValidationError("line", f"{line} is not a configured sender number") from None

    def inject_inbound(
        self,
        sender: Handle | str,
        parts: Sequence[Part],
        *,
        line: str | None = None,
        conversation_id: str | None = None,
    ) -> Message:
        """A message from ``sender`` reaches ``line`` (their 1:1 chat unless one is named).

        A whole message of ``STOP`` (and the other opt-out keywords) opts the
        sender out, as Linq does; ``START`` opts them back in.
        """
        message = self._line(line).receive(sender, parts, conversation_id=conversation_id)
        if len(parts) == 1 and isinstance(parts[0], TextPart) and message.sender is not None:
            word = parts[0].text.strip()
            squashed = word.replace(" ", "").replace("-", "").upper()
            if word in OPT_OUT_KEYWORDS or squashed == "OPTOUT":
                self.backend.opted_out.add(message.sender)
            elif word.upper() in OPT_IN_KEYWORDS:
                self.backend.opted_out.discard(message.sender)
        self.backend.sync()
        return message

    def inject_inbound_text(
        self,
        sender: Handle | str,
        text: str,
        *,
        line: str | None = None,
        conversation_id: str | None = None,
    ) -> Message:
        return self.inject_inbound(
            sender, (TextPart(text),), line=line, conversation_id=conversation_id
        )

    def inject_reaction(
        self,
        sender: Handle | str,
        message_id: str,
        reaction: Reaction | ReactionKind | str,
        *,
        part_index: int = 0,
        remove: bool = False,
    ) -> None:
        """``sender`` adds (or removes) a tapback on a message of a chat they are in."""
        if not isinstance(reaction, Reaction):
            reaction = Reaction(ReactionKind(reaction))
        for world in self.backend.lines.values():
            if message_id in world.messages:
                who = Handle(sender) if isinstance(sender, str) else sender
                if remove:
                    world.unreact(message_id, reaction, actor=who, part_index=part_index)
                else:
                    world.receive_reaction(who, message_id, reaction, part_index=part_index)
                self.backend.sync()
                return
        raise ValidationError("message_id", f"{message_id!r} is not a message of any line")

    def inject_typing(
        self, sender: Handle | str, conversation_id: str, *, typing: bool = True
    ) -> None:
        """``sender`` starts (or stops) typing in a chat."""
        who = Handle(sender) if isinstance(sender, str) else sender
        for world in self.backend.lines.values():
            if conversation_id in world.conversations:
                world.set_typing(conversation_id, typing, handle=who)
                self.backend.sync()
                return
        raise ValidationError("conversation_id", f"{conversation_id!r} is not a chat of any line")

    def fail_next_send(
        self, handle: Handle | str, reason: str = "delivery failed", *, line: str | None = None
    ) -> None:
        """The next message to a chat with ``handle`` (on ``line``) is accepted, then fails."""
        self._line(line).fail_next_send(handle, reason)

    def opt_out(self, handle: Handle | str) -> None:
        """Sends to ``handle`` are refused with 403 / 2024 until :meth:`opt_in`."""
        self.backend.opted_out.add(Handle(handle) if isinstance(handle, str) else handle)

    def opt_in(self, handle: Handle | str) -> None:
        self.backend.opted_out.discard(Handle(handle) if isinstance(handle, str) else handle)

    def block(self, handle: Handle | str) -> None:
        """Sends to ``handle`` are refused with 403 / 2026."""
        self.backend.blocked.add(Handle(handle) if isinstance(handle, str) else handle)

    def make_capability_unknown(self, handle: Handle | str) -> None:
        """Capability checks for ``handle`` answer 503 / 4004 (unknown, not unavailable)."""
        self.backend.capability_unknown.add(Handle(handle) if isinstance(handle, str) else handle)

    def share_location(
        self,
        handle: Handle | str,
        latitude: float,
        longitude: float,
        *,
        line: str | None = None,
        chat_id: str | None = None,
        address: str | None = None,
        locality: str | None = None,
    ) -> None:
        """``handle`` shares their location with ``line`` (Find My) and is at this position.

        The first call starts the share (``location.sharing.started``); later ones
        move the person. ``GET /v3/chats/{chatId}/location`` then shows them.
        """
        who = Handle(handle) if isinstance(handle, str) else handle
        owner = str(self._line(line).owner)
        share = start_share(self.backend, owner, who, chat_id)
        share.latitude, share.longitude = latitude, longitude
        share.address, share.locality = address, locality
        share.updated_at = self.backend.lines[owner].now
        self.backend.sync()

    def stop_sharing_location(self, handle: Handle | str, *, line: str | None = None) -> None:
        """``handle`` ends their share with ``line`` themselves (``location.sharing.stopped``)."""
        who = Handle(handle) if isinstance(handle, str) else handle
        share = self.backend.location_shares.get((str(self._line(line).owner), who))
        if share is None:
            raise ValidationError("handle", f"{who} is not sharing their location")
        end_share(self.backend, share)
        self.backend.sync()

    def send_app_card(self, chat_id: str, caption: str) -> Message:
        """The line sends an ``imessage_app`` card (its caption stands for it in the World).

        The simulator takes no app-card parts over the API; this places one so
        ``POST /v3/messages/{messageId}/update`` has a card to redraw.
        """
        for world in self.backend.lines.values():
            conversation = world.conversations.get(chat_id)
            if conversation is not None:
                message = place_card(self.backend, world, conversation, caption)
                self.backend.sync()
                return message
        raise ValidationError("chat_id", f"{chat_id!r} is not a chat of any line")

    # -- webhooks and time -------------------------------------------------------------

    def subscribe(
        self,
        target_url: str,
        *,
        events: Sequence[str] = EVENT_TYPES,
        secret: str | None = None,
    ) -> Subscription:
        """A webhook subscription made without the API (the command line's ``--webhook``)."""
        chosen = secret
        if chosen is None:
            chosen = "whsec_" + base64.b64encode(self.backend.make_secret()).decode()
        WebhookVerifier(chosen)  # refuses a secret nobody could verify with (ConfigurationError)
        unknown = [e for e in events if e not in LINQ_2026_EVENT_TYPES]
        if unknown:
            raise ValidationError("events", f"unknown event types {unknown}")
        return self.backend.subscribe(target_url, events, chosen)

    async def deliver_webhooks(self) -> list[DeliveryOutcome]:
        """Deliver every event that happened so far to its subscribers (with retries)."""
        return await self.deliverer.deliver_all()

    async def advance(self, seconds: float) -> list[DeliveryOutcome]:
        """Move every line's clock on, then deliver the webhooks that time produced."""
        for world in self.backend.lines.values():
            world.advance(seconds)
        self.backend.sync()
        return await self.deliver_webhooks()

    async def run(
        self,
        *,
        tick: float = 1.0,
        speed: float = 1.0,
        wall_sleep: Sleep = asyncio.sleep,
    ) -> None:
        """Run in real time until cancelled (what ``caresupport-transport simulate`` does).

        Every ``tick`` real seconds the clock moves on ``tick * speed`` seconds;
        webhook deliveries run beside it, so a receiver being retried does not
        stop time.
        """
        if tick <= 0 or speed <= 0:
            raise ValidationError("tick", "tick and speed must be positive")

        async def clock() -> None:
            while True:
                await wall_sleep(tick)
                for world in self.backend.lines.values():
                    world.advance(tick * speed)
                self.backend.sync()

        async def deliveries() -> None:
            while True:
                await self.deliver_webhooks()
                await wall_sleep(min(tick, 0.2))

        async with asyncio.TaskGroup() as group:
            group.create_task(clock())
            group.create_task(deliveries())

    async def aclose(self) -> None:
        await self.deliverer.aclose()

    async def __aenter__(self) -> Simulator:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
