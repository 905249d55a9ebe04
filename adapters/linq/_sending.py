"""How ``LinqTransport`` sends a planned message: bubbles, keys, fallback re-sends (private).

A send is planned first (:func:`~caresupport_transport.policy.plan_message` for
the service the capability cache points to), then each planned bubble goes out
under its derived key (:func:`~caresupport_transport.sending.split_key`). With
``AUTO`` no ``preferred_service`` is sent, so Linq falls back by itself; a
pinned preference is sent and never falls back.

When a bubble comes back ``failed`` and the policy's ``resend_on_failure`` is
on (``AUTO`` only), it is sent again, degraded for the next service Linq may
use, pinned to it and under :func:`~caresupport_transport.sending.fallback_key`,
so repeating the whole send creates nothing new. The same happens for a
``message.failed`` event about a message this process sent recently.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

import attrs

from adapters.linq._capability_cache import CapabilityCache
from adapters.linq._http import LOGGER_NAME
from adapters.linq.client import LinqClient
from adapters.linq.wire_chats import SentMessage
from caresupport_transport.capabilities import (
    FALLBACK_ORDER,
    Availability,
    Feature,
    HandleCapabilities,
    Service,
    ServicePreference,
)
from caresupport_transport.content import OutgoingMessage
from caresupport_transport.handles import Handle
from caresupport_transport.model import (
    Degradation,
    DegradationAction,
    DeliveryStatus,
    SendAttempt,
    SendReceipt,
)
from caresupport_transport.policy import (
    FallbackPolicy,
    MessagePlan,
    choose_service,
    next_service,
    plan_message,
)
from caresupport_transport.sending import fallback_key, overall_status, split_key

__all__ = ["RECENT_SENDS", "Opener", "Sender"]

RECENT_SENDS = 1000
"""How many recent sends are remembered for re-sending after a later ``message.failed``."""

Opener = Callable[[OutgoingMessage, Service | None, str], Awaitable[tuple[str, SentMessage]]]
"""Sends the first bubble where no chat exists yet: ``(bubble, preferred, key)`` to
``(chat_id, sent)``."""

_log = logging.getLogger(LOGGER_NAME)


@attrs.frozen
class _Bubble:
    """One message that went out: what was sent, where, under which key, and how it stands."""

    chat_id: str
    message: OutgoingMessage
    service: Service
    key: str
    message_id: str
    status: DeliveryStatus
    participants: tuple[Handle, ...]

    @property
    def attempt(self) -> SendAttempt:
        return SendAttempt(self.service, self.message_id, self.status, self.key)


@attrs.define
class _Outcome:
    """What a send did so far; becomes the receipt."""

    finals: list[_Bubble] = attrs.Factory(list)
    attempts: list[SendAttempt] = attrs.Factory(list)
    degradations: list[Degradation] = attrs.Factory(list)
    resent: bool = False


def _service_of(sent: SentMessage, planned: Service) -> Service:
    return sent.service if sent.service is not None else planned


@attrs.define
class Sender:
    """Sends planned messages through a ``LinqClient``.

    Args:
        client: the API.
        capabilities: what each handle can be reached on.
        policy: how to degrade, and whether to re-send after a failure.
    """

    client: LinqClient
    capabilities: CapabilityCache
    policy: FallbackPolicy
    _recent: OrderedDict[str, _Bubble] = attrs.field(factory=OrderedDict, init=False)

    async def plan(
        self,
        participants: Sequence[Handle],
        message: OutgoingMessage,
        preference: ServicePreference,
    ) -> MessagePlan:
        """Choose the service from what is known of everyone, and degrade for it.

        Raises:
            UnsupportedError: a pinned service someone lacks, or a rule set to fail.
        """
        found = await self.capabilities.lookup_all(tuple(participants))
        return plan_message(message, choose_service(found, preference), self.policy)

    async def send(
        self,
        plan: MessagePlan,
        *,
        participants: tuple[Handle, ...],
        preference: ServicePreference,
        key: str,
        chat_id: str | None = None,
        opener: Opener | None = None,
    ) -> SendReceipt:
        """Send every bubble of ``plan`` under its derived key; re-send failures if allowed.

        Args:
            plan: what to send, on which service.
            participants: who it goes to (for the fallback's capability checks).
            preference: ``AUTO`` sends no ``preferred_service``; a pin is sent.
            key: the caller's idempotency key for the whole send.
            chat_id: the chat, when it exists.
            opener: sends the first bubble when there is no chat yet.
        """
        outcome = _Outcome(degradations=list(plan.degradations))
        preferred = preference.service
        count = len(plan.messages)
        for index, bubble in enumerate(plan.messages):
            bubble_key = split_key(key, index, count)
            if chat_id is None:
                if opener is None:
                    raise AssertionError("a send needs a chat or an opener")
                chat_id, sent = await opener(bubble, preferred, bubble_key)
            else:
                answer = await self.client.send_message(
                    chat_id, bubble, preferred_service=preferred, idempotency_key=bubble_key
                )
                sent = answer.message
            made = _Bubble(
                chat_id,
                bubble,
                _service_of(sent, plan.service),
                bubble_key,
                sent.id,
                sent.delivery_status,
                participants,
            )
            self._note_server_fallback(made, plan.service, preference, outcome)
            await self._settle(made, preference, outcome)
        assert chat_id is not None  # a plan has at least one bubble
        return self._receipt(chat_id, key, outcome)

    def _note_server_fallback(
        self, made: _Bubble, planned: Service, preference: ServicePreference, outcome: _Outcome
    ) -> None:
        if preference is not ServicePreference.AUTO or made.service is planned:
            return
        reason = f"Linq sent it by {made.service.label}, not {planned.label} as expected"
        change = Degradation(Feature.SERVICE, DegradationAction.FELL_BACK, reason)
        if change not in outcome.degradations:
            outcome.degradations.append(change)
        # What was remembered about these people is out of date.
        for handle in made.participants:
            self.capabilities.forget(handle)

    async def _settle(
        self, made: _Bubble, preference: ServicePreference, outcome: _Outcome
    ) -> None:
        """Record one bubble; re-send it on the next service while it fails and that is allowed."""
        outcome.attempts.append(made.attempt)
        may_resend = preference is ServicePreference.AUTO and self.policy.resend_on_failure
        if may_resend:
            self._remember(made)
        if made.status is not DeliveryStatus.FAILED or not may_resend:
            outcome.finals.append(made)
            return
        if await self._resend(made, outcome) is None:
            outcome.finals.append(made)

    async def _resend(self, failed: _Bubble, outcome: _Outcome) -> str | None:
        """Send ``failed`` again on the next usable service; the key used, ``None`` if none."""
        following = await self._next_usable(failed.service, failed.participants)
        if following is None:
            return None
        outcome.resent = True
        reason = f"failed on {failed.service.label}; re-sent by {following.label}"
        outcome.degradations.append(
            Degradation(Feature.SERVICE, DegradationAction.FELL_BACK, reason)
        )
        plan = plan_message(failed.message, following, self.policy)
        for change in plan.degradations:
            if change not in outcome.degradations:
                outcome.degradations.append(change)
        base = fallback_key(failed.key, following)
        count = len(plan.messages)
        for index, bubble in enumerate(plan.messages):
            key = split_key(base, index, count)
            answer = await self.client.send_message(
                failed.chat_id, bubble, preferred_service=following, idempotency_key=key
            )
            made = _Bubble(
                failed.chat_id,
                bubble,
                _service_of(answer.message, following),
                key,
                answer.message.id,
                answer.message.delivery_status,
                failed.participants,
            )
            await self._settle(made, ServicePreference.AUTO, outcome)
        return base

    async def _next_usable(
        self, service: Service, participants: tuple[Handle, ...]
    ) -> Service | None:
        known: list[HandleCapabilities] = await self.capabilities.lookup_all(participants)
        candidate = next_service(service)
        while candidate is not None:
            if all(c.availability(candidate) is not Availability.UNAVAILABLE for c in known):
                return candidate
            candidate = next_service(candidate)
        return None

    def _receipt(self, chat_id: str, key: str, outcome: _Outcome) -> SendReceipt:
        finals = outcome.finals
        # The receipt names the least capable service any bubble ended on.
        service = max((b.service for b in finals), key=FALLBACK_ORDER.index)
        return SendReceipt(
            message_ids=[b.message_id for b in finals],
            conversation_id=chat_id,
            service=service,
            status=overall_status(b.status for b in finals),
            idempotency_key=key,
            degradations=tuple(outcome.degradations),
            attempts=tuple(outcome.attempts) if outcome.resent else (),
        )

    # -- a failure reported later, by a message.failed event -----------------------

    def _remember(self, made: _Bubble) -> None:
        self._recent[made.message_id] = made
        self._recent.move_to_end(made.message_id)
        while len(self._recent) > RECENT_SENDS:
            self._recent.popitem(last=False)

    async def resend_failed(self, message_id: str) -> SendReceipt | None:
        """Re-send a recently sent message that Linq later reported failed.

        Returns:
            The receipt of the re-send, or ``None`` when the message is not one
            this process sent (under ``AUTO``, with ``resend_on_failure``) in its
            last :data:`RECENT_SENDS` sends, or no further service is usable.
        """
        made = self._recent.pop(message_id, None)
        if made is None:
            return None
        failed = attrs.evolve(made, status=DeliveryStatus.FAILED)
        outcome = _Outcome()
        outcome.attempts.append(failed.attempt)
        key = await self._resend(failed, outcome)
        if key is None:
            return None
        _log.info("message %s failed on %s; re-sent", message_id, made.service.label)
        return self._receipt(made.chat_id, key, outcome)
