"""The provider port: the primitives a messaging provider offers, and nothing more.

:class:`~caresupport_transport.transport.ProviderTransport` carries out the
whole :class:`~caresupport_transport.port.Transport` port over any
:class:`Provider`: input checks, idempotency keys, per-conversation order, the
fallback plan and its degradations, first-contact rules, split bubbles, re-sends
on failure, tapbacks as text and receipts are written there once. A provider
only does what it alone knows: talk to its service (or, for the in-memory one,
to a ``World``) and say what it got back, in domain values.

Every argument a provider receives has been checked already; every value it
returns is a domain value. A provider raises the library's errors
(``NotFoundError``, ``ProviderError``, ``UnreachableError``...), never its
technology's.

``docs/adapters.md`` walks through writing one, with the memory provider as
the worked example.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

import attrs

from caresupport_transport.capabilities import HandleCapabilities, Service
from caresupport_transport.content import OutgoingMessage, Reaction, TextPart, VoiceMemo
from caresupport_transport.handles import Handle
from caresupport_transport.model import (
    Attachment,
    BlockedHandle,
    Conversation,
    DeliveryStatus,
    Message,
)
from caresupport_transport.polls import Poll

__all__ = ["Provider", "Sent"]


@attrs.frozen
class Sent:
    """What the provider says of one message it was asked to send.

    Attributes:
        message_id: the provider's id of the message (the first one made under
            the key, when the key had been used before).
        conversation_id: the conversation it went into (for a first message, the
            one it opened).
        service: the service the provider used, or ``None`` when it has not said
            (then the planned one is assumed).
        status: the delivery status as the provider reported it.
        new: ``False`` when the provider knows the key had been used before and
            nothing new was made; ``True`` when it made a message or cannot tell.
        opt_out_overridden: the people the provider says had opted out and were
            sent this because of ``override_optout`` (empty when it does not say).
    """

    message_id: str
    conversation_id: str
    service: Service | None
    status: DeliveryStatus
    new: bool = True
    opt_out_overridden: tuple[Handle, ...] = ()


class Provider(Protocol):
    """The primitives of a messaging provider, for :class:`ProviderTransport`.

    Sends take the *planned* ``service`` and whether the caller ``pinned`` it:
    an unpinned send may let the provider fall back by itself (Linq does), a
    pinned one must go by that service or fail. Sends are idempotent under
    ``idempotency_key``: the same key never makes a second message.

    A send refused because the person opted out raises ``OptedOutError``
    (naming them); one to a handle on our blocklist raises ``BlockedError``.
    ``override_optout`` lets one send through an opt-out (a final courtesy
    message); the transport has checked it already.
    """

    @property
    def line(self) -> Handle | None:
        """Our own line, when known (it is never a participant)."""
        ...

    async def capabilities(self, handle: Handle) -> HandleCapabilities:
        """What ``handle`` can be reached on, as far as the provider can tell."""
        ...

    async def conversation_for(self, handle: Handle) -> Conversation:
        """The 1:1 conversation with ``handle``; one that does not exist yet is *unopened*."""
        ...

    def is_unopened(self, conversation: Conversation) -> bool:
        """Whether no message has been exchanged in ``conversation`` yet.

        Its next message opens the chat, and the rules of a chat's first message
        apply (no effect, no reply, no URL).
        """
        ...

    async def conversation(self, conversation_id: str) -> Conversation:
        """The conversation a send or an action goes into (a recent read may serve)."""
        ...

    async def get_conversation(self, conversation_id: str) -> Conversation:
        """The conversation as it is now (read afresh: group changes need that)."""
        ...

    def conversations(self, page_size: int) -> AsyncIterator[Conversation]:
        """Every conversation, page by page."""
        ...

    async def get_message(self, message_id: str) -> Message:
        """One message by id; ``NotFoundError`` when there is none."""
        ...

    def messages(self, conversation_id: str, page_size: int) -> AsyncIterator[Message]:
        """A conversation's history, newest first, page by page."""
        ...

    async def start(
        self,
        participants: Sequence[Handle],
        message: OutgoingMessage,
        *,
        service: Service,
        pinned: bool,
        idempotency_key: str,
        override_optout: bool = False,
    ) -> tuple[Conversation, Sent]:
        """Create the chat with exactly ``participants`` (or reuse it) by sending ``message``."""
        ...

    async def open(
        self,
        conversation: Conversation,
        message: OutgoingMessage,
        *,
        service: Service,
        pinned: bool,
        idempotency_key: str,
        override_optout: bool = False,
    ) -> Sent:
        """Send the first message of an unopened 1:1 ``conversation``, which opens it."""
        ...

    async def send(
        self,
        conversation_id: str,
        message: OutgoingMessage,
        *,
        service: Service,
        pinned: bool,
        idempotency_key: str,
        override_optout: bool = False,
    ) -> Sent:
        """Send one planned message into an existing conversation."""
        ...

    async def send_voice_memo(
        self,
        conversation_id: str,
        memo: VoiceMemo,
        *,
        service: Service,
        idempotency_key: str,
        override_optout: bool = False,
    ) -> Sent:
        """Send ``memo`` as a native voice memo (the plan chose one: iMessage)."""
        ...

    async def edit(self, message_id: str, part_index: int, text: TextPart) -> None:
        """Replace the text of one text part of our own message, in place.

        Raises:
            EditRefusedError: the provider refuses the edit by its limits (too
                many edits, too late, a service without edits); nothing changed.
            UnsupportedError: the provider cannot edit messages at all.
        """
        ...

    async def react(self, message_id: str, reaction: Reaction, part_index: int) -> None:
        """Add our tapback to a part of a message (checked, and supported, already)."""
        ...

    async def remove_reaction(self, message_id: str, reaction: Reaction, part_index: int) -> bool:
        """Take our tapback back; ``False`` when the provider knows there was none."""
        ...

    async def set_typing(self, conversation_id: str, typing: bool) -> None:
        """Show (``True``) or hide (``False``) our typing indicator in the conversation."""
        ...

    async def mark_read(self, conversation_id: str) -> None:
        """Send a read receipt for the conversation."""
        ...

    async def share_contact_card(self, conversation_id: str) -> None:
        """Share our line's contact card into the conversation."""
        ...

    async def add_participant(self, conversation: Conversation, handle: Handle) -> Conversation:
        """Add ``handle`` to the group (checked already); the group as it is now."""
        ...

    async def remove_participant(self, conversation: Conversation, handle: Handle) -> Conversation:
        """Remove ``handle`` from the group (checked already); the group as it is now."""
        ...

    async def upload(self, data: bytes, *, filename: str, content_type: str) -> Attachment:
        """Store a file with the provider, to send as ``MediaPart(attachment_id=...)``."""
        ...

    @property
    def has_polls(self) -> bool:
        """Whether the provider sends native polls (iMessage); if not, polls are numbered text."""
        ...

    async def send_poll(
        self, conversation_id: str, options: Sequence[str], *, idempotency_key: str
    ) -> tuple[Sent, Poll]:
        """Send a native poll into an existing iMessage conversation (checked already).

        Idempotent under ``idempotency_key``, as sends are.
        """
        ...

    async def get_poll(self, poll_id: str) -> Poll:
        """A native poll and its votes; ``NotFoundError`` when no poll has this id."""
        ...

    def conversation_changed(self, conversation_id: str) -> None:
        """An inbound event says the conversation's members or name changed (forget caches)."""
        ...

    async def block(self, handle: Handle, *, reason: str | None) -> BlockedHandle:
        """Put ``handle`` on our blocklist (blocking again gives the existing entry)."""
        ...

    async def unblock(self, handle: Handle) -> None:
        """Take ``handle`` off our blocklist (nothing happens if it was not on it)."""
        ...

    async def blocked(self) -> tuple[BlockedHandle, ...]:
        """Our blocklist, newest first."""
        ...
