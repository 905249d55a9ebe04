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
from datetime import datetime

import httpx

from adapters.linq.event_types import ALL_EVENT_TYPES
from adapters.linq.simulator._routes_chat_extras import end_share, start_share
from adapters.linq.simulator._routes_message_extras import place_card
from adapters.linq.simulator.app import BASE_PATH, SimulatorApp
from adapters.linq.simulator.console.console import Console
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
from caresupport_transport.events import LineReputation, LineStatus
from caresupport_transport.handles import Handle
from caresupport_transport.model import ConversationHealth, Message
from caresupport_transport.polls import Poll

__all__ = [
    "DEFAULT_PHONE",
    "DEFAULT_TOKEN",
    "IN_PROCESS_BASE_URL",
    "Simulator",
]

DEFAULT_TOKEN = "sim-token-caresupport"
DEFAULT_PHONE = "+15550100000"
IN_PROCESS_BASE_URL = "https://simulator.linq.test" + BASE_PATH
"""The base URL ``client()`` uses in-process (no network: any host works). It is
``https`` because upload URLs are handed out on the origin the client used, and
``LinqClient`` sends file bytes only to an ``https://`` upload URL."""

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
        self.console = Console(self)
        """The web console at ``/console`` (see ``docs/console.md``)."""
        self.app.console = self.console
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

        The World applies Linq's opt-out rule (``caresupport_transport.consent``):
        an opt-out keyword in a 1:1 chat opts the sender out on every line, any
        later other message opts them back in. A sender on the blocklist is
        dropped before any webhook (the message is in ``world.dropped_inbound``).
        """
        message = self._line(line).receive(sender, parts, conversation_id=conversation_id)
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

    def inject_poll(
        self,
        sender: Handle | str,
        options: Sequence[str],
        *,
        line: str | None = None,
        conversation_id: str | None = None,
    ) -> Poll:
        """``sender``'s own poll reaches a line (``poll.received``)."""
        poll = self._line(line).receive_poll(sender, options, conversation_id=conversation_id)
        self.backend.sync()
        return poll

    def inject_vote(
        self, voter: Handle | str, poll_id: str, option_id: str, *, remove: bool = False
    ) -> None:
        """``voter`` votes for (or takes back a vote for) an option of a poll."""
        for world in self.backend.lines.values():
            if poll_id in world.polls:
                world.vote(voter, poll_id, option_id, remove=remove)
                self.backend.sync()
                return
        raise ValidationError("poll_id", f"{poll_id!r} is not a poll of any line")

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

    def inject_edit(self, message_id: str, text: str, *, part_index: int = 0) -> Message:
        """The sender of a received message edits it (``message.edited``, ``direction: inbound``).

        Linq's limits hold (iMessage, 5 edits, 15 minutes), as for our own edits.
        """
        for world in self.backend.lines.values():
            if message_id in world.messages:
                edited = world.edit(message_id, part_index, text)
                self.backend.sync()
                return edited
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

    def inject_reconciled(
        self,
        sender: Handle | str,
        text: str,
        *,
        sent_at: datetime,
        line: str | None = None,
        conversation_id: str | None = None,
    ) -> Message:
        """A message sent at ``sent_at`` reaches ``line`` late, recovered by reconciliation.

        Listed in its chat by ``sent_at`` (behind newer messages), with
        ``reconciled_at`` = now on REST messages and 2026-02-03 events.
        """
        message = self._line(line).receive_reconciled(
            sender, (TextPart(text),), sent_at=sent_at, conversation_id=conversation_id
        )
        self.backend.sync()
        return message

    def deliver_after_failure(self, message_id: str, *, line: str | None = None) -> Message:
        """A message reported failed is reported delivered after all (``message.delivered``)."""
        message = self._line(line).deliver_after_failure(message_id)
        self.backend.sync()
        return message

    def share_contact_card_with_line(
        self,
        sender: Handle | str,
        first_name: str,
        last_name: str | None = None,
        *,
        media_url: str | None = None,
        line: str | None = None,
    ) -> None:
        """``sender`` shares their contact card with ``line`` (``contact_card.received``)."""
        self._line(line).receive_contact_card(sender, first_name, last_name, media_url=media_url)
        self.backend.sync()

    def set_line_status(
        self,
        status: LineStatus | None = None,
        reputation: LineReputation | None = None,
        *,
        line: str | None = None,
    ) -> None:
        """``line`` is flagged or changes reputation (``phone_number.status_updated``)."""
        self._line(line).set_line_status(status, reputation)
        self.backend.sync()

    def fail_next_send(
        self, handle: Handle | str, reason: str = "delivery failed", *, line: str | None = None
    ) -> None:
        """The next message to a chat with ``handle`` (on ``line``) is accepted, then fails."""
        self._line(line).fail_next_send(handle, reason)

    def opt_out(self, handle: Handle | str) -> None:
        """Direct sends to ``handle`` are refused with 403 / 2024 (as if they had sent STOP
        in a chat not on these lines) until they write again or :meth:`opt_in`."""
        self.world.opted_out.add(Handle(handle) if isinstance(handle, str) else handle)

    def opt_in(self, handle: Handle | str) -> None:
        self.world.opted_out.discard(Handle(handle) if isinstance(handle, str) else handle)

    def block(self, handle: Handle | str, *, reason: str | None = None) -> None:
        """Put ``handle`` on the account's blocklist (as ``POST /v3/blocked_handles`` does):
        direct sends to it are refused with 403 / 2026, its messages dropped."""
        self.world.block(handle, reason=reason)

    def set_health(self, chat_id: str, health: ConversationHealth) -> None:
        """Linq's judgement of a chat's health (``AT_RISK``, ``CRITICAL``, ``HEALTHY``).

        ``OPTED_OUT`` comes only from the person's keyword (``inject_inbound_text``).
        """
        for world in self.backend.lines.values():
            if chat_id in world.conversations:
                world.set_health(chat_id, health)
                return
        raise ValidationError("chat_id", f"{chat_id!r} is not a chat of any line")

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
        events: Sequence[str] = ALL_EVENT_TYPES,
        secret: str | None = None,
    ) -> Subscription:
        """A webhook subscription made without the API (the command line's ``--webhook``)."""
        chosen = secret
        if chosen is None:
            chosen = "whsec_" + base64.b64encode(self.backend.make_secret()).decode()
        WebhookVerifier(chosen)  # refuses a secret nobody could verify with (ConfigurationError)
        unknown = [e for e in events if e not in ALL_EVENT_TYPES]
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
