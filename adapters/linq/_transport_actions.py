"""``LinqTransport``'s actions: reactions, typing, read receipts, members, files (private)."""

from __future__ import annotations

import hashlib

from adapters.linq._pending import handle_of, is_pending
from adapters.linq._transport_core import TransportCore
from caresupport_transport import checks
from caresupport_transport.capabilities import (
    Availability,
    Feature,
    HandleCapabilities,
    Service,
)
from caresupport_transport.content import OutgoingMessage, Reaction, TextPart
from caresupport_transport.errors import ValidationError
from caresupport_transport.handles import Handle
from caresupport_transport.model import (
    ActionResult,
    Attachment,
    Conversation,
    Degradation,
    DegradationAction,
    Message,
)
from caresupport_transport.policy import plan_action, plan_reaction

__all__ = ["ActionsMixin", "tapback_key"]


def tapback_key(message_id: str, reaction: Reaction, part_index: int) -> str:
    """The idempotency key of a tapback sent as text: the same tapback is one text, ever.

    Adding the same tapback twice leaves one on iMessage; as text, the second
    send replays the first. Hashed, since a custom emoji cannot go in a header.
    """
    what = f"{message_id}|{part_index}|{reaction.kind.value}|{reaction.emoji or ''}"
    return "tapback-" + hashlib.sha256(what.encode()).hexdigest()[:40]


