"""``Outbox``: sends recorded before any I/O, carried out by workers, watched until delivered.

``await outbox.send_message(conversation_id, message, kind="medication-reminder")``
checks the send exactly as a direct send would (before anything is stored),
fixes its idempotency key (the caller's, or a new one), and stores the intent
with its first job in one atomic step. It returns the intent's id at once; an
:class:`~caresupport_transport.outbound.OutboxWorker` (in this process or
another) sends it under that key, retrying transient failures, so a crash at
any point resumes under the same key and the provider creates the message
once. Delivery statuses (webhooks or polling, through the inbox) move the
intent on when the care logic's handler is wrapped with :meth:`Outbox.watching`;
the watchdog's rules (:class:`~caresupport_transport.outbound.Watch`) act when
a deadline passes without delivery or reading.

The outbox keeps its intents and jobs in an event store of its own (another
SQLite file, or another namespace on PostgreSQL or Redis): its jobs must not
meet the inbox's events. A store used by an inbox is refused.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import attrs

from caresupport_transport import checks
from caresupport_transport.capabilities import ServicePreference
from caresupport_transport.content import OutgoingMessage
from caresupport_transport.errors import ConfigurationError, ValidationError
from caresupport_transport.events import InboundEvent, MessageStatusChanged
from caresupport_transport.handles import Handle
from caresupport_transport.inbound.inbox import Inbox, claim_store_role
from caresupport_transport.inbound.inbox_entry import InboxEntry
from caresupport_transport.inbound.outbox_record import OutboxRecord
from caresupport_transport.inbound.store import EventStore
from caresupport_transport.model import DeliveryStatus
from caresupport_transport.outbound.codec import encode_intent, record_of, status_of
from caresupport_transport.outbound.intent import DeliveryState, IntentStatus, OutboxIntent
from caresupport_transport.outbound.watch import Watch
from caresupport_transport.port import InboundHandler

__all__ = ["MAX_INTENT_ID_CHARS", "Outbox", "job_entry"]

MAX_INTENT_ID_CHARS = 200
"""An intent's key leaves room for the keys derived from it (``:resend-1``, bubbles)."""

_UPDATE_ATTEMPTS = 20
_log = logging.getLogger(__name__)
_SETTLED = frozenset({DeliveryState.DELIVERED, DeliveryState.READ})


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_key() -> str:
    return f"outbox-{uuid.uuid4().hex}"


def job_entry(
    job_id: str, order_key: str, payload: Mapping[str, str], *, now: datetime, due: datetime
) -> InboxEntry:
    """A job for the outbox's queue; its id is its own de-duplication key."""
    return InboxEntry(
        id=job_id,
        order_key=order_key,
        keys=(f"job:{job_id}",),
        payload=json.dumps(dict(payload), sort_keys=True),
        received_at=now,
        due_at=due,
    )


