"""``caresupport-transport demo``: a scripted care conversation, printed as a transcript.

The scenario is :func:`run_scenario`, written against the ``Transport`` port and
a small :class:`DemoWorld` that plays the people on the other end, so the same
script can run over any adapter whose world can be driven (``DEMO_SETUPS``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from adapters.memory import InMemoryTransport, RecipientKind, World
from caresupport_transport import (
    ActionResult,
    Direction,
    Effect,
    Handle,
    InboundEvent,
    MediaPart,
    MessageReceived,
    MessageStatusChanged,
    OutgoingMessage,
    Reaction,
    ReactionKind,
    SendReceipt,
    Transport,
    VoiceMemo,
)

__all__ = ["DEMO_SETUPS", "DemoWorld", "register", "run_scenario"]


class DemoWorld(Protocol):
    """The people on the other end, as the demo drives them."""

    def add_recipient(self, handle: Handle, kind: RecipientKind) -> None: ...

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` of (virtual) time pass and deliver what happened."""
        ...

    async def inject_inbound_text(
        self, sender: Handle, conversation_id: str | None, text: str
    ) -> None: ...


class _MemoryDemoWorld:
    def __init__(self, transport: InMemoryTransport) -> None:
        self._transport = transport

    def add_recipient(self, handle: Handle, kind: RecipientKind) -> None:
        self._transport.world.add_recipient(handle, kind)

    async def advance(self, seconds: float) -> None:
        await self._transport.advance(seconds)

    async def inject_inbound_text(
        self, sender: Handle, conversation_id: str | None, text: str
    ) -> None:
        await self._transport.inject_message(sender, text, conversation_id=conversation_id)


@contextlib.asynccontextmanager
async def _memory_setup() -> AsyncIterator[tuple[Transport, DemoWorld]]:
    transport = InMemoryTransport(World(seed=2026))
    yield transport, _MemoryDemoWorld(transport)


DemoSetup = Callable[[], contextlib.AbstractAsyncContextManager[tuple[Transport, DemoWorld]]]
DEMO_SETUPS: dict[str, DemoSetup] = {"memory": _memory_setup}
"""``--transport`` choice -> a context manager yielding the transport and its world."""

INGRID = Handle("+16515550101")
ERIK = Handle("+16515550102")
LANDLINE = Handle("+16515550199")
_PEOPLE = (
    (INGRID, "Ingrid", RecipientKind.IMESSAGE, "daughter and main caregiver, on iMessage"),
    (ERIK, "Erik", RecipientKind.SMS_ONLY, "grandson, on an SMS-only phone"),
    (LANDLINE, "Landline", RecipientKind.UNREACHABLE, "Astrid's old number, disconnected"),
)
_NAMES = {handle: name for handle, name, _, _ in _PEOPLE}

CELEBRATION = OutgoingMessage.of_text(
    "Good news: Astrid walked to the garden with her physio today!",
    effect=Effect.screen("confetti"),
)
CARE_PLAN = " ".join(
    [
        "This week's care plan: blood pressure tablet at 8am with breakfast, "
        "the water pill at 2pm, and a short walk after lunch if the weather allows."
    ]
    * 12
)
GOODNIGHT = VoiceMemo(
    MediaPart(url="https://files.example.org/astrid-goodnight.m4a", content_type="audio/m4a")
)


class Transcript:
    """Prints what happens, and plays the care logic's inbound handler."""

    def __init__(self, transport: Transport, out: Callable[[str], None]) -> None:
        self.transport = transport
        self.out = out
        self.names: dict[str, str] = {}
        self.snippets: dict[str, str] = {}

    def heading(self, text: str) -> None:
        self.out("")
        self.out(f"== {text}")

    def sent(self, to: str, what: str, receipt: SendReceipt) -> None:
        service = receipt.service.label if receipt.service else "unknown service"
        bubbles = len(receipt.message_ids)
        count = f", {bubbles} bubbles" if bubbles > 1 else ""
        self.out(f"-> {to} via {service} [{receipt.status.value}{count}]: {what}")
        for number, message_id in enumerate(receipt.message_ids, start=1):
            part = f" (bubble {number}/{bubbles})" if bubbles > 1 else ""
            self.snippets[message_id] = f"{to}: {_snippet(what)}{part}"
        for degradation in receipt.degradations:
            self.out(f"   degradation: {degradation}")

    def action(self, what: str, result: ActionResult) -> None:
        done = "done" if result.performed else "skipped"
        self.out(f"   {what}: {done}")
        for degradation in result.degradations:
            self.out(f"   degradation: {degradation}")

    async def handle(self, event: InboundEvent) -> None:
        """The care handler: log status changes, answer and acknowledge inbound messages."""
        if isinstance(event, MessageStatusChanged):
            about = self.snippets.get(event.message_id, event.message_id)
            line = f"   status {event.status.value:<9} {about}"
            if event.reason:
                line += f" (reason: {event.reason})"
            self.out(line)
        elif isinstance(event, MessageReceived) and event.message.direction is Direction.INBOUND:
            sender = event.message.sender
            name = _NAMES.get(sender, str(sender)) if sender else "someone"
            service = event.message.service.label if event.message.service else "?"
            self.out(f"<- {name} via {service}: {event.message.text}")
            self.out("   care handler: answering and acknowledging")
            reaction = await self.transport.react(event.message.id, Reaction(ReactionKind.LOVE))
            self.action("tapback 'love'", reaction)
            if reaction.message_id is not None:
                as_text = await self.transport.get_message(reaction.message_id)
                self.out(f"-> {name} via {service}: {as_text.text}")
                self.snippets[as_text.id] = f"{name}: {_snippet(as_text.text)}"
            answer = OutgoingMessage.of_text("Yes, she took it at 2:05pm. I'll check again at 8.")
            receipt = await self.transport.send_message(event.conversation_id, answer)
            self.sent(name, answer.text, receipt)


