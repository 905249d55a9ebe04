"""What the simulator keeps beside the World: accounts, lines, uploads, subscriptions.

Messaging itself (recipients, conversations and when they were created, who
joined when, left groups, messages and the keys they were sent under, edits,
deletions, delivery progression) lives in :class:`~adapters.memory.world.World`,
and the simulator reads it from there. Each sender number (a Linq *line*) is
its own World, as each line is its own phone; the lines share one registry of
recipients and attachments, since a person's reachability and an uploaded file
do not depend on which line is used. Everything here is Linq's own bookkeeping.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import attrs

from adapters.linq.simulator._errors import conflict, not_found, unauthorized
from adapters.linq.simulator._ids import SimulatorIds
from adapters.linq.simulator._targets import is_loopback_url, version_of
from adapters.linq.simulator.counters import Counters
from adapters.memory.world import World
from caresupport_transport.errors import ValidationError
from caresupport_transport.events import InboundEvent
from caresupport_transport.handles import Handle
from caresupport_transport.model import Conversation, Message

__all__ = [
    "Account",
    "Audit",
    "Backend",
    "ContactCard",
    "LineEvent",
    "LinqOnlyEvent",
    "LocationShare",
    "Subscription",
    "Upload",
]


def _numbers(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen(repr=False)
class Account:
    """One bearer token and the sender numbers it may use."""

    token: str
    phone_numbers: tuple[str, ...] = attrs.field(converter=_numbers)

    def __attrs_post_init__(self) -> None:
        if not self.token.strip():
            raise ValidationError("token", "must not be blank")
        if not self.phone_numbers:
            raise ValidationError("phone_numbers", "a token needs at least one sender number")
        for number in self.phone_numbers:
            if not Handle(number).is_phone:
                raise ValidationError("phone_numbers", f"{number!r} is not an E.164 number")

    def __repr__(self) -> str:
        return f"Account(token=<hidden>, phone_numbers={self.phone_numbers!r})"

    def owns(self, number: str) -> bool:
        return number in self.phone_numbers


@attrs.define
class Upload:
    """A pre-upload: announced by ``POST /v3/attachments``, complete after the PUT."""

    id: str
    filename: str
    content_type: str
    size_bytes: int
    created_at: datetime
    expires_at: datetime
    signature: str
    download_url: str
    complete: bool = False


@attrs.define
class Subscription:
    """A webhook subscription; ``secret`` is shown once, at creation.

    ``first_sequence`` is the sequence number of the first event it may be sent:
    events from before it existed are not delivered to it, as with Linq.
    """

    id: str
    target_url: str
    secret: str = attrs.field(repr=False)
    events: tuple[str, ...]
    version: str
    created_at: datetime
    updated_at: datetime
    is_active: bool = True
    first_sequence: int = 0
    phone_numbers: tuple[str, ...] = ()
    """Only events of these lines are delivered (empty: every line)."""
    routing_key_header: str | None = None
    routing_id_header: str | None = None


@attrs.define
class ContactCard:
    phone_number: str
    first_name: str
    last_name: str | None = None
    image_url: str | None = None
    is_active: bool = True


@attrs.frozen
class LinqOnlyEvent:
    """Something Linq reports that the World has no domain event for (a background, a share).

    The route that caused it builds the webhook ``data`` itself; it is the same in
    both payload versions.
    """

    event_id: str
    occurred_at: datetime
    event_type: str
    data: dict[str, Any]


@attrs.define
class LocationShare:
    """A person sharing their location with a line (Find My), and their last position."""

    person: Handle
    line: str
    chat_id: str | None
    began_at: datetime
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None
    locality: str | None = None
    updated_at: datetime | None = None


@attrs.define
class Audit:
    """A reputation audit of one line: pending until ``ready_at``, then complete."""

    id: str
    line: str
    started_at: datetime
    ready_at: datetime


@attrs.frozen
class LineEvent:
    """A domain event, the line (sender number) it happened on, and when the simulator saw it.

    ``sequence`` numbers events in the order :meth:`Backend.sync` took them
    from the Worlds, so a subscription can tell the events from before it.
    """

    line: str
    event: InboundEvent | LinqOnlyEvent
    sequence: int


@attrs.define
class Backend:
    """The simulator's state: lines (Worlds), accounts and Linq's own records."""

    lines: dict[str, World]
    accounts: dict[str, Account] = attrs.field(repr=False)
    ids: SimulatorIds
    partner_id: str = "sim-partner"
    deterministic_secrets: bool = True
    counters: Counters = attrs.Factory(Counters)
    request_fingerprints: dict[str, str] = attrs.Factory(dict)
    """Message id -> hash of the request body that created it (a replayed key must match)."""
    dropped_features: dict[str, tuple[str, ...]] = attrs.Factory(dict)
    """Message id -> what its send asked for that its service cannot carry
    (``"effect"``, ``"reply_to"``), dropped on the way out as SMS and RCS do."""
    uploads: dict[str, Upload] = attrs.Factory(dict)
    subscriptions: dict[str, Subscription] = attrs.Factory(dict)
    contact_cards: dict[str, ContactCard] = attrs.Factory(dict)
    capability_unknown: set[Handle] = attrs.Factory(set)
    events: list[LineEvent] = attrs.Factory(list)
    """Events seen (drained from the Worlds or made here) and not yet turned into deliveries."""
    next_sequence: int = 0
    """The :attr:`LineEvent.sequence` the next event seen will get."""
    made_events: list[tuple[str, LinqOnlyEvent]] = attrs.Factory(list)
    """Events routes made (not the World's), waiting for :meth:`sync`."""
    location_shares: dict[tuple[str, Handle], LocationShare] = attrs.Factory(dict)
    """(line, person) -> their running share with that line."""
    location_requests: dict[str, datetime] = attrs.Factory(dict)
    """Chat id -> when its last location request was sent."""
    backgrounds: dict[str, dict[str, Any]] = attrs.Factory(dict)
    """Chat id -> the background applied (iMessage chats only)."""
    forwarding: dict[str, str | None] = attrs.Factory(dict)
    """Line -> where its calls are forwarded."""
    audits: dict[str, Audit] = attrs.Factory(dict)
    line_uses: dict[str, int] = attrs.Factory(dict)
    """Line -> when it was last suggested or used (a counter: higher is later)."""
    use_clock: int = 0
    app_cards: set[str] = attrs.Factory(set)
    """Ids of messages that are the line's own ``imessage_app`` cards."""
    sticker_placements: dict[str, dict[str, float]] = attrs.Factory(dict)
    """Reaction id -> the placement a sticker was moved to."""
    group_icons: dict[str, str] = attrs.Factory(dict)
    """Chat id -> its group icon URL."""
    card_shares: dict[str, datetime] = attrs.Factory(dict)
    """Chat id -> when the line's contact card was last shared there."""

    @classmethod
    def create(
        cls,
        accounts: Sequence[Account],
        *,
        world: World | None = None,
        seed: int = 0,
        partner_id: str = "sim-partner",
        deterministic_secrets: bool = True,
    ) -> Backend:
        """Lines for every number of every account; ``world`` (if given) is the first line's."""
        numbers: list[str] = []
        for account in accounts:
            numbers.extend(n for n in account.phone_numbers if n not in numbers)
        if not numbers:
            raise ValidationError("tokens", "configure at least one token with a number")
        primary = world or World(owner=numbers[0], seed=seed)
        if str(primary.owner) not in numbers:
            raise ValidationError(
                "world", f"the world's owner {primary.owner} is not a number of any token"
            )
        lines = {str(primary.owner): primary}
        for index, number in enumerate(n for n in numbers if n not in lines):
            lines[number] = World(
                owner=number,
                seed=primary.seed + 7919 * (index + 1),
                delays=primary.delays,
                start=primary.now,
                default_kind=primary.default_kind,
                recipients=primary.recipients,
                attachments=primary.attachments,
                attachment_data=primary.attachment_data,
                # A person's opt-out and the account's blocklist hold on every line.
                opted_out=primary.opted_out,
                blocklist=primary.blocklist,
            )
        tokens = {account.token: account for account in accounts}
        if len(tokens) != len(accounts):
            raise ValidationError("tokens", "two accounts share a token")
        return cls(
            lines,
            tokens,
            SimulatorIds(seed),
            partner_id=partner_id,
            deterministic_secrets=deterministic_secrets,
            # As if each line's card had been set up on Linq's dashboard.
            contact_cards={n: ContactCard(n, "CareSupport") for n in lines},
        )

    # -- who is asking ---------------------------------------------------------

    def account_for(self, authorization: str | None) -> Account:
        """The account of an ``Authorization: Bearer`` header; 401 / 2004 otherwise."""
        if not authorization:
            raise unauthorized()
        scheme, _, token = authorization.strip().partition(" ")
        account = self.accounts.get(token.strip()) if scheme.lower() == "bearer" else None
        if account is None:
            raise unauthorized()
        return account

    # -- lines and lookups -----------------------------------------------------

    @property
    def primary(self) -> World:
        return next(iter(self.lines.values()))

    def worlds(self) -> Iterator[tuple[str, World]]:
        return iter(self.lines.items())

    def chat(self, chat_id: str, account: Account) -> tuple[str, World, Conversation]:
        """``(line, world, conversation)`` of a chat the account may see; 404 otherwise."""
        for line, world in self.lines.items():
            conversation = world.conversations.get(chat_id)
            if conversation is not None and account.owns(line):
                return line, world, conversation
        raise not_found("Chat")

    def active_chat(self, chat_id: str, account: Account) -> tuple[str, World, Conversation]:
        """Like :meth:`chat`, for an interaction: 409 once the line has left the chat."""
        line, world, conversation = self.chat(chat_id, account)
        if world.has_left(chat_id):
            raise conflict("This line has left the chat")
        return line, world, conversation

    def message(self, message_id: str, account: Account) -> tuple[str, World, Message]:
        """``(line, world, message)`` of a message the account may see; 404 otherwise."""
        for line, world in self.lines.items():
            message = world.messages.get(message_id)
            if message is not None and not world.is_deleted(message_id) and account.owns(line):
                return line, world, message
        raise not_found("Message")

    def make_secret(self, size: int = 24) -> bytes:
        """Secret bytes: from the seed in tests (reproducible), else from the OS."""
        if self.deterministic_secrets:
            return self.ids.token("secret", size)
        return secrets.token_bytes(size)

    def subscribe(self, target_url: str, events: Sequence[str], secret: str) -> Subscription:
        """Record a webhook subscription to a loopback ``target_url``.

        Raises:
            ValidationError: a target that is not on loopback.
            ProviderError: 400 for a ``?version=`` that does not exist.
        """
        if not is_loopback_url(target_url):
            raise ValidationError("target_url", f"{target_url!r} is not on loopback")
        self.sync()  # what already happened gets its sequence number before this subscription's
        now = self.primary.now
        subscription = Subscription(
            id=self.ids.next("subscription"),
            target_url=target_url,
            secret=secret,
            events=tuple(events),
            version=version_of(target_url),
            created_at=now,
            updated_at=now,
            first_sequence=self.next_sequence,
        )
        self.subscriptions[subscription.id] = subscription
        return subscription

    # -- events ------------------------------------------------------------------

    def record(self, line: str, event_type: str, data: dict[str, Any]) -> None:
        """Note an event a route made (``chat.background_updated`` ...), sent at the next sync."""
        event = LinqOnlyEvent(self.ids.next("event"), self.lines[line].now, event_type, data)
        self.made_events.append((line, event))

    def use_line(self, line: str) -> None:
        """Mark ``line`` as just suggested or sent from (least recently used comes next)."""
        self.use_clock += 1
        self.line_uses[line] = self.use_clock

    def sync(self) -> None:
        """Drain every World's outbox into :attr:`events`, oldest first."""
        drained: list[tuple[str, InboundEvent | LinqOnlyEvent]] = []
        for line, world in self.lines.items():
            drained.extend((line, event) for event in world.drain())
        drained.extend(self.made_events)
        self.made_events = []
        drained.sort(key=lambda item: item[1].occurred_at)
        first = self.next_sequence
        self.next_sequence += len(drained)
        self.events.extend(
            LineEvent(line, event, first + index) for index, (line, event) in enumerate(drained)
        )

    def take_events(self) -> list[LineEvent]:
        self.sync()
        taken, self.events = self.events, []
        return taken
