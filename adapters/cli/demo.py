"""``caresupport-transport demo``: a scripted care conversation, printed as a transcript.

The scenario is :func:`run_scenario`, written against the ``Transport`` port and
a small :class:`DemoWorld` that plays the people on the other end, so the same
script runs over any adapter whose world can be driven (``DEMO_SETUPS``): by
default the real ``LinqTransport`` over HTTP into the Linq simulator, with its
webhooks coming back through the real receiver; ``--transport memory`` runs it
on ``InMemoryTransport``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.cli._demo_worlds import DemoSetup, DemoWorld, linq_setup, memory_setup
from adapters.memory import RecipientKind
from caresupport_transport import (
    ActionResult,
    Direction,
    Effect,
    Feature,
    Handle,
    InboundEvent,
    MediaPart,
    MessageReceived,
    MessageStatusChanged,
    OutgoingMessage,
    PollReceipt,
    PollVoteAdded,
    Reaction,
    ReactionKind,
    ReplyTo,
    SendReceipt,
    Service,
    Transport,
    VoiceMemo,
)
from caresupport_transport.inbound import Coalescing, Inbox, InboxWorker, MemoryEventStore, Turn
from caresupport_transport.outbound import IntentStatus, Outbox, OutboxWorker, Watch

__all__ = ["DEFAULT_SETUP", "DEMO_SETUPS", "DemoSetup", "DemoWorld", "register", "run_scenario"]


DEMO_SETUPS: dict[str, DemoSetup] = {"linq": linq_setup, "memory": memory_setup}
"""``--transport`` choice -> a context manager yielding the transport and its world."""
DEFAULT_SETUP = "linq"

INGRID = Handle("+16515550101")
ERIK = Handle("+16515550102")
SOFIA = Handle("+16515550103")
LANDLINE = Handle("+16515550199")
_PEOPLE = (
    (INGRID, "Ingrid", RecipientKind.IMESSAGE, "daughter and main caregiver, on iMessage"),
    (SOFIA, "Sofia", RecipientKind.RCS, "granddaughter, on an Android phone with RCS"),
    (ERIK, "Erik", RecipientKind.SMS_ONLY, "grandson, on an SMS-only phone"),
    (LANDLINE, "Landline", RecipientKind.UNREACHABLE, "Astrid's old number, disconnected"),
)
FAMILY = "the family group"
REMINDER_DEADLINE = timedelta(minutes=15)
"""How long the demo's medication reminder may take to be delivered before the coordinator hears."""
DEMO_START = datetime(2026, 3, 1, 20, 45, tzinfo=UTC)
"""The outbox's clock in the demo: moved with the world's, so deadlines pass in the story."""
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
DRIVE_QUESTION = "Who can drive Astrid to the clinic on Tuesday?"
DRIVE_OPTIONS = ("Tue 9am", "Tue 2pm", "Can't this week")
BURST = ("Hi", "Mum's pills", "The blue ones, did she take them?")
"""Three quick texts from Ingrid: one turn for the care logic, answered once."""
BURST_GAP = 0.5
"""Seconds between the burst's texts: well inside the 1.5 s quiet window."""
GOODNIGHT = VoiceMemo(
    MediaPart(url="https://files.example.org/astrid-goodnight.m4a", content_type="audio/m4a")
)


