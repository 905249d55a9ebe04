"""No message text, phone number, attachment byte or upload signature reaches a log.

Everything runs at DEBUG with every logger captured at the root (the ``sweep``
fixture): the ``linq`` commands against the simulator, and the library sending
(retries, fallback, a failed message re-sent, a re-send refused with the number
quoted), uploading, receiving through ``webhook_app`` and polling (a handler
that fails quoting the text). Any canary in a log record, or in standard output
or error, fails the test; only the output of commands asked to show messages
or chats (``messages``, ``chats``) is set aside, their logs are not.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from adapters.cli.linq import wired
from adapters.cli.main import main
from adapters.linq import LinqClient, LinqConfig, LinqTransport
from adapters.linq.simulator import IN_PROCESS_BASE_URL, Faults, Simulator
from adapters.memory import RecipientKind, World
from caresupport_transport import (
    FallbackPolicy,
    Handle,
    InboundEvent,
    MediaPart,
    MessageReceived,
    OutgoingMessage,
)
from caresupport_transport.inbound import MemoryEventStore
from caresupport_transport.outbound import Outbox, OutboxWorker, Watch

from .sweep import TOKEN, WEBHOOK_SECRET, Recording, Sweep

CANARY = "CANARY-warfarin 5mg"
LINE = "+15550001111"
MUM = "+16515557981"  # iMessage
SON = "+16515550142"  # SMS only
DAD = "+16515550263"  # iMessage; his message fails and the re-send is refused
AUNT = "+16515550384"  # capability checks answer "unknown"
PEOPLE = (MUM, SON, DAD, AUNT)
FILE_BYTES = b"%PDF-1.7 CANARY-warfarin discharge letter"
SIGNING_NOW = 1_780_000_000.0


def health_data(*more: str) -> set[str]:
    """The canary text, a word of it, and each number as it may be written
    (``+16515557981``, ``%2B16515557981``, ``(651) 555-7981`` all hold the last ten digits,
    or the national seven)."""
    numbers = {n[2:] for n in PEOPLE} | {n[5:] for n in PEOPLE}
    return {CANARY, "warfarin", *numbers, *more}


async def no_wait(_: float) -> None:
    return None


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


# -- the linq commands ---------------------------------------------------------------------


@pytest.fixture
def simulator() -> Simulator:
    sim = Simulator(tokens={TOKEN: [LINE]}, world=World(owner=LINE, seed=10))
    sim.add_recipient(MUM, RecipientKind.IMESSAGE)
    sim.add_recipient(SON, RecipientKind.SMS_ONLY)
    return sim


@pytest.fixture
def cli(simulator: Simulator) -> Iterator[Recording]:
    environ = {
        "LINQ_API_TOKEN": TOKEN,
        "LINQ_PHONE_NUMBER": LINE,
        "LINQ_BASE_URL": IN_PROCESS_BASE_URL,
        "LINQ_WEBHOOK_SIGNING_SECRET": WEBHOOK_SECRET,
    }
    recording = Recording(simulator.transport())
    with wired(environ=environ, transport=recording, sleep=no_wait):
        yield recording


def test_the_linq_commands_at_debug_log_no_health_data(
    simulator: Simulator, cli: Recording, sweep: Sweep, tmp_path: Path
) -> None:
    assert 0 == run(["linq", "create", "--to", MUM, "--body", CANARY])
    [(chat_id, message_id)] = [(m.conversation_id, m.id) for m in simulator.world.messages.values()]
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(FILE_BYTES)
    quiet = [
        ["create", "--to", SON, "--body", CANARY, "--service", "sms"],
        ["send", "--chat-id", chat_id, "--body", CANARY],
        ["send", "--chat-id", chat_id, "--body", CANARY, "--effect", "confetti"],
        ["capability", "--to", MUM],
        ["capability", "--to", SON],
        ["typing", "--chat-id", chat_id],
        ["read", "--chat-id", chat_id],
        ["react", "--message-id", message_id, "--type", "love"],
        ["upload", str(letter)],
        ["phones"],
    ]
    statuses = [run(["linq", *argv]) for argv in quiet]
    refused = run(["linq", "send", "--chat-id", "no-such-chat", "--body", CANARY])
    before = sweep.capsys.readouterr()
    sweep.add("stdout", before.out)
    sweep.add("stderr", before.err)
    showing = [["chats", "--to", MUM], ["chats"], ["messages", "--chat-id", chat_id]]
    shown_statuses = [run(["linq", *argv]) for argv in showing]
    shown = sweep.capsys.readouterr()  # asked to show chats and messages: set aside

    assert [0] * len(quiet) == statuses
    assert 1 == refused
    assert [0, 0, 0] == shown_statuses
    assert CANARY in shown.out
    assert MUM in shown.out
    assert sum(r.method == "PUT" for r in cli.requests) == 1
    assert any("to=%2B16515557981" in str(r.url) for r in cli.requests)
    assert any(r.name == "httpx" for r in sweep.caplog.records)
    sweep.assert_clean(health_data(*upload_signatures(cli.requests)))


def upload_signatures(requests: list[httpx.Request]) -> list[str]:
    return [r.url.params["signature"] for r in requests if r.method == "PUT"]


# -- the library -----------------------------------------------------------------------------


class Care:
    """Care logic: records what arrives; optionally fails once, quoting the message."""

    def __init__(self, *, fail_once: bool = False) -> None:
        self.events: list[InboundEvent] = []
        self.fail_once = fail_once

    async def __call__(self, event: InboundEvent) -> None:
        if self.fail_once and isinstance(event, MessageReceived):
            self.fail_once = False
            raise ValueError(f"could not file {event.message.text!r} from {event.message.sender}")
        self.events.append(event)

    def texts(self) -> list[str]:
        return [e.message.text for e in self.events if isinstance(e, MessageReceived)]


class Receiver:
    """Forwards to the transport's webhook app, made after the simulator that posts to it."""

    def __init__(self) -> None:
        self.app: object = None

    async def __call__(self, scope: object, receive: object, send: object) -> None:
        assert callable(self.app)
        await self.app(scope, receive, send)