def _snippet(text: str, width: int = 48) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


async def run_scenario(
    transport: Transport, world: DemoWorld, out: Callable[[str], None] = print
) -> None:
    """Play the care conversation over ``transport`` and print it as it happens."""
    transcript = Transcript(transport, out)
    transport.on_inbound(transcript.handle)
    out("CareSupport demo: the Lindqvist family, caring for Astrid")
    for handle, name, kind, description in _PEOPLE:
        world.add_recipient(handle, kind)
        out(f"  {name:<9} {handle}  {description}")

    transcript.heading("Ingrid (iMessage): the full experience")
    hello = OutgoingMessage.of_text("Hi Ingrid, this is CareSupport for Astrid's care team.")
    started = await transport.start_conversation([INGRID], hello)
    transcript.sent("Ingrid", hello.text, started.receipt)
    ingrid_chat = started.conversation.id
    transcript.action("typing indicator", await transport.start_typing(ingrid_chat))
    receipt = await transport.send_message(ingrid_chat, CELEBRATION)
    transcript.sent("Ingrid", f"{CELEBRATION.text} (asked for: confetti effect)", receipt)
    await world.advance(5)
    await world.inject_inbound_text(INGRID, ingrid_chat, "Wonderful! Did she take the 2pm pill?")
    await world.advance(120)

    transcript.heading("Erik (SMS only): the same care, degraded")
    hello_erik = OutgoingMessage.of_text("Hi Erik, this is CareSupport for your grandma Astrid.")
    started = await transport.start_conversation([ERIK], hello_erik)
    transcript.sent("Erik", hello_erik.text, started.receipt)
    erik_chat = started.conversation.id
    transcript.action("typing indicator", await transport.start_typing(erik_chat))
    receipt = await transport.send_message(erik_chat, CELEBRATION)
    transcript.sent("Erik", f"{CELEBRATION.text} (asked for: confetti effect)", receipt)
    receipt = await transport.send_message(erik_chat, OutgoingMessage.of_text(CARE_PLAN))
    transcript.sent("Erik", f"the care plan ({len(CARE_PLAN)} characters)", receipt)
    receipt = await transport.send_voice_memo(erik_chat, GOODNIGHT)
    transcript.sent("Erik", "a voice memo from Astrid", receipt)
    await world.advance(5)
    await world.inject_inbound_text(ERIK, erik_chat, "Did gran take her pill?")
    await world.advance(120)

    transcript.heading("The old landline: a delivery failure")
    hello_landline = OutgoingMessage.of_text("Hello, this is CareSupport for Astrid Lindqvist.")
    started = await transport.start_conversation([LANDLINE], hello_landline)
    transcript.sent("Landline", hello_landline.text, started.receipt)
    await world.advance(120)
    out("")
    out("Done: every change a service forced is listed as a degradation above.")


async def _run(setup_name: str) -> None:
    async with DEMO_SETUPS[setup_name]() as (transport, world):
        await run_scenario(transport, world)


def _main(args: argparse.Namespace) -> int:
    asyncio.run(_run(args.transport))
    return 0


def register(subparsers: Any) -> None:
    """Add the ``demo`` sub-command to the CLI's sub-parsers."""
    parser = subparsers.add_parser(
        "demo",
        help="play a scripted care conversation and print the transcript",
        description=(
            "Play a scripted care conversation: a caregiver on iMessage (effects, "
            "tapbacks, typing), a grandson on an SMS-only phone (the same messages, "
            "degraded), and a disconnected number (a delivery failure). The transcript "
            "shows the service used, each delivery status and every degradation. "
            "Nothing leaves this machine."
        ),
    )
    parser.add_argument(
        "--transport",
        choices=sorted(DEMO_SETUPS),
        default="memory",
        help="which transport carries the conversation (default: %(default)s, in memory)",
    )
    parser.set_defaults(func=_main)