class Transcript:
    """Prints what happens, and plays the care logic's inbound handler."""

    def __init__(self, transport: Transport, out: Callable[[str], None]) -> None:
        self.transport = transport
        self.out = out
        self.snippets: dict[str, str] = {}
        self.fallbacks_told: set[str] = set()

    def heading(self, text: str) -> None:
        self.out("")
        self.out(f"== {text}")

    def sent(self, to: str, what: str, receipt: SendReceipt, *, group: bool = False) -> None:
        service = receipt.service.label if receipt.service else "unknown service"
        bubbles = len(receipt.message_ids)
        count = f", {bubbles} bubbles" if bubbles > 1 else ""
        self.out(f"-> {to} via {service} [{receipt.status.value}{count}]: {what}")
        for number, message_id in enumerate(receipt.message_ids, start=1):
            part = f" (bubble {number}/{bubbles})" if bubbles > 1 else ""
            self.snippets[message_id] = f"{to}: {_snippet(what)}{part}"
        self._tell_fallback(to, receipt.service, group=group)
        for degradation in receipt.degradations:
            self.out(f"   degradation: {degradation}")

    def threaded(self, receipt: SendReceipt, about: str) -> None:
        """Say that a reply went into its thread, where the service kept it."""
        if not any(d.feature is Feature.REPLY_THREAD for d in receipt.degradations):
            self.out(f"   threaded: shown as a reply to {about}")

    def _tell_fallback(self, to: str, service: Service | None, *, group: bool = False) -> None:
        """Say once per person (or group) why a send did not go by iMessage (AUTO's first)."""
        if service in (None, Service.IMESSAGE) or to in self.fallbacks_told:
            return
        self.fallbacks_told.add(to)
        lacking = "iMessage" if service is Service.RCS else "iMessage or RCS"
        label = service.label if service else "?"
        if group:
            self.out(f"   fallback: not everyone in {to} has {lacking}, so {label} for all")
        else:
            self.out(f"   fallback: no {lacking} for {to}, so {label}")

    def asked(self, to: str, receipt: PollReceipt) -> None:
        """Say how a poll went out: a native poll after its question, or numbered text."""
        options = " / ".join(o.text for o in receipt.options)
        if receipt.native:
            what = f'"{DRIVE_QUESTION}", then a native poll: {options}'
        else:
            numbered = " / ".join(f"{o.id}. {o.text}" for o in receipt.options)
            what = f'"{DRIVE_QUESTION}" as numbered text: {numbered}'
        self.sent(to, what, receipt.question)
        if receipt.native:
            self.snippets[receipt.poll_id] = f"{to}: poll ({_snippet(options, 36)})"
            self.out(f"   poll {receipt.status.value}: {len(receipt.options)} options")
        for degradation in receipt.degradations:
            if degradation not in receipt.question.degradations:
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
        elif isinstance(event, PollVoteAdded):
            name = _NAMES.get(event.voter, str(event.voter))
            how = f' by replying "{event.message.text}"' if event.message is not None else ""
            self.out(f'<- {name} voted "{event.option_text}"{how}')
        elif isinstance(event, MessageReceived) and event.message.direction is Direction.INBOUND:
            sender = event.message.sender
            name = _NAMES.get(sender, str(sender)) if sender else "someone"
            service = event.message.service.label if event.message.service else "?"
            self.out(f"<- {name} via {service}: {event.message.text}")
            if event.reconciled:
                # Recovered late by the provider: history, not a question to answer now.
                self.out("   care handler: arrived late (reconciled); kept as history, no answer")
                return
            self.out("   care handler: answering and acknowledging")
            reaction = await self.transport.react(event.message.id, Reaction(ReactionKind.LOVE))
            self.action("tapback 'love'", reaction)
            if reaction.message_id is not None:
                as_text = await self.transport.get_message(reaction.message_id)
                self.out(f"-> {name} via {service}: {as_text.text}")
                self.snippets[as_text.id] = f"{name}: {_snippet(as_text.text)}"
            answer = OutgoingMessage.of_text(
                "Yes, she took it at 2:05pm. I'll check again at 8.",
                reply_to=ReplyTo(event.message.id),
            )
            receipt = await self.transport.send_message(event.conversation_id, answer)
            asked = f'(asked for: in the reply thread of "{_snippet(event.message.text, 24)}")'
            self.sent(name, f"{answer.text} {asked}", receipt)
            self.threaded(receipt, f'"{_snippet(event.message.text, 24)}"')

    async def answer_turn(self, turn: Turn) -> None:
        """The care handler with turns: read a burst of texts as one, answer it once."""
        for message in turn.messages:
            name = _NAMES.get(message.sender, "someone") if message.sender else "someone"
            service = message.service.label if message.service else "?"
            self.out(f"<- {name} via {service}: {message.text}")
        count = len(turn.messages)
        self.out(f"   care handler: {count} texts in one turn, answering once")
        if await turn.check_superseded():
            self.out("   care handler: a newer text came in; the next turn answers it")
            return
        last = turn.messages[-1]
        answer = OutgoingMessage.of_text("Yes, the blue ones at 8am with breakfast. All taken.")
        receipt = await self.transport.send_message(
            last.conversation_id, answer, idempotency_key=turn.reply_key("answer")
        )
        name = _NAMES.get(last.sender, "someone") if last.sender else "someone"
        self.sent(name, answer.text, receipt)


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} second{'s' if seconds != 1 else ''}"


