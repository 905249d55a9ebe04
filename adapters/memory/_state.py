"""The state of the in-memory world and the parts every operation needs (private)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import attrs

from adapters.memory._ids import IdFactory
from adapters.memory.delivery import DeliveryDelays, StatusSchedule
from adapters.memory.recipients import RecipientKind, capabilities_for, services_for
from caresupport_transport import limits
from caresupport_transport.capabilities import (
    FALLBACK_ORDER,
    HandleCapabilities,
    Service,
    ServicePreference,
)
from caresupport_transport.checks import MIN_GROUP_SIZE
from caresupport_transport.content import Reaction
from caresupport_transport.errors import NotFoundError, ValidationError
from caresupport_transport.events import (
    ConversationCreated,
    InboundEvent,
    MessageStatusChanged,
)
from caresupport_transport.handles import Handle
from caresupport_transport.model import Attachment, Conversation, DeliveryStatus, Message

__all__ = [
    "DEFAULT_OWNER",
    "DEFAULT_START",
    "MIN_GROUP_SIZE",
    "ReactionRecord",
    "WorldState",
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
class WorldState:
    """Recipients, conversations, messages and the clock; see :class:`World`."""

    owner: Handle = attrs.field(default=DEFAULT_OWNER, converter=as_handle)
    seed: int = 0
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

    def __attrs_post_init__(self) -> None:
        self._now = self.start
        self._ids = IdFactory(self.seed)

    # -- recipients ---------------------------------------------------------

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

    # -- clock and events ---------------------------------------------------

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

    # -- conversations --------------------------------------------------------

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
        self.outbox.append(
            ConversationCreated(self._event_id(), self._now, conversation.id, conversation)
        )
        return conversation

    def page_conversations(
        self, cursor: str | None, limit: int
    ) -> tuple[list[Conversation], str | None]:
        """One page of conversations, oldest first, and the cursor of the next (or ``None``)."""
        items = list(self.conversations.values())
        return _page(items, cursor, limit)

    def history(self, conversation_id: str) -> list[Message]:
        """A conversation's messages, newest first."""
        self.conversation(conversation_id)
        found = [m for m in self.messages.values() if m.conversation_id == conversation_id]
        return found[::-1]

    def page_messages(
        self, conversation_id: str, cursor: str | None, limit: int
    ) -> tuple[list[Message], str | None]:
        """One page of a conversation's messages, newest first, and the next cursor."""
        return _page(self.history(conversation_id), cursor, limit)

    def message(self, message_id: str) -> Message:
        try:
            return self.messages[message_id]
        except KeyError:
            raise NotFoundError(
                f"message {message_id!r} not found", status=404, code=2001
            ) from None

    def attachment(self, attachment_id: str) -> Attachment:
        try:
            return self.attachments[attachment_id]
        except KeyError:
            raise NotFoundError(
                f"attachment {attachment_id!r} not found", status=404, code=2001
            ) from None

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
