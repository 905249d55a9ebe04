"""docs/outbox.md's medication reminder, run as written over the in-memory adapter."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from adapters.memory import InMemoryTransport, RecipientKind
from caresupport_transport import InboundEvent, Service
from caresupport_transport.inbound import MemoryEventStore
from tests.unit.inbound.builders import FakeClock

DOC = Path(__file__).resolve().parents[2] / "docs" / "outbox.md"
MUM = "+16515550101"


def example(name: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- example:{re.escape(name)} -->\n```python\n(.*?)```\n", text, re.S)
    assert match is not None, f"docs/outbox.md lost its {name!r} example"
    return match.group(1)


@attrs.define
class Pager:
    pages: list[str] = attrs.Factory(list)

    async def page(self, text: str) -> None:
        self.pages.append(text)


async def test_the_reminder_fails_is_resent_by_sms_and_the_coordinator_is_paged_once() -> None:
    transport = InMemoryTransport(seed=3)
    transport.world.add_recipient(MUM, RecipientKind.IMESSAGE)
    transport.world.fail_next_send(MUM)  # the iMessage
    transport.world.fail_next_send(MUM)  # the SMS re-send
    heard: list[InboundEvent] = []

    async def care_logic(event: InboundEvent) -> None:
        heard.append(event)

    coordinators = Pager()
    names: dict[str, Any] = {
        "outbox_store": MemoryEventStore(),
        "transport": transport,
        "coordinators": coordinators,
        "care_logic": care_logic,
    }
    code = compile(
        example("medication-reminder"),
        f"{DOC}#medication-reminder",
        "exec",
        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
    )
    await eval(code, names)
    outbox, worker = names["outbox"], names["worker"]
    clock = FakeClock(datetime.now(UTC))
    outbox.clock = clock

    await transport.advance(60)  # the iMessage fails
    clock.advance(timedelta(minutes=2))
    await worker.drain()  # the grace passed: re-sent by SMS
    await transport.advance(60)  # the SMS fails too
    clock.advance(timedelta(minutes=15))
    await worker.drain()
    clock.advance(timedelta(hours=1))
    await worker.drain()

    assert [Service.IMESSAGE, Service.SMS] == [m.service for m in transport.sent]
    [page] = coordinators.pages
    assert names["intent_id"] in page
    assert "failed" in page
    status = await outbox.status(names["intent_id"])
    assert ("failed", "undelivered") == status.fired
    assert heard, "the care logic still hears every event"
