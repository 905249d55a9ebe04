"""Reactions, typing, read state, contact cards and uploads in the world (private)."""

from __future__ import annotations

import attrs

from adapters.memory._state import ReactionRecord, WorldState
from caresupport_transport.content import Reaction
from caresupport_transport.errors import ValidationError
from caresupport_transport.events import (
    ReactionAdded,
    ReactionRemoved,
    TypingStarted,
    TypingStopped,
)
from caresupport_transport.handles import Handle
from caresupport_transport.model import Attachment, DeliveryStatus, Direction, Message

__all__ = ["SocialMixin"]


class SocialMixin(WorldState):
    """What people do around messages: react, type, read, share a card, upload."""

    # -- reactions, typing, read state, contact card ----------------------------

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

    # -- attachments and groups ------------------------------------------------

    def upload(self, data: bytes, *, filename: str, content_type: str) -> Attachment:
        """Store an uploaded file and return it as an attachment to send later."""
        attachment_id = self._ids.next("attachment")
        attachment = Attachment(
            attachment_id,
            filename,
            content_type,
            len(data),
            download_url=f"https://attachments.invalid/{attachment_id}/{filename}",
        )
        self.attachments[attachment_id] = attachment
        self.attachment_data[attachment_id] = bytes(data)
        return attachment
