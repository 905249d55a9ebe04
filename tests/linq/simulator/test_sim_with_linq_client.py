"""The real ``LinqClient`` against the simulator in-process: the wire formats agree."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.linq import LinqClient, LinqConfig, LinqTransport
from adapters.linq.simulator import IN_PROCESS_BASE_URL, FaultKind, FaultTiming, Simulator
from adapters.linq.wire_account import AttachmentStatus
from caresupport_transport.capabilities import Service
from caresupport_transport.content import MediaPart, OutgoingMessage, Reaction, ReactionKind
from caresupport_transport.errors import NotFoundError, ProviderError, RateLimitedError

from .support import AUNT, COUSIN, GRANDMA, NURSE, SON, UNCLE, WEBHOOK_URL, FakeSleep

BASE_URL = IN_PROCESS_BASE_URL


@pytest.fixture
async def linq(sim: Simulator, sleeps: FakeSleep) -> AsyncIterator[LinqClient]:
    config = LinqConfig(api_token=sim.token, phone_number=sim.phone, base_url=BASE_URL)
    async with (
        sim.client(base_url=BASE_URL) as http,
        LinqClient(config, http=http, sleep=sleeps) as client,
    ):
        yield client


async def test_a_chat_is_created_and_a_message_sent_through_the_client(
    linq: LinqClient, sim: Simulator
) -> None:
    chat = await linq.create_chat([GRANDMA], OutgoingMessage.of_text("Morning, Mum"))
    sent = await linq.send_message(chat.id, OutgoingMessage.of_text("Pills at 9"))
    assert (Service.IMESSAGE, chat.id) == (chat.service, sent.chat_id)
    assert 1 == sim.counters.messages_by_idempotency_key[sent.idempotency_key]
    fetched = await linq.get_message(sent.message.id)
    assert fetched.id == sent.message.id


async def test_the_client_retries_a_dropped_send_without_duplicating_it(
    linq: LinqClient, sim: Simulator
) -> None:
    chat = await linq.create_chat([SON], OutgoingMessage.of_text("Hello"))
    sim.faults.script(
        FaultKind.DROP, timing=FaultTiming.AFTER, route="POST /v3/chats/{chatId}/messages"
    )
    sent = await linq.send_message(chat.id, OutgoingMessage.of_text("Appointment moved to 3pm"))
    assert 1 == sim.counters.messages_by_idempotency_key[sent.idempotency_key]
    assert 2 == sim.counters.requests["POST /v3/chats/{chatId}/messages"]
    assert 2 == len(sim.world.messages)


async def test_the_client_honours_retry_after_from_a_429(
    linq: LinqClient, sim: Simulator, sleeps: FakeSleep
) -> None:
    sim.faults.script(FaultKind.RATE_LIMIT, route="GET /v3/phone_numbers", retry_after=3)
    numbers = await linq.list_phone_numbers()
    assert [sim.phone] == [str(n.phone_number) for n in numbers]
    assert 3 in sleeps.calls


async def test_the_client_pages_through_every_chat(linq: LinqClient, sim: Simulator) -> None:
    for i in range(7):
        await linq.create_chat([f"+1651558{i:04d}"], OutgoingMessage.of_text("Hello"))
    ids = [chat.id async for chat in linq.list_chats(limit=3)]
    assert sorted(sim.world.conversations) == sorted(ids)
    assert 3 == sim.counters.requests["GET /v3/chats"]


async def test_the_client_uploads_a_file_and_sends_it(linq: LinqClient, sim: Simulator) -> None:
    attachment = await linq.upload(b"%PDF-1.7 care plan", "care-plan.pdf", "application/pdf")
    chat = await linq.create_chat([GRANDMA], OutgoingMessage.of_text("Here is the plan"))
    await linq.send_message(chat.id, OutgoingMessage((MediaPart(attachment_id=attachment.id),)))
    info = await linq.get_attachment(attachment.id)
    assert (b"%PDF-1.7 care plan", AttachmentStatus.COMPLETE) == (
        sim.world.attachment_data[attachment.id],
        info.status,
    )


async def test_capability_checks_through_the_client(linq: LinqClient) -> None:
    imessage = await linq.check_imessage(GRANDMA)
    rcs = await linq.check_rcs(NURSE)
    sms_only = await linq.check_imessage(SON)
    assert (True, True, False) == (imessage.available, rcs.available, sms_only.available)


async def test_a_webhook_subscription_through_the_client_returns_its_secret(
    linq: LinqClient, sim: Simulator
) -> None:
    created = await linq.create_webhook_subscription(WEBHOOK_URL, ["message.received"])
    assert created.signing_secret is not None
    assert sim.backend.subscriptions[created.id].secret == created.signing_secret.reveal()


async def test_group_actions_reactions_and_edits_through_the_client(
    linq: LinqClient, sim: Simulator
) -> None:
    group = await linq.create_chat([AUNT, UNCLE, COUSIN], OutgoingMessage.of_text("Hi all"))
    await linq.add_participant(group.id, GRANDMA)
    await linq.remove_participant(group.id, UNCLE)
    await linq.update_chat(group.id, display_name="Mum's care")
    await linq.react(group.message.id, Reaction(ReactionKind.LOVE))
    edited = await linq.edit_message(group.message.id, "Hi everyone")
    assert "Hi everyone" == sim.world.messages[edited.id].text
    assert "Mum's care" == (await linq.get_chat(group.id)).display_name


async def test_refusals_reach_the_client_as_the_librarys_errors(linq: LinqClient) -> None:
    with pytest.raises(NotFoundError) as missing:
        await linq.get_chat("no-such-chat")
    assert (404, 2001) == (missing.value.status, missing.value.code)
    assert missing.value.trace_id
    chat = await linq.create_chat([SON], OutgoingMessage.of_text("Hello"))
    with pytest.raises(ProviderError) as refused:
        await linq.start_typing(chat.id)
    assert 400 == refused.value.status


async def test_a_send_that_failed_after_taking_effect_says_so_and_names_its_key(
    linq: LinqClient, sim: Simulator
) -> None:
    transport = LinqTransport(linq)
    chat = await linq.create_chat([SON], OutgoingMessage.of_text("Hello"))
    route = "POST /v3/chats/{chatId}/messages"
    sim.faults.script(FaultKind.DROP, timing=FaultTiming.AFTER, route=route)
    sim.faults.script(FaultKind.RATE_LIMIT, route=route, retry_after=600)

    with pytest.raises(RateLimitedError) as caught:
        await transport.send_message(chat.id, OutgoingMessage.of_text("Dinner at 6"))
    error = caught.value
    assert error.idempotency_key is not None
    assert (True, 1) == (
        error.outcome_unknown,
        sim.counters.messages_by_idempotency_key[error.idempotency_key],
    )

    receipt = await transport.send_message(
        chat.id, OutgoingMessage.of_text("Dinner at 6"), idempotency_key=error.idempotency_key
    )
    assert 1 == sim.counters.messages_by_idempotency_key[receipt.idempotency_key]
    assert 2 == len(sim.world.messages)


async def test_a_send_refused_before_taking_effect_is_not_flagged_unknown(
    linq: LinqClient, sim: Simulator
) -> None:
    transport = LinqTransport(linq)
    chat = await linq.create_chat([SON], OutgoingMessage.of_text("Hello"))
    sim.faults.script(
        FaultKind.RATE_LIMIT, route="POST /v3/chats/{chatId}/messages", retry_after=600
    )

    with pytest.raises(RateLimitedError) as caught:
        await transport.send_message(
            chat.id, OutgoingMessage.of_text("Dinner at 6"), idempotency_key="dinner-1"
        )
    assert ("dinner-1", False) == (caught.value.idempotency_key, caught.value.outcome_unknown)
    assert 1 == len(sim.world.messages)


async def test_the_client_updates_the_contact_card_the_simulator_keeps(
    linq: LinqClient, sim: Simulator
) -> None:
    """``update_contact_card`` sends the line as ``?phone_number=``, read there by the simulator."""
    updated = await linq.update_contact_card(first_name="Care Team", last_name="Nurses")

    assert (sim.phone, "Care Team", "Nurses") == (
        updated.phone_number,
        updated.first_name,
        updated.last_name,
    )
    card = sim.backend.contact_cards[sim.phone]
    assert ("Care Team", "Nurses") == (card.first_name, card.last_name)
    listed = await linq.get_contact_cards(phone_number=sim.phone)
    assert [("Care Team", "Nurses")] == [(c.first_name, c.last_name) for c in listed]
