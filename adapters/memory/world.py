"""A technology-neutral, in-memory model of how messaging behaves, on a virtual clock.

The :class:`World` plays the provider's part: it keeps recipients and what they
can be reached on, conversations, messages, reactions, typing and read state,
attachments, and turns everything that happens into the matching domain event
in :attr:`World.outbox`. It is synchronous and does no I/O, so both the
in-memory ``Transport`` and an HTTP simulator of the provider can stand on it.
It knows nothing of the fallback *policy*: given ``AUTO`` it picks iMessage ->
RCS -> SMS by what every participant can use, and a pinned service some
participant lacks makes the message fail, as the provider does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import attrs

from adapters.memory._membership import MembershipMixin
from adapters.memory._social import SocialMixin
from adapters.memory._state import (
    DEFAULT_OWNER,
    DEFAULT_START,
    MIN_GROUP_SIZE,
    ReactionRecord,
    as_handle,
)
from adapters.memory.recipients import RecipientKind
from caresupport_transport.capabilities import Service, ServicePreference, capabilities_of
from caresupport_transport.content import Effect, MediaPart, Part, Reaction, ReplyTo, TextPart
from caresupport_transport.errors import ValidationError
from caresupport_transport.events import ConversationUpdated, MessageEdited, MessageReceived
from caresupport_transport.handles import Handle
from caresupport_transport.model import (
    Attachment,
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
)

__all__ = ["DEFAULT_OWNER", "DEFAULT_START", "MIN_GROUP_SIZE", "ReactionRecord", "World"]


class World(SocialMixin, MembershipMixin):
    """Recipients, conversations and messages, and the events they produce.

    Everything is a plain attribute tests may read. Ids and event ids are
    deterministic: the same seed and the same calls give the same ids.

    Args:
        owner: the handle the owner sends from.
        seed: seeds every id.
        delays: when delivery statuses move on.
        start: the virtual clock's starting time.
        default_kind: how a handle no one registered behaves.
    """

    # -- sending --------------------------------------------------------------

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
    ) -> Message:
        """Send from the owner; a repeated idempotency key returns the first message, unchanged.

        The message starts ``pending`` and moves on as the clock advances; it
        fails when no service reaches everyone, a pinned service is missing,
        a participant is unreachable, or a failure was injected.

        Raises:
            NotFoundError: unknown conversation, reply target or attachment.
            ValidationError: a reply to a message of another conversation.
        """
        if idempotency_key is not None and idempotency_key in self.idempotency_keys:
            return self.messages[self.idempotency_keys[idempotency_key]]
        conversation = self.conversation(conversation_id)
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
        if idempotency_key is not None:
            self.idempotency_keys[idempotency_key] = message.id
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

    # -- what the outside world does (test-side injection) ---------------------

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
        return message

    def receive_text(
        self, sender: Handle | str, text: str, *, conversation_id: str | None = None
    ) -> Message:
        return self.receive(sender, (TextPart(text),), conversation_id=conversation_id)

    def receive_reaction(
        self, actor: Handle | str, message_id: str, reaction: Reaction, *, part_index: int = 0
    ) -> ReactionRecord:
        """Someone in the conversation reacts to a message."""
        who = as_handle(actor)
        conversation = self.conversation(self.message(message_id).conversation_id)
        if who not in conversation.participants:
            raise ValidationError("actor", f"{who} is not in conversation {conversation.id}")
        return self.react(message_id, reaction, actor=who, part_index=part_index)

    # -- provider-side changes a provider simulator serves (edit, rename, upload) --

    def edit(self, message_id: str, part_index: int, text: str) -> Message:
        """Replace the text of one text part of a message, recording ``MessageEdited``.

        Raises:
            NotFoundError: unknown message.
            ValidationError: ``part_index`` is not a text part, or ``text`` is not valid text.
        """
        message = self.message(message_id)
        if not 0 <= part_index < len(message.parts) or not isinstance(
            message.parts[part_index], TextPart
        ):
            raise ValidationError("part_index", f"{part_index} is not a text part of the message")
        new_part = TextPart(text)
        parts = (*message.parts[:part_index], new_part, *message.parts[part_index + 1 :])
        updated = attrs.evolve(message, parts=parts)
        self.messages[message_id] = updated
        self.outbox.append(
            MessageEdited(
                self._event_id(),
                self._now,
                message.conversation_id,
                message_id,
                (new_part,),
                part_index=part_index,
            )
        )
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
