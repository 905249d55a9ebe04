"""Group membership in the world: who may be added and removed (private)."""

from __future__ import annotations

import attrs

from adapters.memory._state import WorldState
from caresupport_transport.checks import check_can_add, check_can_remove
from caresupport_transport.errors import ValidationError
from caresupport_transport.events import ParticipantAdded, ParticipantRemoved
from caresupport_transport.handles import Handle
from caresupport_transport.model import Conversation

__all__ = ["MembershipMixin"]


class MembershipMixin(WorldState):
    """Adding and removing group participants under the provider's rules."""

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
