"""A technology-neutral, in-memory model of how messaging behaves, on a virtual clock.

The :class:`World` plays the provider's part: it keeps recipients and what they
can be reached on, conversations (when each was created, who joined when, which
ones the owner left), messages (the key each was sent under, the service it was
pinned to, its edits, which ones were deleted), reactions, typing and read
state, attachments, and turns everything that happens into the matching domain
event in :attr:`World.outbox`. It is synchronous and does no I/O, so both the
in-memory ``Transport`` and an HTTP simulator of the provider can stand on it.
It knows nothing of the fallback *policy*: given ``AUTO`` it picks iMessage ->
RCS -> SMS by what every participant can use, and a pinned service some
participant lacks makes the message fail, as the provider does.

Opt-outs follow the one rule of :mod:`caresupport_transport.consent`: an
opt-out keyword in a 1:1 conversation opts the person out account-wide (the
conversation's health becomes ``OPTED_OUT`` and ``OptedOut`` is recorded), any
later other message of theirs opts them back in (``OptedIn``), and a direct
send to someone opted out is refused before anything is queued unless it asks
for ``override_optout`` (each override is recorded). The owner's blocklist drops
inbound from a blocked handle before any event and refuses direct sends to it;
a group send with at least one unblocked member goes through.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import attrs

from adapters.memory._ids import IdFactory, seed_or_random
from adapters.memory.delivery import DeliveryDelays, StatusSchedule
from adapters.memory.recipients import RecipientKind, capabilities_for, services_for
from caresupport_transport import limits
from caresupport_transport.capabilities import (
    FALLBACK_ORDER,
    HandleCapabilities,
    Service,
    ServicePreference,
    capabilities_of,
)
from caresupport_transport.checks import MIN_GROUP_SIZE, check_can_add, check_can_remove
from caresupport_transport.consent import (
    ConsentChange,
    blocklist_form,
    consent_change,
    is_opt_out_message,
)
from caresupport_transport.content import Effect, MediaPart, Part, Reaction, ReplyTo, TextPart
from caresupport_transport.corrections import edit_refusal
from caresupport_transport.errors import (
    AlreadySentError,
    BlockedError,
    EditRefusedError,
    NotFoundError,
    OptedOutError,
    ValidationError,
)
from caresupport_transport.events import (
    ContactCardReceived,
    ConversationCreated,
    ConversationHealthChanged,
    ConversationUpdated,
    InboundEvent,
    LineReputation,
    LineStatus,
    LineStatusChanged,
    MessageEdited,
    MessageReceived,
    MessageStatusChanged,
    OptedIn,
    OptedOut,
    ParticipantAdded,
    ParticipantRemoved,
    PollOptionsAdded,
    PollReceived,
    PollVoteAdded,
    PollVoteRemoved,
    ReactionAdded,
    ReactionRemoved,
    TypingStarted,
    TypingStopped,
    WebhookSubscriptionChanged,
)
from caresupport_transport.handles import Handle
from caresupport_transport.model import (
    Attachment,
    BlockedHandle,
    Conversation,
    ConversationHealth,
    DeliveryStatus,
    Direction,
    Message,
)
from caresupport_transport.polls import Poll, PollOption, PollVote

__all__ = [
    "DEFAULT_OWNER",
    "DEFAULT_START",
    "MIN_GROUP_SIZE",
    "ReactionRecord",
    "World",
    "as_handle",
]

_T = TypeVar("_T")

DEFAULT_OWNER = Handle("+15550100000")
"""The line the world's owner (CareSupport) sends from."""
DEFAULT_START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def as_handle(value: Handle | str) -> Handle:
    return value if isinstance(value, Handle) else Handle(value)


@attrs.frozen
class ReactionRecord:
    """A reaction standing on a message part."""

    message_id: str
    reaction: Reaction
    actor: Handle
    part_index: int
    at: datetime


