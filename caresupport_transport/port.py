"""The ``Transport`` port: everything care logic may ask of a messaging channel.

Adapters do not inherit from it; ``tests/typing`` assigns each adapter to a
``Transport`` variable so that ``mypy --strict`` proves conformance.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol

from caresupport_transport.capabilities import HandleCapabilities, ServicePreference
from caresupport_transport.content import OutgoingMessage, Reaction, VoiceMemo
from caresupport_transport.events import InboundEvent
from caresupport_transport.handles import Handle
from caresupport_transport.model import (
    ActionResult,
    Attachment,
    BlockedHandle,
    Conversation,
    CorrectionReceipt,
    Message,
    SendReceipt,
    StartedConversation,
)
from caresupport_transport.polls import Poll, PollReceipt

__all__ = ["InboundHandler", "Transport"]

InboundHandler = Callable[[InboundEvent], Awaitable[None]]
"""The care logic's handler; raising means "not handled, deliver again"."""


class Transport(Protocol):
    """A channel to people: conversations, messages, reactions and inbound events.

    Every method validates its input before any I/O and raises
    :class:`~caresupport_transport.errors.ValidationError` for bad input. Sends
    take an ``idempotency_key``: sending twice under one key creates one message.
    When none is given the adapter makes one, returned on the receipt.

    A direct (1:1) send to someone who opted out raises ``OptedOutError``, before
    any I/O when the transport has heard of it (``OptedOut`` events, chat health,
    an earlier refusal); ``override_optout=True`` lets one final courtesy message
    through and the receipt names them in ``opt_out_overridden``. Group sends are
    never refused for an opt-out. A direct send to a handle on our blocklist
    raises ``BlockedError``.
    """

    async def start_conversation(
        self,
        participants: Sequence[Handle],
        first_message: OutgoingMessage,
        *,
        preference: ServicePreference = ServicePreference.AUTO,
        idempotency_key: str | None = None,
        override_optout: bool = False,
    ) -> StartedConversation:
        """Create a 1:1 (one participant) or group chat and send its first message.

        The first message may carry no URL, effect or reply (providers refuse them).
        """
        ...

    async def send_message(
        self,
        conversation_id: str,
        message: OutgoingMessage,
        *,
        preference: ServicePreference = ServicePreference.AUTO,
        idempotency_key: str | None = None,
        override_optout: bool = False,
    ) -> SendReceipt:
        """Send into an existing conversation, degrading what the service cannot carry."""
        ...

    def conversations(self, *, page_size: int = 50) -> AsyncIterator[Conversation]:
        """Every conversation, fetched page by page as the iteration goes."""
        ...

    async def get_conversation(self, conversation_id: str) -> Conversation:
        """One conversation by id; ``NotFoundError`` when there is none."""
        ...

    async def conversation_for(self, handle: Handle) -> Conversation:
        """The 1:1 conversation with ``handle``, created (without sending) if none exists."""
        ...

    def messages(self, conversation_id: str, *, page_size: int = 50) -> AsyncIterator[Message]:
        """A conversation's history, newest first, fetched page by page."""
        ...

    async def get_message(self, message_id: str) -> Message:
        """One message by id; ``NotFoundError`` when there is none."""
        ...

    async def correct_message(
        self,
        message_id: str,
        text: str,
        *,
        part_index: int = 0,
        idempotency_key: str | None = None,
    ) -> CorrectionReceipt:
        """Correct a text part of a message we sent ("take 2 pills" -> "take 1 pill").

        Edited in place where the service allows (iMessage: 5 edits, 15 minutes);
        otherwise ``Correction: <text>`` is sent after it and the receipt says why.
        A retry under the same ``idempotency_key`` never corrects twice.
        """
        ...

    async def react(
        self, message_id: str, reaction: Reaction, *, part_index: int = 0
    ) -> ActionResult:
        """Add a tapback; on services without tapbacks the policy decides (text or skip)."""
        ...

    async def remove_reaction(
        self, message_id: str, reaction: Reaction, *, part_index: int = 0
    ) -> ActionResult:
        """Take a tapback back; skipped (and reported) where tapbacks do not exist."""
        ...

    async def start_typing(self, conversation_id: str) -> ActionResult:
        """Show a typing indicator; skipped (and reported) where unsupported."""
        ...

    async def stop_typing(self, conversation_id: str) -> ActionResult:
        """Hide the typing indicator; skipped (and reported) where unsupported."""
        ...

    async def mark_read(self, conversation_id: str) -> ActionResult:
        """Send a read receipt for the conversation; skipped where unsupported."""
        ...

    async def share_contact_card(self, conversation_id: str) -> ActionResult:
        """Share our line's contact card; skipped (and reported) where unsupported."""
        ...

    async def send_voice_memo(
        self,
        conversation_id: str,
        memo: VoiceMemo,
        *,
        idempotency_key: str | None = None,
        override_optout: bool = False,
    ) -> SendReceipt:
        """Send a voice memo; sent as a media attachment where memos are unsupported."""
        ...

    async def add_participant(self, conversation_id: str, handle: Handle) -> Conversation:
        """Add to a group; the group needs 3+ participants already."""
        ...

    async def remove_participant(self, conversation_id: str, handle: Handle) -> Conversation:
        """Remove from a group; 3+ participants must remain."""
        ...

    async def upload_attachment(
        self, data: bytes, *, filename: str, content_type: str
    ) -> Attachment:
        """Upload a file (at most 100 MB) to send later as ``MediaPart(attachment_id=...)``."""
        ...

    async def capabilities(self, handle: Handle) -> HandleCapabilities:
        """What services ``handle`` can be reached on, as far as can be known."""
        ...

    async def ask(
        self,
        conversation_id: str,
        question: str,
        options: Sequence[str],
        *,
        idempotency_key: str | None = None,
    ) -> PollReceipt:
        """Ask a question with 2 to 12 options: a native poll on iMessage, numbered text elsewhere.

        Votes come back as ``PollVoteAdded`` / ``PollVoteRemoved`` events (a
        reply that is just an option number counts as a vote on numbered text);
        :meth:`poll_results` reads the tally.
        """
        ...

    async def poll_results(self, poll_id: str) -> Poll:
        """A poll (``PollReceipt.poll_id``, or one received) and its votes as they stand."""
        ...

    async def block(self, handle: Handle, *, reason: str | None = None) -> BlockedHandle:
        """Put ``handle`` on our blocklist: its messages are dropped, direct sends refused."""
        ...

    async def unblock(self, handle: Handle) -> None:
        """Take ``handle`` off our blocklist."""
        ...

    async def blocked(self) -> tuple[BlockedHandle, ...]:
        """Our blocklist, newest first."""
        ...

    def on_inbound(self, handler: InboundHandler) -> None:
        """Register the care logic's handler for inbound events (replaces any earlier one)."""
        ...
