"""``ConsentBook``: what one process knows of opt-outs and the blocklist, to refuse before I/O.

``ProviderTransport`` keeps one. It learns from inbound events (``OptedOut`` /
``OptedIn``; where a provider does not report them, from the messages
themselves by the rule of :mod:`caresupport_transport.consent`), from the
conversations it reads (health ``OPTED_OUT``), from the provider's refusals
(``OptedOutError`` / ``BlockedError``) and from its own ``block`` /
``unblock`` calls. It is per process and in memory: a process that has not
heard of an opt-out sends, and the provider's refusal (Linq's 403) stays the
backstop across processes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence

import attrs

from caresupport_transport.consent import (
    ConsentChange,
    blocklist_form,
    consent_change,
    is_opt_out_message,
)
from caresupport_transport.errors import BlockedError, NotFoundError, OptedOutError
from caresupport_transport.events import (
    ConversationCreated,
    InboundEvent,
    MessageReceived,
    OptedIn,
    OptedOut,
)
from caresupport_transport.handles import Handle
from caresupport_transport.model import Conversation, ConversationHealth, Direction
from caresupport_transport.pending import handle_of, is_pending
from caresupport_transport.redact import mask_handle

__all__ = ["ConsentBook", "blocked_error", "opted_out_error"]

ConversationLookup = Callable[[str], Awaitable[Conversation]]


def opted_out_error(person: Handle) -> OptedOutError:
    """The refusal of a send to ``person``, who opted out (masked, with the way back)."""
    return OptedOutError(
        f"{mask_handle(person)} opted out of messages; any message from them opts them "
        "back in (override_optout=True lets one final courtesy message through)",
        person=person,
        status=None,
    )


def blocked_error(handle: Handle) -> BlockedError:
    """The refusal of a direct send to ``handle``, which is on our blocklist."""
    return BlockedError(
        f"{mask_handle(handle)} is on your blocklist; unblock it to send to it",
        handle=handle,
        status=None,
    )


@attrs.define
class ConsentBook:
    """Opted-out people, blocked handles and the 1:1 conversations seen, in one process.

    Attributes:
        opted_out: people known to have opted out.
        blocked: handles known to be on our blocklist.
        direct: conversation id -> the one person of a 1:1 conversation seen.
        groups: ids of group conversations seen.
    """

    opted_out: set[Handle] = attrs.Factory(set)
    blocked: set[Handle] = attrs.Factory(set)
    direct: dict[str, Handle] = attrs.Factory(dict)
    groups: set[str] = attrs.Factory(set)

    # -- learning ---------------------------------------------------------------

    def saw(self, conversation: Conversation) -> Conversation:
        """Note a conversation read from the provider (its health may say "opted out")."""
        if conversation.is_group:
            self.groups.add(conversation.id)
        elif len(conversation.participants) == 1:
            person = conversation.participants[0]
            self.direct[conversation.id] = person
            if conversation.health is ConversationHealth.OPTED_OUT:
                self.opted_out.add(person)
        return conversation

    def refused(self, error: BaseException) -> None:
        """Note a provider's refusal: the person opted out, or the handle is blocked."""
        if isinstance(error, OptedOutError):
            self.opted_out.add(error.person)
        elif isinstance(error, BlockedError):
            self.blocked.add(blocklist_form(error.handle))

    async def observe(
        self, event: InboundEvent, *, derive: bool, lookup: ConversationLookup
    ) -> tuple[InboundEvent, ...]:
        """Learn from an inbound event; with ``derive``, the opt-out events it implies.

        Args:
            event: the event on its way to the care logic.
            derive: the provider reports no ``OptedOut`` / ``OptedIn`` of its own,
                so they are derived here from inbound messages by the one rule.
            lookup: reads a conversation (to tell a 1:1 from a group) when a
                keyword arrives in one not seen yet.

        Returns:
            The derived events, to hand to the care logic after ``event``.
        """
        if isinstance(event, OptedOut):
            self.opted_out.add(event.person)
            self.direct.setdefault(event.conversation_id, event.person)
        elif isinstance(event, OptedIn):
            self.opted_out.discard(event.person)
        elif isinstance(event, ConversationCreated):
            self.saw(event.conversation)
        elif derive and isinstance(event, MessageReceived):
            return await self._derive(event, lookup)
        return ()

    async def _derive(
        self, event: MessageReceived, lookup: ConversationLookup
    ) -> tuple[InboundEvent, ...]:
        message = event.message
        person = message.sender
        if message.direction is not Direction.INBOUND or person is None:
            return ()
        is_group = False
        if is_opt_out_message(message.parts):
            is_group = await self._is_group(event.conversation_id, lookup)
        change = consent_change(
            message.parts, is_group=is_group, opted_out=person in self.opted_out
        )
        if change is ConsentChange.OPTED_OUT:
            self.opted_out.add(person)
            self.direct.setdefault(event.conversation_id, person)
            return (
                OptedOut(
                    f"{event.event_id}:opted-out", event.occurred_at, event.conversation_id, person
                ),
            )
        if change is ConsentChange.OPTED_IN:
            self.opted_out.discard(person)
            return (
                OptedIn(
                    f"{event.event_id}:opted-in", event.occurred_at, event.conversation_id, person
                ),
            )
        return ()

    async def _is_group(self, conversation_id: str, lookup: ConversationLookup) -> bool:
        """Whether the conversation is a group; one that cannot be found counts as a group.

        A chat gone by now can take no more sends, so no opt-out is derived from
        it (the provider's refusal still stands); any other failure propagates and
        the event is delivered again.
        """
        if conversation_id in self.groups:
            return True
        if conversation_id in self.direct:
            return False
        try:
            return self.saw(await lookup(conversation_id)).is_group
        except NotFoundError:
            return True

    # -- refusing ---------------------------------------------------------------

    def person_of(self, conversation_id: str) -> Handle | None:
        """The one person of a 1:1 conversation known without I/O, if any."""
        if is_pending(conversation_id):
            return handle_of(conversation_id)
        return self.direct.get(conversation_id)

    def check(self, participants: Sequence[Handle], *, override_optout: bool) -> tuple[Handle, ...]:
        """Refuse a direct send the book knows is refused; the people an override lets through.

        Opt-outs never restrict a group; a group is refused only when every
        member is blocked.

        Raises:
            BlockedError: a 1:1 send to a blocked handle (or a group of blocked ones).
            OptedOutError: a 1:1 send to someone opted out, without ``override_optout``.
        """
        if participants and all(blocklist_form(h) in self.blocked for h in participants):
            raise blocked_error(participants[0])
        if len(participants) != 1 or participants[0] not in self.opted_out:
            return ()
        if not override_optout:
            raise opted_out_error(participants[0])
        return (participants[0],)

    def check_conversation(self, conversation_id: str, *, override_optout: bool) -> None:
        """:meth:`check` for a conversation known to be 1:1 by its id alone (no I/O)."""
        person = self.person_of(conversation_id)
        if person is not None:
            self.check((person,), override_optout=override_optout)

    # -- the blocklist ------------------------------------------------------------

    def set_blocked(self, handles: Iterable[Handle]) -> None:
        """The provider's whole blocklist, as just read."""
        self.blocked = {blocklist_form(h) for h in handles}