def _snippet(text: str, width: int = 48) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


async def run_scenario(
    transport: Transport, world: DemoWorld, out: Callable[[str], None] = print
) -> None:
    """Play the care conversation over ``transport`` and print it as it happens."""
    transcript = Transcript(transport, out)
    transport.on_inbound(transcript.handle)
    elapsed = timedelta(0)

    def clock() -> datetime:
        return DEMO_START + elapsed

    async def later(seconds: float) -> None:
        nonlocal elapsed
        out(f"   ({_duration(seconds)} later)")
        elapsed += timedelta(seconds=seconds)
        await world.advance(seconds)

    out("CareSupport demo: the Lindqvist family, caring for Astrid")
    for line in world.carrier:
        out(line)
    out("")
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
    await later(5)
    await world.inject_inbound_text(INGRID, ingrid_chat, "Wonderful! Did she take the 2pm pill?")
    await later(120)

    transcript.heading("Sofia (RCS, no iMessage): the next service in the chain")
    hello_sofia = OutgoingMessage.of_text("Hi Sofia, this is CareSupport for your grandma Astrid.")
    started = await transport.start_conversation([SOFIA], hello_sofia)
    transcript.sent("Sofia", hello_sofia.text, started.receipt)
    sofia_chat = started.conversation.id
    transcript.action("typing indicator", await transport.start_typing(sofia_chat))
    receipt = await transport.send_message(sofia_chat, CELEBRATION)
    transcript.sent("Sofia", f"{CELEBRATION.text} (asked for: confetti effect)", receipt)
    follow_up = OutgoingMessage.of_text(
        "Her physio moves to Thursdays from next week.",
        reply_to=ReplyTo(started.receipt.message_ids[0]),
    )
    receipt = await transport.send_message(sofia_chat, follow_up)
    transcript.sent(
        "Sofia", f"{follow_up.text} (asked for: in the reply thread of the hello)", receipt
    )
    transcript.threaded(receipt, "the hello")
    await later(120)

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
    await later(5)
    await world.inject_inbound_text(ERIK, erik_chat, "Did gran take her pill?")
    await later(120)

    transcript.heading("The family group (Ingrid, Sofia, Erik): the one service all share")
    family_news = OutgoingMessage.of_text(
        "Family update: Astrid's physio moves to Thursdays; Sofia visits on Saturday."
    )
    started = await transport.start_conversation([INGRID, SOFIA, ERIK], family_news)
    transcript.sent(FAMILY, family_news.text, started.receipt, group=True)
    group_chat = started.conversation.id
    transcript.action("typing indicator", await transport.start_typing(group_chat))
    await later(120)

    transcript.heading("Who drives Astrid on Tuesday? A poll: native on iMessage, numbered on SMS")
    polls: dict[str, PollReceipt] = {}
    for name, chat in (("Ingrid", ingrid_chat), ("Erik", erik_chat)):
        polls[name] = await transport.ask(
            chat, DRIVE_QUESTION, DRIVE_OPTIONS, idempotency_key=f"drive-tuesday-{name.lower()}"
        )
        transcript.asked(name, polls[name])
    await later(5)
    await world.inject_vote(INGRID, polls["Ingrid"].poll_id, polls["Ingrid"].options[0].id)
    await world.inject_inbound_text(ERIK, erik_chat, "2")
    for name, asked in polls.items():
        results = await transport.poll_results(asked.poll_id)
        tally = ", ".join(f"{o.text} {len(o.votes)}" for o in results.options)
        out(f"   results of {name}'s poll: {tally}")
    await later(120)

    transcript.heading("Ingrid texts in a burst: one turn, answered once")
    inbox = Inbox(MemoryEventStore(), clock=clock)
    turns = InboxWorker(inbox, transcript.answer_turn, turns=Coalescing())

    async def into_the_inbox(event: InboundEvent) -> None:
        if isinstance(event, MessageReceived) and event.message.direction is Direction.INBOUND:
            await inbox.dispatch(event)
        else:
            await transcript.handle(event)

    transport.on_inbound(into_the_inbox)
    for number, text in enumerate(BURST):
        if number:
            await later(BURST_GAP)
        await world.inject_inbound_text(INGRID, ingrid_chat, text)
    out(f"   inbox: {len(await inbox.entries())} texts wait for a quiet moment")
    await later(2)
    await turns.run_once()
    transport.on_inbound(transcript.handle)
    await later(120)

    transcript.heading("The old landline: a delivery failure")
    hello_landline = OutgoingMessage.of_text("Hello, this is CareSupport for Astrid Lindqvist.")
    started = await transport.start_conversation([LANDLINE], hello_landline)
    transcript.sent("Landline", hello_landline.text, started.receipt)
    await later(120)

    transcript.heading("A medication reminder that never arrives: the watchdog escalates")
    outbox = Outbox(
        MemoryEventStore(),
        clock=clock,
        watch_by_kind={"medication-reminder": Watch(undelivered_after=REMINDER_DEADLINE)},
    )

    async def alert_coordinator(status: IntentStatus) -> None:
        out(
            f"   watchdog: {status.intent.id} not delivered within "
            f"{_duration(REMINDER_DEADLINE.total_seconds())} ({status.state.value}): "
            "alerting Ingrid"
        )
        alert = OutgoingMessage.of_text(
            "Heads up: Astrid's 9pm pill reminder did not reach her landline. Can you call her?"
        )
        receipt = await transport.send_message(ingrid_chat, alert)
        transcript.sent("Ingrid", alert.text, receipt)

    worker = OutboxWorker(outbox, transport, on_undelivered=alert_coordinator)
    transport.on_inbound(outbox.watching(transcript.handle))
    reminder = OutgoingMessage.of_text("Reminder for Astrid: the 9pm pills, the blue ones.")
    intent_id = await outbox.send_message(
        started.conversation.id,
        reminder,
        kind="medication-reminder",
        idempotency_key="reminder-astrid-2100",
    )
    out(
        f"   outbox: recorded {intent_id} before sending; deadline "
        f"{_duration(REMINDER_DEADLINE.total_seconds())}"
    )
    await worker.drain()
    status = await outbox.status(intent_id)
    if status is not None:
        for message_id in status.message_ids:
            transcript.snippets[message_id] = f"Landline: {_snippet(reminder.text)}"
        service = status.service.label if status.service else "unknown service"
        out(f"-> Landline via {service} [{status.state.value}]: {reminder.text}")
    await later(REMINDER_DEADLINE.total_seconds())
    await worker.drain()
    await later(60)
    out("")
    out("Done: every change a service forced is listed as a degradation above.")
    for line in world.traffic():
        out(line)


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
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Play a scripted care conversation along the whole fallback chain\n"
            "iMessage -> RCS -> SMS: a caregiver on iMessage (effects, tapbacks, typing,\n"
            "an answer in her reply thread), a granddaughter with RCS only (effect and\n"
            "reply thread dropped), a grandson on an SMS-only phone (the same messages,\n"
            "degraded further), a family group chat of the three (carried by SMS, the\n"
            "one service they share), a poll (native on iMessage, one numbered text\n"
            'question on SMS whose "2" is read back as a vote), a burst of three quick\n'
            "texts handed to the care logic as one turn and answered once, and a\n"
            "disconnected number (a delivery failure).\n"
            "The transcript shows the service used, the fallbacks, every degradation\n"
            "and each delivery status as time passes. Nothing leaves this machine; no\n"
            "account is needed.\n"
            "\n"
            "--transport linq (the default) runs the real LinqTransport over HTTP into\n"
            "the Linq simulator, started in-process (no socket, no network). The\n"
            "simulator falls back between services as Linq does, moves deliveries on\n"
            "with its clock and reports them as signed message.* webhooks, which come\n"
            "back through the project's webhook receiver and dispatcher to the care\n"
            "handler. The transcript ends with the HTTP requests made.\n"
            "\n"
            "--transport memory runs the same script on InMemoryTransport, with no HTTP."
        ),
    )
    parser.add_argument(
        "--transport",
        choices=sorted(DEMO_SETUPS),
        default=DEFAULT_SETUP,
        help=(
            "linq: LinqTransport over HTTP into the in-process Linq simulator; "
            "memory: InMemoryTransport (default: %(default)s)"
        ),
    )
    parser.set_defaults(func=_main)
