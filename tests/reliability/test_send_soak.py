"""Soak: 2,000 sends through ``LinqTransport`` into a Linq simulator failing 40% of sends.

Faults per request to the send route: 20% 5xx (500 and 503), 10% 429 with a
one-second ``Retry-After``, 5% dropped connections and 5% hangs. Except for
429, which Linq answers before acting, each fault strikes before or after the
message is created, by a seeded coin: a fault *after* is the case idempotency
keys exist for. Waiting between attempts is virtual. In the big run a hang
raises the read timeout at once (the simulator's sleep is virtual too); a
smaller run lets hangs really hang and relies on the client's own deadline.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable

import httpx
import pytest

from adapters.linq import LinqClient, LinqConfig, LinqTransport
from adapters.linq.simulator import IN_PROCESS_BASE_URL, Faults, FaultTiming, Simulator
from adapters.memory import RecipientKind
from caresupport_transport.content import OutgoingMessage
from caresupport_transport.errors import ProviderError, TransportError
from caresupport_transport.handles import Handle

from .figures import FIGURES
from .sending import (
    SEND_ROUTE,
    KeyRecordingTransport,
    Outcome,
    VirtualSleep,
    attempts_by_key,
)

pytestmark = pytest.mark.reliability

SENDS = 2_000
CHATS = 20
MAX_ATTEMPTS = 4
RETRY_BUDGET_SECONDS = 30.0
SEED = 20_260_206

FAULTS = Faults(
    rate_500=0.10,
    rate_503=0.10,
    rate_429=0.10,
    retry_after=1.0,
    rate_drop=0.05,
    rate_hang=0.05,
    hang_seconds=30.0,
    timing=FaultTiming.EITHER,
    routes=[SEND_ROUTE],
    seed=SEED,
)


async def no_wait(_: float) -> None:
    return None


async def hang_forever(_: float) -> None:
    await asyncio.Event().wait()


class SendSoak:
    """Runs the sends (one worker per chat, one send after another) and keeps what they did.

    Args:
        sends: how many sends.
        faults: the simulator's faults once the chats are open.
        hang: what a hanging simulator waits with.
        timeout: the client's deadline per attempt, in (real) seconds.
    """

    def __init__(
        self,
        sends: int,
        faults: Faults,
        *,
        hang: Callable[[float], Awaitable[None]] = no_wait,
        timeout: float = 5.0,
    ) -> None:
        self.sends = sends
        self.faults = faults
        self.sim = Simulator(seed=SEED, sleep=hang)
        self.wire = KeyRecordingTransport(self.sim.transport())
        self.sleep = VirtualSleep()
        self.config = LinqConfig(
            api_token=self.sim.token,
            phone_number=self.sim.phone,
            base_url=IN_PROCESS_BASE_URL,
            max_attempts=MAX_ATTEMPTS,
            retry_budget_seconds=RETRY_BUDGET_SECONDS,
            timeout_seconds=timeout,
        )
        self.outcomes: list[Outcome] = []
        self.waits: dict[str, list[float]] = {}
        self.sends_by_chat: dict[str, list[str]] = defaultdict(list)
        self.texts: dict[str, str] = {}

    async def run(self) -> None:
        async with (
            httpx.AsyncClient(transport=self.wire) as http,
            LinqClient(
                self.config, http=http, sleep=self.sleep, random=random.Random(SEED).random
            ) as linq,
        ):
            transport = LinqTransport(linq)
            chat_ids = [await self._open_chat(transport, n) for n in range(CHATS)]
            self.sim.faults.configure(self.faults)
            await asyncio.gather(
                *(self._worker(transport, chat_id, w) for w, chat_id in enumerate(chat_ids))
            )

    async def _open_chat(self, transport: LinqTransport, n: int) -> str:
        handle = self.sim.add_recipient(f"+1651555{n:04d}", RecipientKind.IMESSAGE)
        started = await transport.start_conversation(
            [Handle(str(handle))], OutgoingMessage.of_text("Hello from CareSupport")
        )
        return started.conversation.id

    async def _worker(self, transport: LinqTransport, chat_id: str, worker: int) -> None:
        for n in range(worker, self.sends, CHATS):
            key = f"soak-send-{n:05d}"
            text = f"Reminder {n}: the 9am tablets are in the blue box."
            self.sends_by_chat[chat_id].append(key)
            self.texts[text] = key
            # A task per send, so the waits recorded are this send's alone.
            send = self._send(transport, chat_id, key, text)
            self.outcomes.append(await asyncio.create_task(send))

    async def _send(self, transport: LinqTransport, chat_id: str, key: str, text: str) -> Outcome:
        self.waits[key] = self.sleep.start_send()
        try:
            receipt = await transport.send_message(
                chat_id, OutgoingMessage.of_text(text), idempotency_key=key
            )
        except TransportError as exc:
            return Outcome(key, chat_id, error=exc)
        (message_id,) = receipt.message_ids
        return Outcome(key, chat_id, message_id=message_id)

    def created(self) -> dict[str, str]:
        """Each soak message the simulator holds, by the key it was sent under.

        Raises:
            AssertionError: a text held twice (a key changed between retries would
                make two messages under two keys).
        """
        found = Counter(
            message.text
            for message in self.sim.world.messages.values()
            if message.text in self.texts
        )
        assert [] == [text for text, count in found.items() if count > 1]
        return {
            self.texts[message.text]: message.id
            for message in self.sim.world.messages.values()
            if message.text in self.texts
        }


def _kind(error: BaseException | None) -> str:
    if error is None:
        return "receipt"
    if isinstance(error, ProviderError) and error.status is not None:
        return f"{type(error).__name__} {error.status}"
    return type(error).__name__


async def test_two_thousand_faulty_sends_never_duplicate_and_none_vanish() -> None:
    soak = SendSoak(SENDS, FAULTS)
    await soak.run()
    sim = soak.sim

    # Every send is accounted for: a receipt or one of the library's errors.
    assert SENDS == len(soak.outcomes)
    assert SENDS == len({outcome.key for outcome in soak.outcomes})
    by_kind = Counter(_kind(outcome.error) for outcome in soak.outcomes)

    # The same key in the header and the body on every attempt.
    assert [] == soak.wire.mismatched
    attempts_per_key = Counter(soak.wire.keys)
    assert sim.counters.requests[SEND_ROUTE] == sum(attempts_per_key.values())

    # Zero duplicates: per text, and per idempotency key.
    created = soak.created()
    assert [] == [k for k, n in sim.counters.messages_by_idempotency_key.items() if n != 1]

    # Retries stay within the configured attempts and waiting budget.
    assert max(attempts_per_key.values()) <= MAX_ATTEMPTS
    assert max(sum(waits) for waits in soak.waits.values()) <= RETRY_BUDGET_SECONDS
    for outcome in soak.outcomes:
        assert len(soak.waits[outcome.key]) == attempts_per_key[outcome.key] - 1

    # Each attempt's fault, from the simulator's log.
    attempts = attempts_by_key(sim.counters.log, soak.sends_by_chat, attempts_per_key)

    # A receipt names the message that was created, once.
    receipts = {o.key: o.message_id for o in soak.outcomes if o.error is None}
    assert receipts == {key: created[key] for key in receipts}
    # A message exists for a failed send only if some attempt took effect before
    # the answer was lost or broken; a send that failed with no such attempt
    # created nothing.
    failed = [o for o in soak.outcomes if o.error is not None]
    unknown = [o for o in failed if any(a.took_effect for a in attempts[o.key])]
    assert {o.key for o in unknown} == set(created) - set(receipts)
    unknown_by_kind = Counter(_kind(o.error) for o in unknown)

    retries = sum(attempts_per_key.values()) - SENDS
    # Attempts that reached the simulator after the message existed: each would
    # have been a second message without the idempotency key.
    replays = sum(sum(a.took_effect for a in attempts[key]) - 1 for key in created)
    FIGURES.record(
        "sends (LinqTransport against the simulator, 40% faults)",
        sends=SENDS,
        send_requests=sum(attempts_per_key.values()),
        all_api_requests=sim.counters.total_requests,
        retries=retries,
        virtual_seconds_waited=f"{soak.sleep.total:.1f}",
        faults_injected=dict(sorted(sim.counters.faults.items())),
        outcomes=dict(sorted(by_kind.items())),
        messages_created=len(created),
        duplicates_prevented=replays,
        created_but_failed=f"{len(unknown)} {dict(sorted(unknown_by_kind.items()))}",
    )


async def test_hangs_cut_off_by_the_clients_own_deadline_never_duplicate() -> None:
    """200 sends; 15% of attempts hang for good (half after the message was created)
    until the client's 50 ms deadline gives up on them. Real time: about a second."""
    sends = 200
    faults = Faults(rate_hang=0.15, timing=FaultTiming.EITHER, routes=[SEND_ROUTE], seed=SEED)
    soak = SendSoak(sends, faults, hang=hang_forever, timeout=0.05)

    await soak.run()

    assert sends == len(soak.outcomes)
    created = soak.created()
    attempts_per_key = Counter(soak.wire.keys)
    assert max(attempts_per_key.values()) <= MAX_ATTEMPTS
    receipts = {o.key: o.message_id for o in soak.outcomes if o.error is None}
    assert receipts == {key: created[key] for key in receipts}
    failed = {o.key for o in soak.outcomes if o.error is not None}
    assert set(created) - set(receipts) <= failed
    hangs = sum(n for label, n in soak.sim.counters.faults.items() if label.startswith("hang"))
    assert hangs > 20
    FIGURES.record(
        "sends with real hangs (client deadline 50 ms)",
        sends=sends,
        send_requests=sum(attempts_per_key.values()),
        hangs=hangs,
        outcomes=dict(sorted(Counter(_kind(o.error) for o in soak.outcomes).items())),
        messages_created=len(created),
    )