@attrs.define
class World:
    """Recipients, conversations and messages, and the events they produce.

    Everything is a plain attribute tests may read. Ids and event ids come
    from :attr:`seed`: the same seed and the same calls give the same ids.

    Args:
        owner: the handle the owner sends from.
        seed: seeds every id; ``None`` (the default) draws a random seed, kept
            in :attr:`seed`, so worlds made without one never share ids.
        delays: when delivery statuses move on.
        start: the virtual clock's starting time.
        default_kind: how a handle no one registered behaves.
    """

    owner: Handle = attrs.field(default=DEFAULT_OWNER, converter=as_handle)
    seed: int = attrs.field(default=None, converter=seed_or_random)
    delays: DeliveryDelays = attrs.Factory(DeliveryDelays)
    start: datetime = DEFAULT_START
    default_kind: RecipientKind = RecipientKind.SMS_ONLY
    recipients: dict[Handle, RecipientKind] = attrs.Factory(dict)
    conversations: dict[str, Conversation] = attrs.Factory(dict)
    messages: dict[str, Message] = attrs.Factory(dict)
    reactions: list[ReactionRecord] = attrs.Factory(list)
    typing: dict[str, set[Handle]] = attrs.Factory(dict)
    attachments: dict[str, Attachment] = attrs.Factory(dict)
    attachment_data: dict[str, bytes] = attrs.Factory(dict)
    contact_cards_shared: list[str] = attrs.Factory(list)
    voice_memo_ids: set[str] = attrs.Factory(set)
    failure_reasons: dict[str, str] = attrs.Factory(dict)
    idempotency_keys: dict[str, str] = attrs.Factory(dict)
    """Idempotency key -> the message first sent under it."""
    outbox: list[InboundEvent] = attrs.Factory(list)
    """Events not yet taken by :meth:`drain`, oldest first."""
    _now: datetime = attrs.field(init=False)
    _ids: IdFactory = attrs.field(init=False)
    _schedule: StatusSchedule = attrs.Factory(StatusSchedule)
    _forced_failures: dict[Handle, list[str]] = attrs.Factory(dict)
    conversation_created_at: dict[str, datetime] = attrs.Factory(dict)
    """Conversation id -> when it was created."""
    joins: dict[tuple[str, Handle], datetime] = attrs.Factory(dict)
    """``(conversation id, handle)`` -> when the handle was added to the group.

    Only later additions are here; the founding participants joined when the
    conversation was created (see :meth:`joined_at`).
    """
    left_conversations: set[str] = attrs.Factory(set)
    """Groups the owner left (:meth:`leave`); nothing more can be sent to them."""
    message_keys: dict[str, str] = attrs.Factory(dict)
    """Message id -> the idempotency key it was sent under (:attr:`idempotency_keys` reversed)."""
    preferred_services: dict[str, Service] = attrs.Factory(dict)
    """Message id -> the service its sender pinned (absent when sent with ``AUTO``)."""
    edits: dict[str, list[datetime]] = attrs.Factory(dict)
    """Message id -> when each of its edits happened, oldest first."""
    deleted_message_ids: set[str] = attrs.Factory(set)
    """Messages deleted with :meth:`delete_message`: kept, but out of every history."""
    polls: dict[str, Poll] = attrs.Factory(dict)
    """Poll message id -> the native poll as it stands (options and votes).

    A poll is a message (it has an id, a service and a delivery status) with no
    parts; it is left out of every history, since Linq does not say it lists one.
    """
    line_status: LineStatus = LineStatus.ACTIVE
    """The owner's line's status (:meth:`set_line_status`)."""
    line_reputation: LineReputation = LineReputation.HEALTHY
    """The owner's line's reputation (:meth:`set_line_status`)."""
    opted_out: set[Handle] = attrs.Factory(set)
    """People opted out of direct sends (account-wide: lines of one account share it)."""
    opt_out_marks: set[str] = attrs.Factory(set)
    """1:1 conversations where an opt-out keyword arrived (health ``OPTED_OUT`` while it holds)."""
    opt_out_overrides: list[tuple[str, Handle]] = attrs.Factory(list)
    """``(conversation id, person)`` of every send let through by ``override_optout``."""
    health: dict[str, ConversationHealth] = attrs.Factory(dict)
    """Conversation id -> health set by :meth:`set_health` (``HEALTHY`` when absent)."""
    blocklist: dict[Handle, BlockedHandle] = attrs.Factory(dict)
    """The owner's own blocklist (account-wide: lines of one account share it)."""
    dropped_inbound: list[Message] = attrs.Factory(list)
    """Messages from blocked handles: dropped before any event, kept here for tests."""

    def __attrs_post_init__(self) -> None:
        self._now = self.start
        self._ids = IdFactory(self.seed)

    # -- recipients -------------------------------------------------------------

    def add_recipient(
        self, handle: Handle | str, kind: RecipientKind = RecipientKind.IMESSAGE
    ) -> Handle:
        """Register ``handle`` as reachable the way ``kind`` says; returns the handle."""
        registered = as_handle(handle)
        if registered.is_email and not services_for(registered, kind):
            raise ValidationError("kind", f"an email address cannot be {kind.value}")
        self.recipients[registered] = kind
        return registered

    def __contains__(self, handle: object) -> bool:
        """Whether ``handle`` (a Handle or its text) was registered; junk is simply absent."""
        if isinstance(handle, str):
            try:
                handle = Handle(handle)
            except ValidationError:
                return False
        return handle in self.recipients

    def kind_of(self, handle: Handle) -> RecipientKind:
        return self.recipients.get(handle, self.default_kind)

    def services_of(self, handle: Handle) -> tuple[Service, ...]:
        return services_for(handle, self.kind_of(handle))

    def capabilities(self, handle: Handle) -> HandleCapabilities:
        return capabilities_for(handle, self.kind_of(handle))

    def pick_service(
        self, participants: Iterable[Handle], preference: ServicePreference
    ) -> Service | None:
        """The service the provider would use, or ``None`` if none reaches everyone.

        A pinned service is returned as is, even when someone lacks it (the
        message then fails); ``AUTO`` takes the first service everyone has.
        """
        if preference.service is not None:
            return preference.service
        reachable = [set(self.services_of(h)) for h in participants]
        return next((s for s in FALLBACK_ORDER if all(s in r for r in reachable)), None)

    # -- clock, ids and events ----------------------------------------------------

    @property
    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock on, applying every status change that falls due, in time order."""
        if seconds < 0:
            raise ValidationError("seconds", "the clock cannot go backwards")
        target = self._now + timedelta(seconds=seconds)
        while (change := self._schedule.pop_due(target)) is not None:
            self._now = max(self._now, change.due)
            self._set_status(change.message_id, change.status, change.reason)
        self._now = target

    def drain(self) -> list[InboundEvent]:
        """Take every event produced so far, oldest first."""
        events, self.outbox = self.outbox, []
        return events

    @property
    def pending_status_changes(self) -> int:
        return len(self._schedule)

    def new_id(self, namespace: str) -> str:
        """A fresh deterministic id in ``namespace`` (unique within this world)."""
        return self._ids.next(namespace)

    def _event_id(self) -> str:
        return self._ids.next("event")

    # -- conversations ------------------------------------------------------------

    def conversation(self, conversation_id: str) -> Conversation:
        try:
            return self.conversations[conversation_id]
        except KeyError:
            raise NotFoundError(
                f"conversation {conversation_id!r} not found", status=404, code=2001
            ) from None

    def create_conversation(self, participants: Sequence[Handle]) -> Conversation:
        """The conversation with exactly ``participants``, created if none exists.

        Raises:
            ValidationError: no participants, more than 31, duplicates, or the owner.
        """
        handles = tuple(participants)
        if not 1 <= len(handles) <= limits.MAX_RECIPIENTS:
            raise ValidationError(
                "participants", f"has {len(handles)}; give 1 to {limits.MAX_RECIPIENTS} handles"
            )
        if len(set(handles)) != len(handles):
            raise ValidationError("participants", "must not repeat a handle")
        if self.owner in handles:
            raise ValidationError("participants", "must not include the owner's own handle")
        wanted = frozenset(handles)
        for existing in self.conversations.values():
            if frozenset(existing.participants) == wanted:
                return existing
        conversation = Conversation(self._ids.next("chat"), handles, is_group=len(handles) > 1)
        self.conversations[conversation.id] = conversation
        self.conversation_created_at[conversation.id] = self._now
        self.outbox.append(
            ConversationCreated(self._event_id(), self._now, conversation.id, conversation)
        )
        return conversation

    def created_at(self, conversation_id: str) -> datetime:
        """When the conversation was created.

        Raises:
            NotFoundError: unknown conversation.
        """
        self.conversation(conversation_id)
        return self.conversation_created_at[conversation_id]

    def joined_at(self, conversation_id: str, handle: Handle) -> datetime:
        """When ``handle`` joined: when it was added, else when the conversation was created."""
        created = self.created_at(conversation_id)
        return self.joins.get((conversation_id, handle), created)

    def page_conversations(
        self, cursor: str | None, limit: int
    ) -> tuple[list[Conversation], str | None]:
        """One page of conversations, oldest first, and the cursor of the next (or ``None``)."""
        items = list(self.conversations.values())
        return _page(items, cursor, limit)

    def history(self, conversation_id: str) -> list[Message]:
        """A conversation's messages, newest first (deleted ones left out)."""
        self.conversation(conversation_id)
        found = [
            m
            for m in self.messages.values()
            if m.conversation_id == conversation_id
            and m.id not in self.deleted_message_ids
            and m.id not in self.polls
        ]
        return found[::-1]

    def page_messages(
        self, conversation_id: str, cursor: str | None, limit: int
    ) -> tuple[list[Message], str | None]:
        """One page of a conversation's messages, newest first, and the next cursor."""
        return _page(self.history(conversation_id), cursor, limit)

    def leave(self, conversation_id: str) -> None:
        """The owner leaves a group: it stays readable, but nothing more can be sent to it.

        Raises:
            NotFoundError: unknown conversation.
            ValidationError: the conversation is not a group.
        """
        if not self.conversation(conversation_id).is_group:
            raise ValidationError("conversation_id", "only a group chat can be left")
        self.left_conversations.add(conversation_id)

    def has_left(self, conversation_id: str) -> bool:
        return conversation_id in self.left_conversations

    # -- groups -------------------------------------------------------------------

    def add_participant(self, conversation_id: str, handle: Handle) -> Conversation:
        """Add ``handle`` to a group that already has 3+ participants (besides the owner).

        Raises:
            ValidationError: not a group, too small, already in it, or ``handle``
                cannot use the group's service.
        """
        conversation = self.conversation(conversation_id)
        check_can_add(conversation, handle, self.owner)
        if conversation.service is not None and conversation.service not in self.services_of(
            handle
        ):
            raise ValidationError(
                "handle",
                f"{handle} cannot use the group's service {conversation.service.label}; "
                "start a new conversation instead",
            )
        updated = attrs.evolve(conversation, participants=(*conversation.participants, handle))
        self.conversations[conversation_id] = updated
        self.joins[(conversation_id, handle)] = self._now
        self.outbox.append(ParticipantAdded(self._event_id(), self._now, conversation_id, handle))
        return updated

    def remove_participant(self, conversation_id: str, handle: Handle) -> Conversation:
        """Remove ``handle`` from a group, leaving 3+ participants (besides the owner).

        Raises:
            ValidationError: not a group, not a participant, or too few would be left.
        """
        conversation = self.conversation(conversation_id)
        check_can_remove(conversation, handle)
        remaining = tuple(h for h in conversation.participants if h != handle)
        updated = attrs.evolve(conversation, participants=remaining)
        self.conversations[conversation_id] = updated
        self.typing.get(conversation_id, set()).discard(handle)
        self.outbox.append(ParticipantRemoved(self._event_id(), self._now, conversation_id, handle))
        return updated

    def rename(self, conversation_id: str, display_name: str) -> Conversation:
        """Give a group a new name, recording ``ConversationUpdated(change="name")``.

        Raises:
            ValidationError: the conversation is not a group.
        """
        conversation = self.conversation(conversation_id)
        if not conversation.is_group:
            raise ValidationError("conversation_id", "only a group chat has a name")
        updated = attrs.evolve(conversation, display_name=display_name)
        self.conversations[conversation_id] = updated
        self.outbox.append(
            ConversationUpdated(
                self._event_id(), self._now, conversation_id, "name", value=display_name
            )
        )
        return updated

    def change_icon(self, conversation_id: str, icon_url: str) -> None:
        """Record a group's new icon as ``ConversationUpdated(change="icon")``."""
        conversation = self.conversation(conversation_id)
        if not conversation.is_group:
            raise ValidationError("conversation_id", "only a group chat has an icon")
        self.outbox.append(
            ConversationUpdated(
                self._event_id(), self._now, conversation_id, "icon", value=icon_url
            )
        )

    # -- messages -----------------------------------------------------------------

    def message(self, message_id: str) -> Message:
        """The message with this id, deleted or not.

        Raises:
            NotFoundError: no message ever had this id.
        """
        try:
            return self.messages[message_id]
        except KeyError:
            raise NotFoundError(
                f"message {message_id!r} not found", status=404, code=2001
            ) from None

    def send(
        self,
        conversation_id: str,
        parts: Sequence[Part],
        *,
        effect: Effect | None = None,
        reply_to: ReplyTo | None = None,
        preference: ServicePreference = ServicePreference.AUTO,
        idempotency_key: str | None = None,
        voice_memo: bool = False,
        override_optout: bool = False,
    ) -> Message:
        """Send from the owner; a repeated idempotency key returns the first message, unchanged.

        The message starts ``pending`` and moves on as the clock advances; it
        fails when no service reaches everyone, a pinned service is missing,
        a participant is unreachable, or a failure was injected.

        Raises:
            NotFoundError: unknown conversation, reply target or attachment.
            ValidationError: a reply to a message of another conversation, or a
                group the owner left.
            AlreadySentError: the key's message was sent before and deleted since.
            OptedOutError: a 1:1 send to someone opted out, without ``override_optout``.
            BlockedError: a 1:1 send to a blocked handle (a group of blocked handles).
        """
        if idempotency_key is not None and idempotency_key in self.idempotency_keys:
            original = self.idempotency_keys[idempotency_key]
            if original in self.deleted_message_ids:
                # As Linq: the key's message is gone and is never sent again.
                raise AlreadySentError(
                    f"the message sent under idempotency key {idempotency_key!r} was deleted",
                    status=404,
                )
            return self.messages[original]
        conversation = self.conversation(conversation_id)
        if self.has_left(conversation_id):
            raise ValidationError("conversation_id", "the owner left this group")
        self.check_direct_send(conversation.participants, override_optout=override_optout)
        self._check_references(conversation_id, parts, reply_to)
        service = self.pick_service(conversation.participants, preference)
        failure = self._failure_for(conversation, service)
        caps = capabilities_of(service) if service is not None else None
        message = Message(
            self._ids.next("message"),
            conversation_id,
            Direction.OUTBOUND,
            self.owner,
            tuple(parts),
            service,
            DeliveryStatus.PENDING,
            self._now,
            reply_to=reply_to if caps is not None and caps.reply_threads else None,
            effect=effect if caps is not None and caps.effects else None,
        )
        self.messages[message.id] = message
        if override_optout and not conversation.is_group:
            overridden = [h for h in conversation.participants if h in self.opted_out]
            self.opt_out_overrides.extend((conversation_id, h) for h in overridden)
        if idempotency_key is not None:
            self.idempotency_keys[idempotency_key] = message.id
            self.message_keys[message.id] = idempotency_key
        if preference.service is not None:
            self.preferred_services[message.id] = preference.service
        if voice_memo:
            self.voice_memo_ids.add(message.id)
        if service is not None and conversation.service is not service and failure is None:
            self.conversations[conversation_id] = attrs.evolve(conversation, service=service)
        # Sending a message clears the sender's typing indicator, as on a phone.
        self.typing.get(conversation_id, set()).discard(self.owner)
        self._schedule_delivery(message, failure)
        return message

    def fail_next_send(self, handle: Handle | str, reason: str = "delivery failed") -> None:
        """Make the next message sent to a conversation with ``handle`` fail."""
        self._forced_failures.setdefault(as_handle(handle), []).append(reason)

    def edit(self, message_id: str, part_index: int, text: str | TextPart) -> Message:
        """Replace the text of one text part of a message, recording ``MessageEdited``.

        The provider's limits hold (``caresupport_transport.corrections``): only
        iMessage messages, at most 5 edits each, within 15 minutes of sending, by
        this world's clock. The event says ``is_from_me`` for the owner's messages.

        Raises:
            NotFoundError: unknown message.
            ValidationError: ``part_index`` is not a text part, or ``text`` is not valid text.
            EditRefusedError: past the limits; nothing changes.
        """
        message = self.message(message_id)
        if not 0 <= part_index < len(message.parts) or not isinstance(
            message.parts[part_index], TextPart
        ):
            raise ValidationError("part_index", f"{part_index} is not a text part of the message")
        new_part = text if isinstance(text, TextPart) else TextPart(text)
        refusal = edit_refusal(
            message, edits_made=len(self.edits.get(message_id, ())), now=self._now
        )
        if refusal is not None:
            raise EditRefusedError(refusal)
        parts = (*message.parts[:part_index], new_part, *message.parts[part_index + 1 :])
        updated = attrs.evolve(message, parts=parts)
        self.messages[message_id] = updated
        self.edits.setdefault(message_id, []).append(self._now)
        self.outbox.append(
            MessageEdited(
                self._event_id(),
                self._now,
                message.conversation_id,
                message_id,
                (new_part,),
                part_index=part_index,
                is_from_me=message.direction is Direction.OUTBOUND,
            )
        )
        return updated

    def updated_at(self, message_id: str) -> datetime:
        """When the message last changed its content: its last edit, else its creation."""
        edited = self.edits.get(message_id)
        return edited[-1] if edited else self.message(message_id).created_at

    def delete_message(self, message_id: str) -> None:
        """Delete a message: it leaves every history, but its record and events stay.

        Raises:
            NotFoundError: unknown message.
        """
        self.message(message_id)
        self.deleted_message_ids.add(message_id)

    def is_deleted(self, message_id: str) -> bool:
        return message_id in self.deleted_message_ids

    def _check_references(
        self, conversation_id: str, parts: Sequence[Part], reply_to: ReplyTo | None
    ) -> None:
        for part in parts:
            if isinstance(part, MediaPart) and part.attachment_id is not None:
                self.attachment(part.attachment_id)
        if reply_to is not None:
            target = self.message(reply_to.message_id)
            if target.conversation_id != conversation_id:
                raise ValidationError(
                    "reply_to.message_id", "must name a message of the same conversation"
                )

    def _failure_for(self, conversation: Conversation, service: Service | None) -> str | None:
        forced = None
        for handle in conversation.participants:
            queue = self._forced_failures.get(handle)
            if queue:
                forced = forced or queue.pop(0)
        if forced is not None:
            return forced
        if service is None:
            return "no service reaches every participant"
        for handle in conversation.participants:
            if service not in self.services_of(handle):
                return f"{handle} cannot receive {service.label}"
            if self.kind_of(handle) is RecipientKind.UNREACHABLE:
                return f"{handle} is unreachable"
        return None

    # -- delivery progression -------------------------------------------------------

    def _schedule_delivery(self, message: Message, failure: str | None) -> None:
        sent_at = message.created_at
        if failure is not None:
            due = sent_at + timedelta(seconds=self.delays.failed)
            self._schedule.add(due, message.id, DeliveryStatus.FAILED, failure)
            return
        self._schedule.add(
            sent_at + timedelta(seconds=self.delays.sent), message.id, DeliveryStatus.SENT
        )
        self._schedule.add(
            sent_at + timedelta(seconds=self.delays.delivered), message.id, DeliveryStatus.DELIVERED
        )
        assert message.service is not None  # a message that does not fail has a service
        if self.delays.read is not None and capabilities_of(message.service).read_receipts:
            self._schedule.add(
                sent_at + timedelta(seconds=self.delays.read), message.id, DeliveryStatus.READ
            )

    def _set_status(self, message_id: str, status: DeliveryStatus, reason: str | None) -> None:
        message = self.messages[message_id]
        terminal = message.status in (DeliveryStatus.FAILED, DeliveryStatus.READ)
        if terminal or status.rank <= message.status.rank:
            return
        stamp = self._now
        updated = attrs.evolve(message, status=status)
        if status is DeliveryStatus.SENT:
            updated = attrs.evolve(updated, sent_at=stamp)
        elif status is DeliveryStatus.DELIVERED:
            updated = attrs.evolve(updated, delivered_at=stamp)
        elif status is DeliveryStatus.READ:
            updated = attrs.evolve(updated, read_at=stamp)
        self.messages[message_id] = updated
        if reason is not None:
            self.failure_reasons[message_id] = reason
        self.outbox.append(
            MessageStatusChanged(
                self._event_id(),
                self._now,
                message.conversation_id,
                message_id,
                status,
                service=message.service,
                reason=reason,
            )
        )

    # -- what the outside world does (test-side injection) ---------------------------

    def receive(
        self,
        sender: Handle | str,
        parts: Sequence[Part],
        *,
        conversation_id: str | None = None,
    ) -> Message:
        """A message from ``sender`` arrives (in their 1:1 conversation unless one is named)."""
        who = as_handle(sender)
        if not parts:
            raise ValidationError("parts", "a message needs at least one part")
        if self.is_blocked(who):
            return self._drop_inbound(who, parts, conversation_id)
        if conversation_id is None:
            conversation = self.create_conversation([who])
        else:
            conversation = self.conversation(conversation_id)
            if who not in conversation.participants:
                raise ValidationError("sender", f"{who} is not in conversation {conversation_id}")
        service = conversation.service or self.pick_service(
            conversation.participants, ServicePreference.AUTO
        )
        message = Message(
            self._ids.next("message"),
            conversation.id,
            Direction.INBOUND,
            who,
            tuple(parts),
            service,
            DeliveryStatus.DELIVERED,
            self._now,
            sent_at=self._now,
            delivered_at=self._now,
        )
        self.messages[message.id] = message
        self.typing.get(conversation.id, set()).discard(who)
        self.outbox.append(MessageReceived(self._event_id(), self._now, conversation.id, message))
        self._apply_consent(who, conversation, message.parts)
        return message

    def _drop_inbound(
        self, sender: Handle, parts: Sequence[Part], conversation_id: str | None
    ) -> Message:
        """A message from a blocked handle: nothing is stored, no event; kept for tests."""
        message = Message(
            self._ids.next("message"),
            conversation_id or "",
            Direction.INBOUND,
            sender,
            tuple(parts),
            None,
            DeliveryStatus.DELIVERED,
            self._now,
        )
        self.dropped_inbound.append(message)
        return message

    # -- opt-outs, health and the blocklist ------------------------------------------

    def _apply_consent(
        self, person: Handle, conversation: Conversation, parts: Sequence[Part]
    ) -> None:
        """What an inbound message does to its sender's opt-out (the rule of ``consent``)."""
        if not conversation.is_group and is_opt_out_message(parts):
            self.opt_out_marks.add(conversation.id)
        change = consent_change(
            parts, is_group=conversation.is_group, opted_out=person in self.opted_out
        )
        if change is ConsentChange.OPTED_OUT:
            self.opted_out.add(person)
            self.outbox.append(OptedOut(self._event_id(), self._now, conversation.id, person))
        elif change is ConsentChange.OPTED_IN:
            self.opted_out.discard(person)
            self.outbox.append(OptedIn(self._event_id(), self._now, conversation.id, person))

    def is_opted_out(self, handle: Handle | str) -> bool:
        return as_handle(handle) in self.opted_out

    def health_of(self, conversation_id: str) -> ConversationHealth:
        """The conversation's health: ``OPTED_OUT`` where the keyword arrived while it holds."""
        conversation = self.conversation(conversation_id)
        if conversation_id in self.opt_out_marks and any(
            h in self.opted_out for h in conversation.participants
        ):
            return ConversationHealth.OPTED_OUT
        return self.health.get(conversation_id, ConversationHealth.HEALTHY)

    def set_health(self, conversation_id: str, health: ConversationHealth) -> None:
        """Set a conversation's health as the provider would judge it (``AT_RISK``...).

        A change is recorded as ``ConversationHealthChanged`` (with the health
        before it); setting the same health again records nothing.

        Raises:
            ValidationError: ``OPTED_OUT``, which only the person's keyword sets.
        """
        self.conversation(conversation_id)
        if health is ConversationHealth.OPTED_OUT:
            raise ValidationError("health", "only the person's opt-out keyword sets OPTED_OUT")
        previous = self.health.get(conversation_id, ConversationHealth.HEALTHY)
        self.health[conversation_id] = health
        if health is not previous:
            self.outbox.append(
                ConversationHealthChanged(
                    self._event_id(), self._now, conversation_id, health, previous
                )
            )

    def check_direct_send(
        self, participants: Sequence[Handle], *, override_optout: bool = False
    ) -> None:
        """Refuse, before anything is created or queued, a send the rules forbid.

        A 1:1 send to a blocked handle, or to someone opted out without
        ``override_optout``, is refused; a group send only when every member
        is blocked (opt-outs never restrict groups).

        Raises:
            BlockedError: 403 / 2026.
            OptedOutError: 403 / 2024.
        """
        handles = tuple(participants)
        if handles and all(self.is_blocked(h) for h in handles):
            raise BlockedError(
                "the recipient is on your blocklist; unblock them first",
                handle=handles[0],
                status=403,
                code=2026,
            )
        if len(handles) == 1 and handles[0] in self.opted_out and not override_optout:
            raise OptedOutError(
                "the recipient opted out; any message from them opts them back in",
                person=handles[0],
                status=403,
                code=2024,
            )

    def block(self, handle: Handle | str, *, reason: str | None = None) -> BlockedHandle:
        """Put ``handle`` on the blocklist; blocking again returns the existing entry."""
        blocked = blocklist_form(as_handle(handle))
        existing = self.blocklist.get(blocked)
        if existing is not None:
            return existing
        entry = BlockedHandle(blocked, self._now, reason)
        self.blocklist[blocked] = entry
        return entry

    def unblock(self, handle: Handle | str) -> bool:
        """Take ``handle`` off the blocklist; ``False`` when it was not on it."""
        return self.blocklist.pop(blocklist_form(as_handle(handle)), None) is not None

    def is_blocked(self, handle: Handle | str) -> bool:
        return blocklist_form(as_handle(handle)) in self.blocklist

    def blocked(self) -> list[BlockedHandle]:
        """The blocklist, newest first."""
        return sorted(self.blocklist.values(), key=lambda entry: entry.blocked_at, reverse=True)

    def receive_text(
        self, sender: Handle | str, text: str, *, conversation_id: str | None = None
    ) -> Message:
        return self.receive(sender, (TextPart(text),), conversation_id=conversation_id)

    def receive_reconciled(
        self,
        sender: Handle | str,
        parts: Sequence[Part],
        *,
        sent_at: datetime,
        conversation_id: str | None = None,
    ) -> Message:
        """A message sent at ``sent_at`` (in the past) is recovered late, by reconciliation.

        It is stamped ``reconciled_at`` = now and takes its place in history by
        its ``sent_at``, behind messages listed since: a reader that pages by
        time and never looks back skips it.
        """
        if sent_at > self._now:
            raise ValidationError("sent_at", "a reconciled message was sent in the past")
        message = self.receive(sender, parts, conversation_id=conversation_id)
        recovered = attrs.evolve(
            message,
            created_at=sent_at,
            sent_at=sent_at,
            delivered_at=sent_at,
            reconciled_at=self._now,
        )
        # Re-file it by time: every message created after it comes after it.
        rest = [(k, m) for k, m in self.messages.items() if k != message.id]
        at = next((i for i, (_, m) in enumerate(rest) if m.created_at > sent_at), len(rest))
        rest.insert(at, (message.id, recovered))
        self.messages.clear()
        self.messages.update(rest)
        event = self.outbox[-1]
        assert isinstance(event, MessageReceived)
        assert event.message.id == message.id
        self.outbox[-1] = attrs.evolve(event, message=recovered)
        return recovered

    def deliver_after_failure(self, message_id: str) -> Message:
        """A message reported failed is reported delivered after all (Linq does, rarely)."""
        message = self.message(message_id)
        if message.status is not DeliveryStatus.FAILED:
            raise ValidationError("message_id", f"{message_id} has not failed")
        delivered = attrs.evolve(message, status=DeliveryStatus.DELIVERED, delivered_at=self._now)
        self.messages[message_id] = delivered
        self.outbox.append(
            MessageStatusChanged(
                self._event_id(),
                self._now,
                message.conversation_id,
                message_id,
                DeliveryStatus.DELIVERED,
                service=message.service,
            )
        )
        return delivered

    def receive_contact_card(
        self,
        sender: Handle | str,
        first_name: str,
        last_name: str | None = None,
        *,
        media_url: str | None = None,
    ) -> ContactCardReceived:
        """``sender`` shares their contact card with the owner's line."""
        event = ContactCardReceived(
            self._event_id(),
            self._now,
            as_handle(sender),
            first_name,
            last_name,
            media_url,
            line=self.owner,
        )
        self.outbox.append(event)
        return event

    def set_line_status(
        self,
        status: LineStatus | None = None,
        reputation: LineReputation | None = None,
    ) -> LineStatusChanged:
        """The owner's line changes status (``FLAGGED``) or reputation (``CRITICAL``)."""
        event = LineStatusChanged(
            self._event_id(),
            self._now,
            self.owner,
            status=status or self.line_status,
            reputation=reputation or self.line_reputation,
            previous_status=self.line_status,
            previous_reputation=self.line_reputation,
        )
        self.line_status = event.status or self.line_status
        self.line_reputation = event.reputation or self.line_reputation
        self.outbox.append(event)
        return event

    def set_webhook_subscription(
        self, subscription_id: str, *, enabled: bool, deleted: bool = False
    ) -> WebhookSubscriptionChanged:
        """A webhook subscription is switched off, deleted or on again (an account event)."""
        change = "deleted" if deleted else "enabled" if enabled else "disabled"
        event = WebhookSubscriptionChanged(
            self._event_id(), self._now, subscription_id, enabled and not deleted, change
        )
        self.outbox.append(event)
        return event

    def receive_reaction(
        self, actor: Handle | str, message_id: str, reaction: Reaction, *, part_index: int = 0
    ) -> ReactionRecord:
        """Someone in the conversation reacts to a message."""
        who = as_handle(actor)
        conversation = self.conversation(self.message(message_id).conversation_id)
        if who not in conversation.participants:
            raise ValidationError("actor", f"{who} is not in conversation {conversation.id}")
        return self.react(message_id, reaction, actor=who, part_index=part_index)

    # -- reactions ----------------------------------------------------------------

    def react(
        self,
        message_id: str,
        reaction: Reaction,
        *,
        actor: Handle | None = None,
        part_index: int = 0,
    ) -> ReactionRecord:
        """Add a reaction by ``actor`` (the owner by default) and record its event."""
        message = self.message(message_id)
        self._check_part_index(message, part_index)
        who = actor or self.owner
        record = ReactionRecord(message_id, reaction, who, part_index, self._now)
        self.reactions.append(record)
        self.outbox.append(
            ReactionAdded(
                self._event_id(),
                self._now,
                message.conversation_id,
                message_id,
                reaction,
                who,
                part_index,
                is_from_me=who == self.owner,
            )
        )
        return record

    def unreact(
        self,
        message_id: str,
        reaction: Reaction,
        *,
        actor: Handle | None = None,
        part_index: int = 0,
    ) -> bool:
        """Remove a reaction; ``False`` (and no event) when there was none to remove."""
        message = self.message(message_id)
        self._check_part_index(message, part_index)
        who = actor or self.owner
        for index, record in enumerate(self.reactions):
            if (record.message_id, record.reaction, record.actor, record.part_index) == (
                message_id,
                reaction,
                who,
                part_index,
            ):
                del self.reactions[index]
                self.outbox.append(
                    ReactionRemoved(
                        self._event_id(),
                        self._now,
                        message.conversation_id,
                        message_id,
                        reaction,
                        who,
                        part_index,
                        is_from_me=who == self.owner,
                    )
                )
                return True
        return False

    def reactions_on(self, message_id: str) -> list[ReactionRecord]:
        return [r for r in self.reactions if r.message_id == message_id]

    @staticmethod
    def _check_part_index(message: Message, part_index: int) -> None:
        if not 0 <= part_index < len(message.parts):
            raise ValidationError(
                "part_index", f"{part_index} is not a part of a {len(message.parts)}-part message"
            )

    # -- polls --------------------------------------------------------------------

    def poll(self, poll_id: str) -> Poll:
        """The native poll whose message has this id.

        Raises:
            NotFoundError: no poll has this id.
        """
        try:
            return self.polls[poll_id]
        except KeyError:
            raise NotFoundError(f"poll {poll_id!r} not found", status=404, code=2001) from None

    def send_poll(
        self,
        conversation_id: str,
        options: Sequence[str],
        *,
        idempotency_key: str | None = None,
    ) -> tuple[Message, Poll]:
        """The owner sends a native poll; a repeated key returns the first one, unchanged.

        Raises:
            NotFoundError: unknown conversation.
            ValidationError: fewer than 2 options, a blank one, a group the owner
                left, or a conversation that is not on iMessage (polls are iMessage only).
            OptedOutError, BlockedError: a 1:1 poll to someone opted out or blocked.
        """
        if idempotency_key is not None and idempotency_key in self.idempotency_keys:
            message = self.messages[self.idempotency_keys[idempotency_key]]
            return message, self.poll(message.id)
        conversation = self.conversation(conversation_id)
        if self.has_left(conversation_id):
            raise ValidationError("conversation_id", "the owner left this group")
        self.check_direct_send(conversation.participants)
        self._check_poll_options(options, minimum=2)
        service = conversation.service or self.pick_service(
            conversation.participants, ServicePreference.AUTO
        )
        if service is not Service.IMESSAGE:
            label = service.label if service is not None else "no service"
            raise ValidationError("conversation_id", f"polls are iMessage only; this is {label}")
        message = Message(
            self._ids.next("message"),
            conversation_id,
            Direction.OUTBOUND,
            self.owner,
            (),
            service,
            DeliveryStatus.PENDING,
            self._now,
        )
        self.messages[message.id] = message
        if idempotency_key is not None:
            self.idempotency_keys[idempotency_key] = message.id
            self.message_keys[message.id] = idempotency_key
        poll = Poll(
            message.id,
            conversation_id,
            [self._new_option(text, self.owner) for text in options],
            creator=self.owner,
        )
        self.polls[message.id] = poll
        self._schedule_delivery(message, self._failure_for(conversation, service))
        return message, poll

    def receive_poll(
        self, sender: Handle | str, options: Sequence[str], *, conversation_id: str | None = None
    ) -> Poll:
        """Someone else's poll arrives (in their 1:1 conversation unless one is named).

        Records ``PollReceived``.
        """
        who = as_handle(sender)
        self._check_poll_options(options, minimum=2)
        if conversation_id is None:
            conversation = self.create_conversation([who])
        else:
            conversation = self.conversation(conversation_id)
            if who not in conversation.participants:
                raise ValidationError("sender", f"{who} is not in conversation {conversation_id}")
        message = Message(
            self._ids.next("message"),
            conversation.id,
            Direction.INBOUND,
            who,
            (),
            Service.IMESSAGE,
            DeliveryStatus.DELIVERED,
            self._now,
            sent_at=self._now,
            delivered_at=self._now,
        )
        self.messages[message.id] = message
        poll = Poll(
            message.id,
            conversation.id,
            [self._new_option(text, who) for text in options],
            creator=who,
        )
        self.polls[message.id] = poll
        self.outbox.append(PollReceived(self._event_id(), self._now, conversation.id, poll))
        return poll

    def add_poll_options(
        self, poll_id: str, options: Sequence[str], *, creator: Handle | None = None
    ) -> Poll:
        """Append options to a poll (options are add-only); records ``PollOptionsAdded``."""
        poll = self.poll(poll_id)
        who = creator or self.owner
        self._check_voter(poll, who, "creator")
        self._check_poll_options(options, minimum=1)
        added = tuple(self._new_option(text, who) for text in options)
        updated = attrs.evolve(poll, options=(*poll.options, *added))
        self.polls[poll_id] = updated
        self.outbox.append(
            PollOptionsAdded(self._event_id(), self._now, poll.conversation_id, poll_id, added)
        )
        return updated

    def vote(
        self,
        voter: Handle | str,
        poll_id: str,
        option_id: str,
        *,
        remove: bool = False,
    ) -> Poll:
        """``voter`` (a participant, or the owner) votes for an option, or takes the vote back.

        Records ``PollVoteAdded`` / ``PollVoteRemoved`` when something changed;
        voting twice for one option, or removing a vote never given, changes nothing.

        Raises:
            NotFoundError: no poll has this id.
            ValidationError: no such option, or the voter is not in the conversation.
        """
        poll = self.poll(poll_id)
        who = as_handle(voter)
        self._check_voter(poll, who, "voter")
        index = poll.index_of(option_id)
        if index is None:
            raise ValidationError("option_id", f"{option_id!r} is not an option of this poll")
        option = poll.options[index]
        has_voted = who in option.voters
        if has_voted != remove:
            return poll
        votes = (
            tuple(v for v in option.votes if v.voter != who)
            if remove
            else (*option.votes, PollVote(who, self._now))
        )
        options = list(poll.options)
        options[index] = attrs.evolve(option, votes=votes)
        updated = attrs.evolve(poll, options=options)
        self.polls[poll_id] = updated
        event_type = PollVoteRemoved if remove else PollVoteAdded
        self.outbox.append(
            event_type(
                self._event_id(),
                self._now,
                poll.conversation_id,
                poll_id,
                option_id,
                who,
                option_index=index,
                option_text=option.text,
            )
        )
        return updated

    def _new_option(self, text: str, creator: Handle) -> PollOption:
        return PollOption(self._ids.next("option"), text, creator=creator)

    def _check_voter(self, poll: Poll, who: Handle, field: str) -> None:
        conversation = self.conversation(poll.conversation_id)
        if who != self.owner and who not in conversation.participants:
            raise ValidationError(field, f"{who} is not in conversation {conversation.id}")

    @staticmethod
    def _check_poll_options(options: Sequence[str], *, minimum: int) -> None:
        if isinstance(options, str) or len(options) < minimum:
            raise ValidationError("options", f"give at least {minimum} option texts")
        for index, text in enumerate(options):
            if not isinstance(text, str) or not text.strip():
                raise ValidationError(f"options[{index}]", "must be non-blank text")

    # -- typing, read state, contact card ------------------------------------------

    def set_typing(
        self, conversation_id: str, typing: bool, *, handle: Handle | None = None
    ) -> None:
        """Start or stop ``handle`` typing (the owner by default).

        Other people's typing produces an event; the owner's own is only state.
        """
        conversation = self.conversation(conversation_id)
        who = handle or self.owner
        if who != self.owner and who not in conversation.participants:
            raise ValidationError("handle", f"{who} is not in conversation {conversation_id}")
        typists = self.typing.setdefault(conversation_id, set())
        if (who in typists) == typing:
            return
        if typing:
            typists.add(who)
        else:
            typists.discard(who)
        if who != self.owner:
            event_type = TypingStarted if typing else TypingStopped
            self.outbox.append(event_type(self._event_id(), self._now, conversation_id, who))

    def mark_read(self, conversation_id: str) -> int:
        """The owner reads every inbound message of the conversation; returns how many."""
        self.conversation(conversation_id)
        count = 0
        for message in self.history(conversation_id):
            if message.direction is Direction.INBOUND and message.status is not DeliveryStatus.READ:
                self.messages[message.id] = attrs.evolve(
                    message, status=DeliveryStatus.READ, read_at=self._now
                )
                count += 1
        return count

    def share_contact_card(self, conversation_id: str) -> None:
        self.conversation(conversation_id)
        self.contact_cards_shared.append(conversation_id)

    # -- attachments ----------------------------------------------------------------

    def upload(self, data: bytes, *, filename: str, content_type: str) -> Attachment:
        """Store an uploaded file and return it as an attachment to send later."""
        return self.store_upload(
            self._ids.next("attachment"), data, filename=filename, content_type=content_type
        )

    def store_upload(
        self,
        attachment_id: str,
        data: bytes,
        *,
        filename: str,
        content_type: str,
        download_url: str | None = None,
    ) -> Attachment:
        """Like :meth:`upload`, under an id the provider announced before the bytes came."""
        attachment = Attachment(
            attachment_id,
            filename,
            content_type,
            len(data),
            download_url=download_url or f"https://attachments.invalid/{attachment_id}/{filename}",
        )
        self.attachments[attachment_id] = attachment
        self.attachment_data[attachment_id] = bytes(data)
        return attachment

    def attachment(self, attachment_id: str) -> Attachment:
        try:
            return self.attachments[attachment_id]
        except KeyError:
            raise NotFoundError(
                f"attachment {attachment_id!r} not found", status=404, code=2001
            ) from None


def _page(items: list[_T], cursor: str | None, limit: int) -> tuple[list[_T], str | None]:
    if limit < 1:
        raise ValidationError("limit", "must be at least 1")
    try:
        start = int(cursor) if cursor is not None else 0
    except ValueError:
        raise ValidationError("cursor", f"{cursor!r} is not a cursor this world issued") from None
    if start < 0:
        raise ValidationError("cursor", f"{cursor!r} is not a cursor this world issued")
    page = items[start : start + limit]
    following = start + limit
    return page, (str(following) if following < len(items) else None)
