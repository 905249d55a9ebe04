"""Fuzz: ``LinqTransport`` over answers that are real, bent, broken or foreign.

Every request goes to the Linq simulator; hypothesis then keeps its answer,
bends it (a value replaced or a key removed), swaps it for random JSON or
bytes, or changes its status. Whatever comes back, a transport operation
returns or raises one of the library's errors: never a ``KeyError`` from the
domain mapping, never an httpx or cattrs error.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.linq import LinqClient, LinqConfig, LinqTransport
from adapters.linq.simulator import IN_PROCESS_BASE_URL, Simulator
from adapters.memory import RecipientKind
from caresupport_transport.content import OutgoingMessage, Reaction, ReactionKind
from caresupport_transport.errors import TransportError
from caresupport_transport.handles import Handle
from caresupport_transport.inbound import MemoryEventStore

from .strategies import json_values, near

GRANDMA = "+16515550101"
NURSE = "+16515550102"
SON = "+16515550103"
STATUSES = [200, 201, 202, 204, 400, 401, 403, 404, 409, 429, 500, 503]

Operation = Callable[[LinqTransport, str, str], Awaitable[object]]


async def drain(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


OPERATIONS: dict[str, Operation] = {
    "send_message": lambda t, chat, _: t.send_message(chat, OutgoingMessage.of_text("Pills at 9")),
    "send_long_message": lambda t, chat, _: t.send_message(
        chat, OutgoingMessage.of_text("Her pills are in the blue box. " * 40)
    ),
    "start_conversation": lambda t, _, __: t.start_conversation(
        [Handle(NURSE)], OutgoingMessage.of_text("Hello from CareSupport")
    ),
    "first_send_to_a_new_person": lambda t, _, __: t.send_message(
        f"pending:{SON}", OutgoingMessage.of_text("Hello")
    ),
    "conversation_for": lambda t, _, __: t.conversation_for(Handle(SON)),
    "get_conversation": lambda t, chat, _: t.get_conversation(chat),
    "get_message": lambda t, _, message: t.get_message(message),
    "messages": lambda t, chat, _: drain(t.messages(chat)),
    "conversations": lambda t, _, __: drain(t.conversations(page_size=2)),
    "capabilities": lambda t, _, __: t.capabilities(Handle(GRANDMA)),
    "react": lambda t, _, message: t.react(message, Reaction(ReactionKind.LOVE)),
    "start_typing": lambda t, chat, _: t.start_typing(chat),
    "mark_read": lambda t, chat, _: t.mark_read(chat),
    "upload_attachment": lambda t, _, __: t.upload_attachment(
        b"%PDF-1.7", filename="plan.pdf", content_type="application/pdf"
    ),
    "poll_once": lambda t, _, __: t.poll_once(MemoryEventStore()),
}

bends = st.sampled_from(["keep", "keep", "bend", "bend", "bend", "json", "bytes", "status"])


class Bender(httpx.AsyncBaseTransport):
    """The simulator's answer, then bent as hypothesis draws."""

    def __init__(self, sim: Simulator, data: st.DataObject) -> None:
        self.inner = sim.transport()
        self.data = data

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        real = await self.inner.handle_async_request(request)
        content = await real.aread()
        status = real.status_code
        how = self.data.draw(bends, label=f"{request.method} {request.url.path}")
        if how == "bend" and content:
            try:
                payload = json.loads(content)
            except ValueError:
                payload = None
            if payload is not None:
                content = json.dumps(self.data.draw(near(payload))).encode()
        elif how == "json":
            content = json.dumps(self.data.draw(json_values)).encode()
        elif how == "bytes":
            content = self.data.draw(st.binary(max_size=40))
        elif how == "status":
            status = self.data.draw(st.sampled_from(STATUSES))
        headers = [(k, v) for k, v in real.headers.items() if k.lower() != "content-length"]
        return httpx.Response(status, headers=headers, content=content)


async def no_wait(_: float) -> None:
    return None


async def scenario(name: str, data: st.DataObject) -> TransportError | None:
    """Run one operation; the library's own error it raised, if any."""
    sim = Simulator()
    for handle, kind in (
        (GRANDMA, RecipientKind.IMESSAGE),
        (NURSE, RecipientKind.RCS),
        (SON, RecipientKind.SMS_ONLY),
    ):
        sim.add_recipient(handle, kind)
    async with sim.client() as api:
        chat = (
            await api.post(
                "/v3/chats",
                json={
                    "from": sim.phone,
                    "to": [GRANDMA],
                    "message": {"parts": [{"type": "text", "value": "Morning, Mum"}]},
                },
            )
        ).json()["chat"]
    sim.inject_inbound_text(GRANDMA, "Did I take the 9am ones?")
    config = LinqConfig(
        api_token=sim.token, phone_number=sim.phone, base_url=IN_PROCESS_BASE_URL, max_attempts=2
    )
    async with (
        httpx.AsyncClient(transport=Bender(sim, data)) as http,
        LinqClient(config, http=http, sleep=no_wait) as client,
    ):
        transport = LinqTransport(client)
        try:
            await OPERATIONS[name](transport, chat["id"], chat["message"]["id"])
        except TransportError as exc:
            return exc  # the library's own error is a fine answer to nonsense; nothing else is
    return None


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(OPERATIONS)), data=st.data())
async def test_any_answer_to_any_transport_operation_raises_only_the_librarys_errors(
    name: str, data: st.DataObject
) -> None:
    await scenario(name, data)


async def test_every_fuzzed_operation_works_when_nothing_is_bent() -> None:
    """The fuzzing starts from answers the transport accepts: each operation succeeds."""

    class Unbent:
        def draw(self, strategy: Any, label: str | None = None) -> str:
            return "keep"

    errors = {name: await scenario(name, Unbent()) for name in sorted(OPERATIONS)}  # type: ignore[arg-type]

    assert {name: None for name in OPERATIONS} == errors