class ActionsMixin(TransportCore):
    # -- reactions ------------------------------------------------------------------

    async def react(
        self, message_id: str, reaction: Reaction, *, part_index: int = 0
    ) -> ActionResult:
        """A tapback; on SMS the policy sends it as text quoting the message, skips it or fails."""
        return await self._reaction(message_id, reaction, part_index, removing=False)

    async def remove_reaction(
        self, message_id: str, reaction: Reaction, *, part_index: int = 0
    ) -> ActionResult:
        """Take a tapback back; skipped (and reported) where tapbacks do not exist."""
        return await self._reaction(message_id, reaction, part_index, removing=True)

    async def _reaction(
        self, message_id: str, reaction: Reaction, part_index: int, *, removing: bool
    ) -> ActionResult:
        checked = checks.check_reaction(reaction)
        index = checks.check_part_index(part_index)
        target = await self.get_message(message_id)
        if index >= len(target.parts):
            raise ValidationError(
                "part_index", f"{index} is not a part of a {len(target.parts)}-part message"
            )
        service = target.service or await self._service_of_chat(target.conversation_id)
        part = target.parts[index]
        quoted = part.text if isinstance(part, TextPart) else target.text
        plan = plan_reaction(checked, service, quoted, self.policy, removing=removing)
        if plan.reaction is not None:
            if removing:
                await self._client.remove_reaction(message_id, plan.reaction, part_index=index)
            else:
                await self._client.react(message_id, plan.reaction, part_index=index)
            return ActionResult(True, plan.degradations)
        if plan.text is not None:
            message_id = await self._tapback_as_text(target, service, plan.text, checked, index)
            return ActionResult(True, plan.degradations, message_id=message_id)
        return ActionResult(False, plan.degradations)

    async def _tapback_as_text(
        self,
        target: Message,
        service: Service,
        text: str,
        reaction: Reaction,
        index: int,
    ) -> str:
        """Send the tapback's text into the message's chat, on the message's service."""
        sent = await self._client.send_message(
            target.conversation_id,
            OutgoingMessage((TextPart(text),)),
            preferred_service=service,
            idempotency_key=tapback_key(target.id, reaction, index),
        )
        return sent.message.id

    async def _service_of_chat(self, chat_id: str) -> Service:
        service = await self._service_for(await self._known_conversation(chat_id))
        # As for other actions, an unknown service is left to Linq: try the tapback.
        return service or Service.IMESSAGE

    # -- contentless actions -----------------------------------------------------------

    async def _action(
        self, conversation_id: str, feature: Feature
    ) -> tuple[Conversation, ActionResult]:
        """The chat, and whether ``feature`` is performed there (or why it is skipped)."""
        conversation = await self._known_conversation(conversation_id)
        if is_pending(conversation.id):
            reason = f"no chat with {handle_of(conversation.id)} yet; its first message opens it"
            skipped = Degradation(feature, DegradationAction.SKIPPED, reason)
            return conversation, ActionResult(False, (skipped,))
        service = await self._service_for(conversation)
        skip = plan_action(feature, service, is_group=conversation.is_group)
        if skip is not None:
            return conversation, ActionResult(False, (skip,))
        return conversation, ActionResult(True)

    async def start_typing(self, conversation_id: str) -> ActionResult:
        """The typing indicator (iMessage 1:1 only; skipped and reported elsewhere)."""
        conversation, result = await self._action(conversation_id, Feature.TYPING)
        if result.performed:
            await self._client.start_typing(conversation.id)
        return result

    async def stop_typing(self, conversation_id: str) -> ActionResult:
        conversation, result = await self._action(conversation_id, Feature.TYPING)
        if result.performed:
            await self._client.stop_typing(conversation.id)
        return result

    async def mark_read(self, conversation_id: str) -> ActionResult:
        """A read receipt (not on SMS: skipped and reported)."""
        conversation, result = await self._action(conversation_id, Feature.READ_RECEIPT)
        if result.performed:
            await self._client.mark_read(conversation.id)
        return result

    async def share_contact_card(self, conversation_id: str) -> ActionResult:
        """Share the line's contact card (``POST /v3/my_cards/{chatId}/share``; iMessage only)."""
        conversation, result = await self._action(conversation_id, Feature.CONTACT_CARD)
        if result.performed:
            await self._client.share_my_card(conversation.id)
        return result

    # -- groups, attachments, capabilities ------------------------------------------

    async def add_participant(self, conversation_id: str, handle: Handle) -> Conversation:
        """Add to a group of 3+ (Linq's rule), someone who can use the group's service.

        Linq queues the change (``202``); the conversation returned includes the
        new participant.

        Raises:
            ValidationError: not a group of 3+, already in it, or cannot use its service.
        """
        checked = checks.check_handle(handle)
        conversation = await self.get_conversation(conversation_id)
        checks.check_can_add(conversation, checked, self._line)
        service = conversation.service
        if service is not None:
            found = await self.capability_cache.lookup(checked)
            if found.availability(service) is Availability.UNAVAILABLE:
                raise ValidationError(
                    "handle",
                    f"{checked} cannot use the group's service {service.label}; "
                    "start a new conversation instead",
                )
        await self._client.add_participant(conversation.id, checked)
        participants = (*conversation.participants, checked)
        changed = Conversation(
            conversation.id, participants, True, conversation.service, conversation.display_name
        )
        self._remember_conversation(changed)
        return changed

    async def remove_participant(self, conversation_id: str, handle: Handle) -> Conversation:
        """Remove from a group, leaving 3+ (Linq's rule).

        Raises:
            ValidationError: not in the group, or fewer than 3 would be left.
        """
        checked = checks.check_handle(handle)
        conversation = await self.get_conversation(conversation_id)
        checks.check_can_remove(conversation, checked)
        await self._client.remove_participant(conversation.id, checked)
        participants = tuple(h for h in conversation.participants if h != checked)
        changed = Conversation(
            conversation.id, participants, True, conversation.service, conversation.display_name
        )
        self._remember_conversation(changed)
        return changed

    async def upload_attachment(
        self, data: bytes, *, filename: str, content_type: str
    ) -> Attachment:
        """Upload a file (request, then PUT) to send as ``MediaPart(attachment_id=...)``."""
        raw = checks.check_upload(data, filename, content_type)
        return await self._client.upload(raw, filename, content_type)

    async def capabilities(self, handle: Handle) -> HandleCapabilities:
        """iMessage and RCS as Linq checks them (cached); SMS assumed for phone numbers."""
        return await self.capability_cache.lookup(checks.check_handle(handle))