@attrs.define
class Outbox:
    """Durable sends over any ``Transport`` (see the module notes).

    Args:
        store: the outbox's own event store (not an inbox's).
        watch: the watchdog rules for intents of no kind (or a kind not in
            ``watch_by_kind``).
        watch_by_kind: rules per kind of message (``"medication-reminder"``).
        clock: the current time (aware UTC).
    """

    store: EventStore
    watch: Watch = attrs.field(factory=Watch, kw_only=True)
    watch_by_kind: Mapping[str, Watch] = attrs.field(factory=dict, kw_only=True)
    clock: Callable[[], datetime] = attrs.field(default=_utc_now, kw_only=True)
    queue: Inbox = attrs.field(init=False)
    _role_checked: bool = attrs.field(default=False, init=False)

    def __attrs_post_init__(self) -> None:
        # Through self, so a clock set later (a test's) is the queue's too.
        self.queue = Inbox(self.store, clock=lambda: self.clock())

    def watch_for(self, intent: OutboxIntent) -> Watch:
        """The rules for ``intent``: its kind's, or the default."""
        if intent.kind is not None and intent.kind in self.watch_by_kind:
            return self.watch_by_kind[intent.kind]
        return self.watch

    # -- recording intents ----------------------------------------------------------

    async def send_message(
        self,
        conversation_id: str,
        message: OutgoingMessage,
        *,
        preference: ServicePreference = ServicePreference.AUTO,
        idempotency_key: str | None = None,
        kind: str | None = None,
    ) -> str:
        """Record a send into a conversation; a worker carries it out. Returns the intent's id.

        Raises:
            ValidationError: the same refusals as ``Transport.send_message``,
                naming the field, before anything is stored.
            UnreachableError: the store did not answer; nothing was stored.
        """
        checked_id = checks.check_id(conversation_id, "conversation_id")
        checked = checks.check_message(message)
        checks.check_references(checked)
        return await self._record(
            OutboxIntent(
                id=self._key(idempotency_key),
                message=checked,
                created_at=self.clock(),
                conversation_id=checked_id,
                preference=checks.check_preference(preference),
                kind=_check_kind(kind),
            )
        )

    async def start_conversation(
        self,
        participants: Sequence[Handle],
        first_message: OutgoingMessage,
        *,
        preference: ServicePreference = ServicePreference.AUTO,
        idempotency_key: str | None = None,
        kind: str | None = None,
    ) -> str:
        """Record a new conversation and its first message; returns the intent's id.

        Raises:
            ValidationError: the same refusals as ``Transport.start_conversation``
                (but our own line, which only the transport knows), before
                anything is stored.
            UnreachableError: the store did not answer; nothing was stored.
        """
        handles = checks.check_participants(participants, None)
        message = checks.check_first_message(first_message)
        checks.check_references(message)
        return await self._record(
            OutboxIntent(
                id=self._key(idempotency_key),
                message=message,
                created_at=self.clock(),
                recipients=handles,
                preference=checks.check_preference(preference),
                kind=_check_kind(kind),
            )
        )

    def _key(self, given: str | None) -> str:
        key = checks.check_idempotency_key(given) or _new_key()
        if len(key) > MAX_INTENT_ID_CHARS:
            raise ValidationError(
                "idempotency_key",
                f"has {len(key)} characters; at most {MAX_INTENT_ID_CHARS} for the outbox "
                "(it derives re-send keys from it)",
            )
        return key

    async def _record(self, intent: OutboxIntent) -> str:
        await self._check_role()
        now = intent.created_at
        record = OutboxRecord(
            id=intent.id,
            state=DeliveryState.QUEUED.value,
            payload=encode_intent(intent),
            created_at=now,
            updated_at=now,
        )
        job = job_entry(
            f"send:{intent.id}",
            intent.order_key,
            {"op": "send", "intent": intent.id},
            now=now,
            due=now,
        )
        await self.store.put_record(record, job, now=now)
        self.queue.notify()
        return intent.id

    async def _check_role(self) -> None:
        if not self._role_checked:
            await claim_store_role(self.store, "outbox")
            self._role_checked = True

    # -- reading and administering --------------------------------------------------

    async def status(self, intent_id: str) -> IntentStatus | None:
        """What is known of the intent, or ``None`` if there is no such intent."""
        record = await self.store.get_record(intent_id)
        return None if record is None else status_of(record)

    async def intents(
        self, state: DeliveryState | None = None, *, limit: int = 100
    ) -> list[IntentStatus]:
        """Intents oldest first: all, or those in ``state``."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ConfigurationError(f"limit: must be an int of at least 0, got {limit!r}")
        records = await self.store.records(
            state=None if state is None else state.value, limit=limit
        )
        return [status_of(record) for record in records]

    async def stats(self) -> dict[DeliveryState, int]:
        """How many intents are in each state (every state listed)."""
        counts = await self.store.record_counts()
        return {state: counts.get(state.value, 0) for state in DeliveryState}

    async def cancel(self, intent_id: str) -> bool:
        """Cancel an intent not sent yet, or a failed one (its re-sends stop).

        A send a worker had already begun may still go out; the intent then
        ends ``sent`` with its message. ``False`` when absent, or sent and not
        failed.
        """
        changed = await self.update(
            intent_id,
            lambda status: (
                attrs.evolve(status, state=DeliveryState.CANCELLED)
                if status.state in (DeliveryState.QUEUED, DeliveryState.FAILED)
                else None
            ),
        )
        return changed is not None

    async def retry(self, intent_id: str) -> bool:
        """Send a failed (or queued) intent again, under its own key; ``False`` otherwise."""
        status = await self.status(intent_id)
        if status is None or status.state not in (DeliveryState.FAILED, DeliveryState.QUEUED):
            return False
        now = self.clock()
        changed = await self.update(
            intent_id,
            lambda current: (
                attrs.evolve(current, state=DeliveryState.QUEUED, error=None)
                if current.state in (DeliveryState.FAILED, DeliveryState.QUEUED)
                else None
            ),
        )
        if changed is None:
            return False
        job = job_entry(
            f"send:{intent_id}:retry-{uuid.uuid4().hex[:8]}",
            status.intent.order_key,
            {"op": "send", "intent": intent_id},
            now=now,
            due=now,
        )
        await self.store.enqueue(job, now=now)
        self.queue.notify()
        return True

    async def update(
        self, intent_id: str, change: Callable[[IntentStatus], IntentStatus | None]
    ) -> IntentStatus | None:
        """Apply ``change`` to the intent's status, re-reading if another writer won.

        ``change`` returns the new status, or ``None`` to leave it as it is.
        Returns the status written, or ``None`` when nothing was written.
        """
        for _ in range(_UPDATE_ATTEMPTS):
            record = await self.store.get_record(intent_id)
            if record is None:
                return None
            current = status_of(record)
            new = change(current)
            if new is None:
                return None
            written = attrs.evolve(record_of(new, base=record), updated_at=self.clock())
            if await self.store.replace_record(written, expected_version=record.version):
                return new
        raise ConfigurationError(
            f"outbox intent {intent_id}: {_UPDATE_ATTEMPTS} writers in a row changed it first"
        )

    # -- delivery statuses ------------------------------------------------------------

    def watching(self, handler: InboundHandler) -> InboundHandler:
        """``handler``, with every delivery status first moving the outbox's intents on."""

        async def handle(event: InboundEvent) -> None:
            await self.observe(event)
            await handler(event)

        return handle

    async def observe(self, event: InboundEvent) -> IntentStatus | None:
        """Move an intent on from a delivery status about one of its messages.

        A failed message that is later delivered ends delivered; a failure
        starts the failure grace of :attr:`Watch.resend_on_failure`.
        Returns the new status, or ``None`` when the event concerns no intent.
        """
        if not isinstance(event, MessageStatusChanged):
            return None
        intent_id = await self.store.record_for_message(event.message_id)
        if intent_id is None:
            return None
        now = self.clock()
        updated = await self.update(intent_id, lambda status: _observed(status, event, now))
        if (
            updated is not None
            and updated.delivered_twice
            and event.status is DeliveryStatus.DELIVERED
            and event.message_id == updated.delivered_message_ids[-1]
        ):
            _log.warning(
                "outbox intent %s: a re-send and the original it replaced both arrived",
                intent_id,
            )
        if (
            updated is not None
            and updated.state is DeliveryState.FAILED
            and event.status is DeliveryStatus.FAILED
        ):
            await self._after_failure(updated, now)
        return updated

    async def _after_failure(self, status: IntentStatus, now: datetime) -> None:
        # The undelivered rule keeps its deadline: a re-send may still arrive in time.
        watch = self.watch_for(status.intent)
        if watch.resend_on_failure:
            await self.schedule_check(status.intent, "failed", due=now + watch.failure_grace)

    async def schedule_check(self, intent: OutboxIntent, rule: str, *, due: datetime) -> None:
        """Queue the watchdog's check of ``rule`` for ``intent`` at ``due`` (once per rule)."""
        now = self.clock()
        # A key per rule, not per intent: a later deadline must not hold an earlier one back.
        job = job_entry(
            f"check:{intent.id}:{rule}",
            f"intent:{intent.id}:{rule}",
            {"op": "check", "intent": intent.id, "rule": rule},
            now=now,
            due=due,
        )
        await self.store.enqueue(job, now=now)
        self.queue.notify()

    async def schedule_checks(self, status: IntentStatus) -> None:
        """Queue every rule's check for a sent intent, at its deadline after the send."""
        sent_at = status.sent_at or self.clock()
        for rule, after in self.watch_for(status.intent).deadlines().items():
            await self.schedule_check(status.intent, rule, due=sent_at + after)


