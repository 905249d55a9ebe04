"""``MessageLedger``: the messages this process sent and received, as they were then.

Later actions on a message (a correction, a tapback, a reply) need facts about
it: its conversation, its service, its parts, who sent it. Read back from the
provider, those facts may be gone: Linq's ephemeral-message tier removes a
message's content after its window and answers 404, and a zero-day-retention
line never keeps content at all (``docs/privacy.md``). So the transport keeps
what it saw at send and receive time, here, and asks the provider only for a
message it never saw (another process sent it, or this one restarted).

Bounded: the oldest entries go once :attr:`capacity` is reached. It lives in
memory only; it holds message content, so it is never logged.
"""

from __future__ import annotations

from collections import OrderedDict

import attrs

from caresupport_transport.content import TextPart
from caresupport_transport.model import Message

__all__ = ["DEFAULT_LEDGER_CAPACITY", "MessageLedger"]

DEFAULT_LEDGER_CAPACITY = 10_000


@attrs.define
class MessageLedger:
    """Messages by id, newest kept, at most ``capacity`` of them."""

    capacity: int = DEFAULT_LEDGER_CAPACITY
    _messages: OrderedDict[str, Message] = attrs.field(init=False, factory=OrderedDict)

    def remember(self, message: Message) -> None:
        """Keep ``message`` (replacing what was known of it), dropping the oldest if full."""
        self._messages[message.id] = message
        self._messages.move_to_end(message.id)
        while len(self._messages) > self.capacity:
            self._messages.popitem(last=False)

    def get(self, message_id: str) -> Message | None:
        return self._messages.get(message_id)

    def edited(self, message_id: str, part_index: int, part: TextPart) -> None:
        """Record that one text part of a known message now reads ``part``."""
        known = self._messages.get(message_id)
        if known is None or not 0 <= part_index < len(known.parts):
            return
        parts = (*known.parts[:part_index], part, *known.parts[part_index + 1 :])
        self._messages[message_id] = attrs.evolve(known, parts=parts)

    def forget(self, message_id: str) -> None:
        """Drop what is known of a message (a change to it may or may not have happened)."""
        self._messages.pop(message_id, None)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._messages

    def __len__(self) -> int:
        return len(self._messages)
