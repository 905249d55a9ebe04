"""The console's session as a pytest file replaying it on ``InMemoryTransport``.

Every text bubble of every chat is replayed in the order it happened, on the
same virtual clock steps: what the care line sent is sent again through the
``Transport`` port (and must go by the same service), what people wrote is
injected (and must reach the care logic's handler, in order), and at the end
each replayed bubble must have reached the same delivery status. A number
answering a numbered question (a poll on SMS or RCS) reaches the care logic
as the vote it stands for, as it did in the session. Media, tapbacks
and polls are left out of the replay (a comment says how many).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from caresupport_transport.content import TextPart
from caresupport_transport.model import Direction, Message
from caresupport_transport.numbered import NumberedQuestion, option_number, read_numbered_question

if TYPE_CHECKING:
    from adapters.linq.simulator.simulator import Simulator

__all__ = ["export_pytest"]

_HEADER = '''"""Exported from the Linq simulator's console, replayed on InMemoryTransport."""

import pytest

from adapters.memory import InMemoryTransport, RecipientKind, World
from caresupport_transport import (
    DeliveryStatus,
    Handle,
    InboundEvent,
    MessageReceived,
    OutgoingMessage,
    PollVoteAdded,
    Service,
    TextPart,
)

pytestmark = pytest.mark.asyncio


async def test_console_session_replays_with_the_same_outcomes() -> None:
    transport = InMemoryTransport(World(owner={owner}, seed=1))
    world = transport.world
'''


def _text(message: Message) -> str | None:
    texts = [p.text for p in message.parts if isinstance(p, TextPart)]
    return "\n".join(texts) if texts else None


def export_pytest(simulator: Simulator) -> str:
    """A pytest module (source text) replaying the simulator's primary line."""
    world = simulator.world
    lines = [_HEADER.format(owner=repr(str(world.owner)))]
    for handle, kind in world.recipients.items():
        lines.append(f"    world.add_recipient({str(handle)!r}, RecipientKind.{kind.name})")
    lines += [
        "    received: list[tuple[str, str]] = []",
        "",
        "    async def care_logic(event: InboundEvent) -> None:",
        "        if isinstance(event, MessageReceived) and event.message.sender is not None:",
        "            text = [p.text for p in event.message.parts if isinstance(p, TextPart)]",
        "            received.append((str(event.message.sender), '\\n'.join(text)))",
        "        elif isinstance(event, PollVoteAdded):",
        "            received.append((str(event.voter), f'vote: {event.option_text}'))",
        "",
        "    transport.on_inbound(care_logic)",
        "    statuses: dict[str, DeliveryStatus] = {}",
    ]
    chats: dict[str, str] = {}
    questions: dict[str, NumberedQuestion] = {}
    """Chat id -> the numbered question asked there last: a number answering it is a vote."""
    expected_inbound: list[tuple[str, str]] = []
    skipped = 0
    clock: datetime | None = None
    history = sorted(
        (m for m in world.messages.values() if not world.is_deleted(m.id)),
        key=lambda m: m.created_at,
    )
    for message in history:
        text = _text(message)
        if text is None or message.id in world.polls:
            skipped += 1
            continue
        if clock is not None and message.created_at > clock:
            seconds = (message.created_at - clock).total_seconds()
            lines.append(f"    await transport.advance({seconds!r})")
        clock = message.created_at
        chat = world.conversations[message.conversation_id]
        name = chats.get(chat.id)
        if message.direction is Direction.OUTBOUND:
            question = read_numbered_question(text)
            if question is not None:
                questions[chat.id] = question
            lines += _outbound(message, text, chat.id, name, chat.participants, len(chats))
            if name is None:
                chats[chat.id] = f"chat_{len(chats)}"
        else:
            sender = str(message.sender)
            asked = questions.get(chat.id)
            number = option_number(text, len(asked.options)) if asked else None
            if asked is not None and number is not None:
                expected_inbound.append((sender, f"vote: {asked.options[number - 1]}"))
            else:
                expected_inbound.append((sender, text))
            if name is None:
                name = chats[chat.id] = f"chat_{len(chats)}"
                if chat.is_group:
                    handles = ", ".join(f"Handle({str(h)!r})" for h in chat.participants)
                    lines.append(f"    {name} = world.create_conversation([{handles}]).id")
                    lines.append(
                        f"    await transport.inject_message({sender!r}, {text!r}, "
                        f"conversation_id={name})"
                    )
                else:
                    lines.append(
                        f"    {name} = (await transport.inject_message({sender!r}, {text!r}))"
                        ".conversation_id"
                    )
            else:
                lines.append(
                    f"    await transport.inject_message({sender!r}, {text!r}, "
                    f"conversation_id={name})"
                )
    if clock is not None and world.now > clock:
        lines.append(f"    await transport.advance({(world.now - clock).total_seconds()!r})")
    if skipped:
        lines.append(f"    # {skipped} message(s) without text (media, polls) are not replayed")
    lines.append(f"    assert received == {expected_inbound!r}")
    lines.append("    for message_id, status in statuses.items():")
    lines.append("        assert world.messages[message_id].status is status, message_id")
    return "\n".join(lines) + "\n"


def _outbound(
    message: Message,
    text: str,
    chat_id: str,
    name: str | None,
    participants: tuple[object, ...],
    count: int,
) -> list[str]:
    out: list[str] = []
    body = f"OutgoingMessage.of_text({text!r})"
    if name is None:
        name = f"chat_{count}"
        handles = ", ".join(f"Handle({str(h)!r})" for h in participants)
        out.append(f"    started = await transport.start_conversation([{handles}], {body})")
        out.append(f"    {name} = started.conversation.id")
        out.append("    receipt = started.receipt")
    else:
        out.append(f"    receipt = await transport.send_message({name}, {body})")
    if message.service is not None:
        out.append(f"    assert receipt.service is Service.{message.service.name}")
    out.append(
        f"    statuses[receipt.message_ids[0]] = DeliveryStatus.{message.status.name}  # {chat_id}"
    )
    return out
