"""``OutboxWorker``: carries out the outbox's sends and the watchdog's checks.

It is an :class:`~caresupport_transport.inbound.InboxWorker` over the outbox's
queue (the same leases, heartbeats, fencing and retry schedule), whose items
are jobs rather than inbound events:

* **send**: send the intent under its key. A transient failure (no answer, a
  5xx, 408 or 429, a timeout) raises, and the job is retried on the schedule
  under the same key, so the provider creates the message once however often
  the worker dies. A permanent refusal (any other 4xx, a validation error)
  ends the intent ``failed`` with the provider's code and trace id, and the
  undelivered rule fires at once. After a send, the intent's checks are
  queued at their deadlines.
* **check**: one rule for one intent, at its deadline, under a lease on that
  rule of that intent, so several workers never run it twice at once. It acts only if the
  intent has not got there: re-send once over the next service under a key
  derived from the intent's (``<key>:resend-1``), or call ``on_undelivered`` /
  ``on_unread``. The callback runs first and the rule is recorded as fired
  after it returns: a callback that raises is tried again on the schedule,
  and a worker that dies between the two may call it a second time.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import attrs

from caresupport_transport._log_safe import error_summary
from caresupport_transport.capabilities import Service, ServicePreference
from caresupport_transport.errors import (
    AlreadySentError,
    BlockedError,
    ConflictError,
    NotFoundError,
    OptedOutError,
    ProtocolError,
    ProviderError,
    RateLimitedError,
    UnsupportedError,
    ValidationError,
)
from caresupport_transport.inbound.inbox_entry import InboxEntry
from caresupport_transport.inbound.inbox_worker import (
    DEFAULT_CONCURRENCY,
    DEFAULT_INBOX_LEASE,
    DEFAULT_POLL_INTERVAL,
    InboxWorker,
)
from caresupport_transport.inbound.schedule import RetrySchedule
from caresupport_transport.model import DeliveryStatus, SendReceipt
from caresupport_transport.outbound.intent import DeliveryState, IntentStatus
from caresupport_transport.outbound.outbox import Outbox
from caresupport_transport.port import Transport

__all__ = ["DEFAULT_SEND_SCHEDULE", "IntentCallback", "OutboxWorker"]

_log = logging.getLogger(__name__)

IntentCallback = Callable[[IntentStatus], Awaitable[None]]
"""What the watchdog calls: ``async def on_undelivered(status: IntentStatus) -> None``."""

DEFAULT_SEND_SCHEDULE = RetrySchedule(
    first_delay=timedelta(seconds=2),
    max_delay=timedelta(minutes=5),
    give_up_after=timedelta(hours=6),
)
"""Transient send failures: 2 s doubling to 5 minutes, for up to 6 hours, then a dead job."""

_NEXT_SERVICES = {
    Service.IMESSAGE: (ServicePreference.RCS, ServicePreference.SMS),
    Service.RCS: (ServicePreference.SMS,),
}
_SETTLED = frozenset({DeliveryState.DELIVERED, DeliveryState.READ, DeliveryState.CANCELLED})


def _is_permanent(error: Exception) -> bool:
    """Sending again under the same key cannot succeed: a refusal, not an outage."""
    if isinstance(error, ValidationError | UnsupportedError | NotFoundError | ConflictError):
        return True
    if isinstance(error, OptedOutError | BlockedError):
        return True  # refused before any I/O too: never sent later, when it may be stale
    if isinstance(error, RateLimitedError):
        return False
    if isinstance(error, ProviderError) and error.status is not None:
        return 400 <= error.status < 500 and error.status not in (408, 429)
    return False


@attrs.frozen
class _Job:
    op: str
    intent: str
    rule: str | None = None


def _decode_job(entry: InboxEntry) -> _Job:
    try:
        plain = json.loads(entry.payload)
        return _Job(op=plain["op"], intent=plain["intent"], rule=plain.get("rule"))
    except (ValueError, KeyError, TypeError) as exc:
        raise ProtocolError(f"outbox job {entry.id}: not a job this version reads") from exc


@attrs.define
class OutboxWorker:
    """Sends the outbox's intents over ``transport`` and runs its watchdog (module notes).

    Args:
        outbox: the intents, their store and their rules.
        transport: any ``Transport`` (memory, Linq, later Twilio).
        on_undelivered: called once when an intent is not delivered by its deadline
            (or was refused for good).
        on_unread: called once when an intent is not read by its deadline.
        schedule: retries of transient send failures.
        concurrency, lease, poll_interval, sleep, rng: as for ``InboxWorker``.
    """

    outbox: Outbox
    transport: Transport
    on_undelivered: IntentCallback | None = attrs.field(default=None, kw_only=True)
    on_unread: IntentCallback | None = attrs.field(default=None, kw_only=True)
    schedule: RetrySchedule = attrs.field(default=DEFAULT_SEND_SCHEDULE, kw_only=True)
    concurrency: int = attrs.field(default=DEFAULT_CONCURRENCY, kw_only=True)
    lease: timedelta = attrs.field(default=DEFAULT_INBOX_LEASE, kw_only=True)
    poll_interval: float = attrs.field(default=DEFAULT_POLL_INTERVAL, kw_only=True)
    sleep: Callable[[float], Awaitable[None]] | None = attrs.field(default=None, kw_only=True)
    rng: random.Random = attrs.field(factory=random.Random, kw_only=True, repr=False)
    sent: int = attrs.field(default=0, init=False)
    refused: int = attrs.field(default=0, init=False)
    fired: int = attrs.field(default=0, init=False)
    runner: InboxWorker = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        options: dict[str, Any] = {
            "schedule": self.schedule,
            "concurrency": self.concurrency,
            "lease": self.lease,
            "poll_interval": self.poll_interval,
            "rng": self.rng,
            "decode": _decode_job,
        }
        if self.sleep is not None:
            options["sleep"] = self.sleep
        self.runner = InboxWorker(self.outbox.queue, self._run, **options)

    async def run(self) -> None:
        """Send and watch until :meth:`stop`."""
        await self.runner.run()

    def start(self) -> None:
        """Run in the background of the running loop."""
        self.runner.start()

    async def stop(self, *, grace: float = 10.0) -> None:
        """Stop taking jobs; jobs in flight may finish for ``grace`` seconds."""
        await self.runner.stop(grace=grace)

    async def run_once(self) -> int:
        """Run the jobs due now (one per key), for tests and scripts."""
        return await self.runner.run_once()

    async def drain(self) -> int:
        """Run jobs until none is due."""
        return await self.runner.drain()

    async def _run(self, job: _Job) -> None:
        if job.op == "send":
            await self._send(job.intent)
        elif job.op == "check" and job.rule is not None:
            await self._check(job.intent, job.rule)
        else:
            raise ProtocolError(f"outbox job for {job.intent}: unknown operation {job.op!r}")

    # -- sending --------------------------------------------------------------------------

    async def _send(self, intent_id: str) -> None:
        status = await self.outbox.status(intent_id)
        if status is None or status.state is DeliveryState.CANCELLED:
            return
        if status.state is not DeliveryState.QUEUED:
            # Sent before a crash, or by a retried job: only the checks may be missing.
            await self.outbox.schedule_checks(status)
            return
        intent = status.intent
        try:
            receipt = await self._deliver(status, intent.preference, intent.id)
        except AlreadySentError as exc:
            await self._sent_before(intent_id, exc)
            return
        except Exception as exc:
            if not _is_permanent(exc):
                await self._not_yet(intent_id, exc)
                raise
            await self._refused(intent_id, exc)
            return
        now = self.outbox.clock()
        sent = await self.outbox.update(
            intent_id,
            lambda current: (
                attrs.evolve(
                    current,
                    state=_state_of(receipt.status),
                    message_ids=tuple(dict.fromkeys((*current.message_ids, *receipt.message_ids))),
                    conversation_id=receipt.conversation_id,
                    service=receipt.service,
                    sent_at=current.sent_at or now,
                    attempts=current.attempts + 1,
                    error=None,
                )
                # A cancel that came while the send was under way lost the race: it went out.
                if current.state is DeliveryState.QUEUED
                or (current.state is DeliveryState.CANCELLED and not current.message_ids)
                else None
            ),
        )
        if sent is not None:
            self.sent += 1
            await self.outbox.schedule_checks(sent)

    async def _deliver(
        self, status: IntentStatus, preference: ServicePreference, key: str
    ) -> SendReceipt:
        intent = status.intent
        conversation_id = status.conversation_id or intent.conversation_id
        if conversation_id is not None:
            return await self.transport.send_message(
                conversation_id, intent.message, preference=preference, idempotency_key=key
            )
        started = await self.transport.start_conversation(
            intent.recipients, intent.message, preference=preference, idempotency_key=key
        )
        return started.receipt

    async def _not_yet(self, intent_id: str, exc: Exception) -> None:
        """Count a transient failure on the intent; the job is retried on the schedule."""
        summary = error_summary(exc)
        try:
            await self.outbox.update(
                intent_id,
                lambda current: (
                    attrs.evolve(current, attempts=current.attempts + 1, error=summary)
                    if current.state is DeliveryState.QUEUED
                    else None
                ),
            )
        except Exception as store_error:  # the retry matters more than the count
            _log.error(
                "could not count a failed send of outbox intent %s: %s",
                intent_id,
                error_summary(store_error),
            )

    async def _sent_before(self, intent_id: str, exc: AlreadySentError) -> None:
        """The key's message was sent by an earlier attempt and is gone since: done, not resent."""
        _log.info(
            "outbox intent %s was sent earlier; the provider no longer has it (%s)",
            intent_id,
            error_summary(exc),
        )
        now = self.outbox.clock()
        sent = await self.outbox.update(
            intent_id,
            lambda current: (
                attrs.evolve(
                    current,
                    state=DeliveryState.SENT,
                    sent_at=current.sent_at or now,
                    attempts=current.attempts + 1,
                    error="sent earlier under this key; the provider has since deleted it",
                )
                if current.state is DeliveryState.QUEUED
                else None
            ),
        )
        if sent is not None:
            self.sent += 1
            # Its delivery is unknown: the rules still watch it (fail-closed).
            await self.outbox.schedule_checks(sent)

    async def _refused(self, intent_id: str, exc: Exception) -> None:
        summary = error_summary(exc)
        _log.warning("outbox intent %s refused for good: %s", intent_id, summary)
        refused = await self.outbox.update(
            intent_id,
            lambda current: (
                attrs.evolve(
                    current,
                    state=DeliveryState.FAILED,
                    failed_at=self.outbox.clock(),
                    attempts=current.attempts + 1,
                    error=summary,
                )
                if current.state is DeliveryState.QUEUED
                else None
            ),
        )
        self.refused += 1
        if refused is not None and self.outbox.watch_for(refused.intent).undelivered_after:
            await self.outbox.schedule_check(refused.intent, "undelivered", due=self.outbox.clock())

    # -- the watchdog ---------------------------------------------------------------------

    async def _check(self, intent_id: str, rule: str) -> None:
        status = await self.outbox.status(intent_id)
        if status is None or rule in status.fired:
            return
        if rule in ("resend", "failed"):
            await self._resend(status, rule)
        elif rule == "undelivered":
            if status.state not in _SETTLED:
                await self._fire(status, rule, self.on_undelivered)
        elif rule == "unread":
            if status.state not in (DeliveryState.READ, DeliveryState.CANCELLED):
                await self._fire(status, rule, self.on_unread)
        else:
            raise ProtocolError(f"outbox check for {intent_id}: unknown rule {rule!r}")

    async def _resend(self, status: IntentStatus, rule: str) -> None:
        waiting = status.state in (DeliveryState.SENT, DeliveryState.FAILED)
        if not waiting or status.resends or status.service not in _NEXT_SERVICES:
            return
        key = f"{status.intent.id}:resend-1"
        receipt: SendReceipt | None = None
        for preference in _NEXT_SERVICES[status.service]:
            try:
                receipt = await self._deliver(status, preference, key)
                break
            except UnsupportedError:
                continue  # the person cannot get this service; the next one, then
            except AlreadySentError:
                break  # an earlier re-send under this key went out and is gone since
            except Exception as exc:
                if not _is_permanent(exc):
                    raise  # tried again on the schedule, under the same key
                _log.warning(
                    "re-sending outbox intent %s did not work: %s",
                    status.intent.id,
                    error_summary(exc),
                )
                break
        if receipt is None:
            await self._mark_fired(status, rule)
            return
        now = self.outbox.clock()
        await self.outbox.update(
            status.intent.id,
            lambda current: (
                attrs.evolve(
                    current,
                    state=_state_of(receipt.status),
                    message_ids=tuple(dict.fromkeys((*current.message_ids, *receipt.message_ids))),
                    service=receipt.service,
                    resends=current.resends + 1,
                    sent_at=now,
                    fired=(*current.fired, rule),
                )
                if not current.resends
                else None
            ),
        )
        _log.info(
            "outbox intent %s re-sent over %s (%s rule)",
            status.intent.id,
            receipt.service.value if receipt.service else "an unknown service",
            rule,
        )

    async def _fire(self, status: IntentStatus, rule: str, callback: IntentCallback | None) -> None:
        if callback is not None:
            await callback(status)
        await self._mark_fired(status, rule)
        self.fired += 1
        _log.warning("outbox intent %s: the %s rule fired", status.intent.id, rule)

    async def _mark_fired(self, status: IntentStatus, rule: str) -> None:
        await self.outbox.update(
            status.intent.id,
            lambda current: (
                attrs.evolve(current, fired=(*current.fired, rule))
                if rule not in current.fired
                else None
            ),
        )


def _state_of(status: DeliveryStatus) -> DeliveryState:
    match status:
        case DeliveryStatus.DELIVERED:
            return DeliveryState.DELIVERED
        case DeliveryStatus.READ:
            return DeliveryState.READ
        case DeliveryStatus.FAILED:
            return DeliveryState.FAILED
        case _:
            return DeliveryState.SENT
