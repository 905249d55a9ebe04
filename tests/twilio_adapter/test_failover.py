"""Failover: Linq first, Twilio SMS when Linq is unreachable or its line is flagged (explicit)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from adapters.linq import LinqClient, LinqConfig, LinqTransport
from adapters.linq.simulator import IN_PROCESS_BASE_URL, FaultKind, FaultTiming, Simulator
from adapters.memory import InMemoryTransport, RecipientKind, World
from caresupport_transport import (
    Handle,
    LineStatus,
    LineStatusChanged,
    OutgoingMessage,
    Service,
    UnreachableError,
)
from caresupport_transport.failover import Failover, FailoverReason

from .support import GRANDSON, rig

PILLS = OutgoingMessage.of_text("Pills at 9: the blue ones, with water.")
LINE = Handle("+16515550100")


async def _no_sleep(seconds: float) -> None:
    """Back-off waits on nothing here."""


def unreachable_linq(attempts: list[httpx.Request]) -> LinqTransport:
    """A Linq transport whose every request fails before reaching Linq (connection refused)."""

    def refuse(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    config = LinqConfig(api_token="t", phone_number=LINE.value, base_url="https://linq.test")
    return LinqTransport(LinqClient(config, http=http, sleep=_no_sleep))


async def test_while_linq_works_it_carries_the_text_and_twilio_sends_nothing() -> None:
    linq = InMemoryTransport(seed=1)
    linq.world.add_recipient(GRANDSON, RecipientKind.SMS_ONLY)
    async with rig() as r:
        sent = await Failover(linq, r.transport).send_to(GRANDSON, PILLS, idempotency_key="p")
        assert ("primary", None, []) == (sent.via, sent.reason, r.simulator.texts_to(GRANDSON))
        assert 1 == len(linq.sent)


async def test_an_unreachable_linq_fails_over_to_twilio_sms_and_the_receipt_says_so() -> None:
    attempts: list[httpx.Request] = []
    async with rig() as r:
        failover = Failover(unreachable_linq(attempts), r.transport)
        sent = await failover.send_to(GRANDSON, PILLS, idempotency_key="p")

        assert ("fallback", FailoverReason.PRIMARY_UNREACHABLE, Service.SMS) == (
            sent.via,
            sent.reason,
            sent.receipt.service,
        )
        assert [PILLS.text] == [m.text for m in r.simulator.texts_to(GRANDSON)]
        assert attempts  # Linq was tried first


async def test_a_linq_send_whose_outcome_is_unknown_is_not_failed_over() -> None:
    """The text may have gone over Linq: a second one from another number would be a duplicate."""
    async with (
        Simulator(world=World(seed=3), sleep=_no_sleep) as linq_sim,
        httpx.AsyncClient(transport=linq_sim.transport()) as http,
        rig() as r,
    ):
        linq_sim.add_recipient(GRANDSON, RecipientKind.SMS_ONLY)
        config = LinqConfig(
            api_token=linq_sim.token, phone_number=linq_sim.phone, base_url=IN_PROCESS_BASE_URL
        )
        linq = LinqTransport(LinqClient(config, http=http, sleep=_no_sleep))
        linq_sim.faults.script(
            FaultKind.DROP, timing=FaultTiming.AFTER, route="POST /v3/messages", times=20
        )
        with pytest.raises(UnreachableError) as unknown:
            await Failover(linq, r.transport).send_to(GRANDSON, PILLS, idempotency_key="p")

        assert unknown.value.outcome_unknown
        assert 1 == len([m for m in linq_sim.world.messages.values() if m.text == PILLS.text])
        assert [] == r.simulator.texts_to(GRANDSON)


async def test_a_flagged_line_sends_over_twilio_without_trying_linq_until_it_is_active() -> None:
    linq = InMemoryTransport(seed=1)
    linq.world.add_recipient(GRANDSON, RecipientKind.SMS_ONLY)
    async with rig() as r:
        failover = Failover(linq, r.transport)
        now = datetime(2026, 12, 3, tzinfo=UTC)
        failover.observe(LineStatusChanged("e1", now, LINE, LineStatus.FLAGGED))
        down = await failover.send_to(GRANDSON, PILLS, idempotency_key="p1")
        failover.observe(LineStatusChanged("e2", now, LINE, LineStatus.ACTIVE))
        up = await failover.send_to(GRANDSON, PILLS, idempotency_key="p2")

        assert [("fallback", FailoverReason.LINE_DOWN), ("primary", None)] == [
            (down.via, down.reason),
            (up.via, up.reason),
        ]
        assert (1, 1) == (len(r.simulator.texts_to(GRANDSON)), len(linq.sent))


async def test_with_the_policy_off_an_unreachable_linq_raises() -> None:
    async with rig() as r:
        failover = Failover(unreachable_linq([]), r.transport, on_unreachable=False)
        with pytest.raises(UnreachableError):
            await failover.send_to(GRANDSON, PILLS, idempotency_key="p")
        assert [] == r.simulator.texts_to(GRANDSON)