async def test_the_library_sending_receiving_polling_and_uploading_logs_no_health_data(
    sweep: Sweep,
) -> None:
    receiver = Receiver()
    care = Care()
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver)) as webhook_http,
        Simulator(
            tokens={TOKEN: [LINE]},
            world=World(owner=LINE, seed=11),
            webhook_client=webhook_http,
            sleep=no_wait,
            clock=lambda: SIGNING_NOW,
            faults=Faults(rate_500=0.2, rate_429=0.1, retry_after=0, seed=5),
        ) as sim,
    ):
        for handle, kind in [
            (MUM, RecipientKind.IMESSAGE),
            (SON, RecipientKind.SMS_ONLY),
            (DAD, RecipientKind.IMESSAGE),
            (AUNT, RecipientKind.RCS),
        ]:
            sim.add_recipient(handle, kind)
        sim.make_capability_unknown(AUNT)
        wire = Recording(sim.transport())
        config = LinqConfig(
            api_token=TOKEN, phone_number=LINE, base_url=IN_PROCESS_BASE_URL, max_attempts=8
        )
        async with (
            httpx.AsyncClient(transport=wire) as api_http,
            LinqClient(config, http=api_http, sleep=no_wait) as client,
        ):
            transport = LinqTransport(client, policy=FallbackPolicy(resend_on_failure=True))
            # A failure reported later is re-sent by the outbox's rule (one mechanism).
            outbox = Outbox(
                MemoryEventStore(),
                clock=lambda: sim.world.now,
                watch=Watch(resend_on_failure=True, failure_grace=timedelta(seconds=1)),
            )
            worker = OutboxWorker(outbox, transport)
            transport.on_inbound(outbox.watching(care))
            receiver.app = transport.webhook_app(
                MemoryEventStore(),
                secrets=WEBHOOK_SECRET,
                clock=lambda: SIGNING_NOW,
                ack_after_handler=True,
            )
            sim.subscribe("http://127.0.0.1:8788/linq/webhooks", secret=WEBHOOK_SECRET)

            text = OutgoingMessage.of_text(CANARY)
            mum = await transport.start_conversation([Handle(MUM)], text)
            await transport.send_message(mum.conversation.id, text)
            await transport.start_conversation([Handle(SON)], text)
            await transport.start_conversation([Handle(AUNT)], text)
            attachment = await client.upload(FILE_BYTES, "letter.pdf", "application/pdf")
            await transport.send_message(
                mum.conversation.id,
                OutgoingMessage([MediaPart(attachment_id=attachment.id)]),
            )
            dad = await transport.start_conversation([Handle(DAD)], text)
            sim.fail_next_send(DAD, reason=f"{DAD} unreachable: {CANARY}")
            await outbox.send_message(dad.conversation.id, text)
            await worker.drain()
            sim.block(DAD)  # the re-send is refused, quoting his number
            sim.fail_next_send(MUM, reason=f"{MUM}: {CANARY} bounced")
            await outbox.send_message(mum.conversation.id, text)  # re-sent over SMS
            await worker.drain()
            sim.inject_inbound_text(MUM, f"{CANARY} taken at 9")
            await sim.advance(60)
            await sim.advance(2)  # the failures' grace passes
            await worker.drain()  # the outbox's rule re-sends them

            poller = LinqTransport(client, wall_clock=lambda: sim.world.now)
            polled = Care(fail_once=True)
            poller.on_inbound(polled)
            sim.inject_inbound_text(SON, f"{CANARY} for Dad")
            store = MemoryEventStore()
            first = await poller.poll_once(store)
            second = await poller.poll_once(store)

    assert f"{CANARY} taken at 9" in care.texts()
    assert f"{CANARY} for Dad" in polled.texts()
    assert (1, 0) == (len(first.failed_chats), len(second.failed_chats))
    sweep.assert_clean(health_data(FILE_BYTES.decode(), *upload_signatures(wire.requests)))
    lines = "\n".join(sweep.log_lines)  # the paths above ran, and were logged
    assert "re-sent" in lines
    assert "did not work: BlockedError (status 403, code 2026" in lines
    assert "capability check: unknown (ProviderError (status 503" in lines
    assert "polling chat" in lines
    assert "raised at:" in lines
    assert "retrying in" in lines