def _check_kind(kind: object) -> str | None:
    if kind is None:
        return None
    if not isinstance(kind, str) or not 0 < len(kind) <= 100 or not kind.isprintable():
        raise ValidationError("kind", "must be 1 to 100 printable characters, or None")
    return kind


def _arrived(status: IntentStatus, event: MessageStatusChanged) -> IntentStatus:
    """``status`` knowing that ``event``'s message arrived (after a failure: recovered)."""
    recovered = status.recovered or status.state is DeliveryState.FAILED
    if (
        status.resends
        and status.failed_at is not None
        and event.message_id in status.message_ids[:1]
    ):
        recovered = True  # the original, reported failed and re-sent, arrived after all
    delivered = tuple(dict.fromkeys((*status.delivered_message_ids, event.message_id)))
    return attrs.evolve(status, recovered=recovered, delivered_message_ids=delivered)


def _observed(
    status: IntentStatus, event: MessageStatusChanged, now: datetime
) -> IntentStatus | None:
    match event.status:
        case DeliveryStatus.READ:
            return attrs.evolve(
                _arrived(status, event),
                state=DeliveryState.READ,
                read_at=status.read_at or event.occurred_at,
                delivered_at=status.delivered_at or event.occurred_at,
            )
        case DeliveryStatus.DELIVERED:
            if status.state is DeliveryState.READ:
                arrived = _arrived(status, event)
                return None if arrived == status else arrived
            return attrs.evolve(
                _arrived(status, event),
                state=DeliveryState.DELIVERED,
                delivered_at=status.delivered_at or event.occurred_at,
            )
        case DeliveryStatus.FAILED:
            if status.state in _SETTLED:
                return None  # a failure reported after a delivery changes nothing
            reason = f"failed on {event.service.value if event.service else 'unknown service'}"
            if event.error_code is not None:
                reason += f" (error {event.error_code}"
                # Opaque, for support: carried, never branched on.
                reason += "" if event.detail_code is None else f", detail {event.detail_code}"
                reason += ")"
            return attrs.evolve(
                status, state=DeliveryState.FAILED, failed_at=event.occurred_at, error=reason
            )
        case DeliveryStatus.SENT:
            if status.state is not DeliveryState.QUEUED:
                return None
            return attrs.evolve(status, state=DeliveryState.SENT, sent_at=status.sent_at or now)
        case _:
            return None
