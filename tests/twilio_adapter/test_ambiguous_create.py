"""Twilio has no idempotency key, yet one key never makes two texts (``docs/twilio.md``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.twilio import SqliteKeyStore, TwilioProvider
from adapters.twilio.provider import KEY_PARAMETER
from caresupport_transport import OutgoingMessage, TransportError, TransportTimeoutError
from caresupport_transport.transport import ProviderTransport

from .support import GRANDSON, rig

PILLS = OutgoingMessage.of_text("Pills at 9: the blue ones, with water.")


async def test_a_timeout_after_twilio_made_the_text_is_reconciled_into_one_text() -> None:
    async with rig() as r:
        r.simulator.lose_next_answer()
        receipt = await r.transport.send_message(
            "sms:" + GRANDSON.value, PILLS, idempotency_key="k1"
        )
        again = await r.transport.send_message("sms:" + GRANDSON.value, PILLS, idempotency_key="k1")

        sent = r.simulator.texts_to(GRANDSON)
        assert 1 == r.simulator.transport().lost
        assert [PILLS.text] == [m.text for m in sent]
        assert (receipt.message_ids, 1) == (again.message_ids, r.simulator.creates)
        assert r.simulator.sid_of(sent[0].id) == receipt.message_ids[0]


async def test_a_5xx_after_twilio_made_the_text_is_not_retried_blindly() -> None:
    async with rig() as r:
        r.simulator.fail_next_create(503)
        receipt = await r.transport.send_message(
            "sms:" + GRANDSON.value, PILLS, idempotency_key="k1"
        )

        assert (1, 1) == (len(r.simulator.texts_to(GRANDSON)), r.simulator.creates)
        assert r.simulator.sid_of(r.simulator.texts_to(GRANDSON)[0].id) == receipt.message_ids[0]


async def test_a_timeout_before_twilio_acted_raises_outcome_unknown_then_the_retry_sends_once() -> (
    None
):
    async with rig() as r:
        r.simulator.transport().drop_next_post()
        with pytest.raises(TransportTimeoutError) as lost:
            await r.transport.send_message("sms:" + GRANDSON.value, PILLS, idempotency_key="k1")
        assert (True, "k1") == (lost.value.outcome_unknown, lost.value.idempotency_key)
        assert [] == r.simulator.texts_to(GRANDSON)
        assert r.provider.ambiguous_since("k1") is not None

        receipt = await r.transport.send_message(
            "sms:" + GRANDSON.value, PILLS, idempotency_key="k1"
        )
        again = await r.transport.send_message("sms:" + GRANDSON.value, PILLS, idempotency_key="k1")

        assert [PILLS.text] == [m.text for m in r.simulator.texts_to(GRANDSON)]
        assert receipt.message_ids == again.message_ids
        assert r.provider.ambiguous_since("k1") is None


async def test_the_retry_of_an_ambiguous_create_adopts_a_text_that_shows_up_late() -> None:
    """The answer was lost and the list did not show the text yet: the retry must not send."""
    async with rig() as r:
        r.simulator.transport().drop_next_post()
        with pytest.raises(TransportError):
            await r.transport.send_message("sms:" + GRANDSON.value, PILLS, idempotency_key="k1")
        # Twilio made it after all (the request was slow, not lost).
        made = r.simulator.world.send(
            r.simulator.world.create_conversation([GRANDSON]).id, PILLS.parts
        )

        receipt = await r.transport.send_message(
            "sms:" + GRANDSON.value, PILLS, idempotency_key="k1"
        )

        assert [made.id] == [m.id for m in r.simulator.texts_to(GRANDSON)]
        assert (r.simulator.sid_of(made.id),) == receipt.message_ids


async def test_reconciling_never_adopts_a_text_another_key_already_owns() -> None:
    """The same reminder twice on purpose (two keys) is two texts, even across a lost answer."""
    async with rig() as r:
        first = await r.transport.send_message("sms:" + GRANDSON.value, PILLS, idempotency_key="a")
        r.simulator.transport().drop_next_post()
        with pytest.raises(TransportError):
            await r.transport.send_message("sms:" + GRANDSON.value, PILLS, idempotency_key="b")
        second = await r.transport.send_message("sms:" + GRANDSON.value, PILLS, idempotency_key="b")

        assert 2 == len(r.simulator.texts_to(GRANDSON))
        assert first.message_ids != second.message_ids


async def test_the_status_callback_url_carries_the_idempotency_key() -> None:
    async with rig() as r:
        receipt = await r.transport.send_message(
            "sms:" + GRANDSON.value, PILLS, idempotency_key="k&1"
        )

        callback = r.simulator.status_callbacks[receipt.message_ids[0]]
        assert f"https://care.example.org/twilio/status?family=lindqvist&{KEY_PARAMETER}=k%261" == (
            callback
        )


async def test_another_process_retrying_the_key_finds_the_text_in_the_durable_records(
    tmp_path: Path,
) -> None:
    """A worker crashed after an ambiguous create; the next one reconciles, it does not resend."""
    async with rig() as r:
        first = TwilioProvider(
            r.client, clock=lambda: r.world.now, records=SqliteKeyStore(tmp_path / "k.sqlite3")
        )
        r.simulator.transport().drop_next_post()
        with pytest.raises(TransportError):
            await ProviderTransport(first).send_message(
                f"sms:{GRANDSON.value}", PILLS, idempotency_key="k1"
            )
        # Twilio made it after all; the worker that sent it is gone.
        made = r.world.send(r.world.create_conversation([GRANDSON]).id, PILLS.parts)
        second = TwilioProvider(
            r.client, clock=lambda: r.world.now, records=SqliteKeyStore(tmp_path / "k.sqlite3")
        )
        receipt = await ProviderTransport(second).send_message(
            f"sms:{GRANDSON.value}", PILLS, idempotency_key="k1"
        )
        third = TwilioProvider(r.client, records=SqliteKeyStore(tmp_path / "k.sqlite3"))
        again = await ProviderTransport(third).send_message(
            f"sms:{GRANDSON.value}", PILLS, idempotency_key="k1"
        )

        assert [made.id] == [m.id for m in r.simulator.texts_to(GRANDSON)]
        assert (r.simulator.sid_of(made.id),) == receipt.message_ids == again.message_ids
