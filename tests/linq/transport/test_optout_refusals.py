"""LinqTransport and Linq's refusals: 403 / 2024 and 403 / 2026 as domain errors, then no I/O.

A process that has not heard of an opt-out (or a block) sends; Linq's 403 is the
backstop, and from then on that process refuses before any request.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from adapters.linq import LinqClient, LinqConfig, LinqProvider, LinqTransport, codes
from adapters.linq.simulator import IN_PROCESS_BASE_URL, Simulator
from adapters.memory import RecipientKind, World
from caresupport_transport import (
    BlockedError,
    ConversationHealth,
    Handle,
    OptedOutError,
    OutgoingMessage,
    Reaction,
    ReactionKind,
    Service,
)
from caresupport_transport.redact import mask_handle

GRANDMA = Handle("+16515550101")
SON = Handle("+16515550103")
NEPHEW = Handle("+16515550107")
NOTE = OutgoingMessage.of_text("The pharmacy called about the refill.")


async def _no_sleep(seconds: float) -> None:
    return None


@contextlib.asynccontextmanager
async def _linq(sim: Simulator) -> AsyncIterator[LinqTransport]:
    """A fresh LinqTransport on ``sim``: another process, knowing nothing yet."""
    async with httpx.AsyncClient(transport=sim.transport()) as http:
        config = LinqConfig(
            api_token=sim.token, phone_number=sim.phone, base_url=IN_PROCESS_BASE_URL
        )
        yield LinqTransport(LinqClient(config, http=http, sleep=_no_sleep))


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(world=World(seed=7), sleep=_no_sleep) as simulator:
        simulator.add_recipient(GRANDMA)
        simulator.add_recipient(SON)
        yield simulator


async def test_a_403_2024_becomes_opted_out_error_and_the_next_send_makes_no_request(
    sim: Simulator,
) -> None:
    async with _linq(sim) as first:
        chat = (await first.start_conversation([GRANDMA], NOTE)).conversation
    sim.opt_out(GRANDMA)  # heard by another process, not this one
    async with _linq(sim) as later:
        with pytest.raises(OptedOutError) as refused:
            await later.send_message(chat.id, NOTE)
        assert (GRANDMA, 403, codes.RECIPIENT_OPTED_OUT) == (
            refused.value.person,
            refused.value.status,
            refused.value.code,
        )
        assert refused.value.idempotency_key is not None
        before = sim.counters.total_requests
        with pytest.raises(OptedOutError):
            await later.send_message(chat.id, NOTE)
        with pytest.raises(OptedOutError):
            await later.start_conversation([GRANDMA], NOTE)
        assert before == sim.counters.total_requests


async def test_a_403_2026_becomes_blocked_error_and_the_next_send_makes_no_request(
    sim: Simulator,
) -> None:
    sim.block(SON)
    async with _linq(sim) as linq:
        with pytest.raises(BlockedError) as refused:
            await linq.start_conversation([SON], NOTE)
        assert (SON, codes.HANDLE_ON_BLOCKLIST) == (refused.value.handle, refused.value.code)
        before = sim.counters.total_requests
        with pytest.raises(BlockedError):
            await linq.start_conversation([SON], NOTE)
        assert before == sim.counters.total_requests
        assert [SON] == [entry.handle for entry in await linq.blocked()]


async def test_a_403_2024_on_a_chat_never_read_names_the_person_after_one_read(
    sim: Simulator,
) -> None:
    async with _linq(sim) as first:
        chat = (await first.start_conversation([GRANDMA], NOTE)).conversation
    sim.opt_out(GRANDMA)
    async with httpx.AsyncClient(transport=sim.transport()) as http:
        config = LinqConfig(
            api_token=sim.token, phone_number=sim.phone, base_url=IN_PROCESS_BASE_URL
        )
        provider = LinqProvider(LinqClient(config, http=http, sleep=_no_sleep))
        sim.counters.reset()
        with pytest.raises(OptedOutError) as refused:
            await provider.send(
                chat.id, NOTE, service=Service.IMESSAGE, pinned=False, idempotency_key="k-1"
            )
    assert (GRANDMA, codes.RECIPIENT_OPTED_OUT, "k-1") == (
        refused.value.person,
        refused.value.code,
        refused.value.idempotency_key,
    )
    assert [
        ("POST /v3/chats/{chatId}/messages", 403),
        ("GET /v3/chats/{chatId}", 200),
    ] == [(r.route, r.status) for r in sim.counters.log]


async def test_a_tapback_as_text_refused_403_2024_teaches_the_transport_the_opt_out(
    sim: Simulator,
) -> None:
    sim.add_recipient(NEPHEW, RecipientKind.SMS_ONLY)
    async with _linq(sim) as first:
        chat = (await first.start_conversation([NEPHEW], NOTE)).conversation
    question = sim.inject_inbound_text(NEPHEW, "Can you drive Tuesday?")
    sim.opt_out(NEPHEW)  # heard by another process
    async with _linq(sim) as later:
        # The message names its service, so the transport never reads the chat itself.
        with pytest.raises(OptedOutError) as refused:
            await later.react(question.id, Reaction(ReactionKind.LIKE))
        assert NEPHEW == refused.value.person
        before = sim.counters.total_requests
        with pytest.raises(OptedOutError):
            await later.send_message(chat.id, NOTE)
        assert before == sim.counters.total_requests


async def test_a_chat_read_as_opted_out_teaches_the_transport(sim: Simulator) -> None:
    async with _linq(sim) as first:
        chat = (await first.start_conversation([GRANDMA], NOTE)).conversation
    sim.inject_inbound_text(GRANDMA, "STOP")
    async with _linq(sim) as later:
        read = await later.get_conversation(chat.id)
        before = sim.counters.total_requests
        with pytest.raises(OptedOutError):
            await later.send_message(chat.id, NOTE)
        assert (ConversationHealth.OPTED_OUT, before) == (read.health, sim.counters.total_requests)


async def test_the_chat_health_linq_reports_is_the_conversation_health(sim: Simulator) -> None:
    async with _linq(sim) as linq:
        chat = (await linq.start_conversation([GRANDMA], NOTE)).conversation
        sim.set_health(chat.id, ConversationHealth.CRITICAL)
        assert ConversationHealth.CRITICAL == (await linq.get_conversation(chat.id)).health
        listed = [c.health async for c in linq.conversations()]
        assert [ConversationHealth.CRITICAL] == listed


async def test_an_override_is_logged_masked_without_the_message(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    async with _linq(sim) as linq:
        chat = (await linq.start_conversation([GRANDMA], NOTE)).conversation
        sim.inject_inbound_text(GRANDMA, "STOP")
        await linq.get_conversation(chat.id)
        with caplog.at_level(logging.INFO, logger="caresupport_transport"):
            receipt = await linq.send_message(chat.id, NOTE, override_optout=True)
    assert (GRANDMA,) == receipt.opt_out_overridden
    assert 1 == sim.counters.opt_out_overrides
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert mask_handle(GRANDMA) in logged
    assert GRANDMA.value not in logged
    assert "pharmacy" not in logged
