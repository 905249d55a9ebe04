"""``ProviderTransport``: the one implementation of the ``Transport`` port, over any provider.

Everything about carrying out the port that does not depend on the provider
lives here, once, so every adapter behaves the same:

- input checks (:mod:`caresupport_transport.checks`), before any I/O;
- idempotency keys: the caller's or a new one, derived keys for split bubbles
  and fallback re-sends (:mod:`caresupport_transport.sending`), the key stamped
  on any error a send raises;
- order: sends and actions into one conversation run one at a time;
- the plan: the service chosen from what every participant can use, what it
  cannot carry degraded (:mod:`caresupport_transport.policy`), and reported;
- first contact: the first message of a new chat carries no effect, reply or URL;
- re-sending on the next service a message whose send came back failed
  (``resend_on_failure``); a failure reported *later*, by an event, is the
  outbox's to handle (its ``Watch(resend_on_failure=True)`` rule waits a grace
  period for a late delivery first), so one mechanism re-sends it;
- tapbacks as text where tapbacks do not exist; skipped actions reported;
- opt-outs and the blocklist: a direct send to someone known to have opted out
  (or to a blocked handle) is refused before any I/O; ``override_optout`` lets
  one courtesy message through and the receipt says so
  (:mod:`caresupport_transport.consent_book`);
- receipts.

A :class:`~caresupport_transport.provider.Provider` supplies the primitives.
``InMemoryTransport`` and ``LinqTransport`` are this class over their provider.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime

import attrs

from caresupport_transport import checks
from caresupport_transport.capabilities import (
    FALLBACK_ORDER,
    Availability,
    Feature,
    HandleCapabilities,
    Service,
    ServicePreference,
    capabilities_of,
)
from caresupport_transport.consent import blocklist_form
from caresupport_transport.consent_book import ConsentBook
from caresupport_transport.content import OutgoingMessage, Reaction, ReplyTo, TextPart, VoiceMemo
from caresupport_transport.corrections import correction_text, no_edits_rule
from caresupport_transport.errors import (
    AlreadySentError,
    BlockedError,
    EditRefusedError,
    NotFoundError,
    OptedOutError,
    ProviderError,
    UnsupportedError,
    ValidationError,
)
from caresupport_transport.events import (
    InboundEvent,
    MessageEdited,
    MessageReceived,
    PollVoteAdded,
    PollVoteRemoved,
)
from caresupport_transport.handles import Handle
from caresupport_transport.health_book import HealthBook
from caresupport_transport.inbound.relay import InboundRelay
from caresupport_transport.keyed_locks import KeyedLocks
from caresupport_transport.ledger import MessageLedger
from caresupport_transport.model import (
    ActionResult,
    Attachment,
    BlockedHandle,
    Conversation,
    CorrectionReceipt,
    Degradation,
    DegradationAction,
    DeliveryStatus,
    Direction,
    Message,
    SendAttempt,
    SendReceipt,
    StartedConversation,
)
from caresupport_transport.numbered import (
    MAX_OPTIONS,
    NumberedQuestion,
    numbered_question,
    option_number,
    read_numbered_question,
)
from caresupport_transport.policy import (
    FallbackPolicy,
    MessagePlan,
    OnUnsupported,
    choose_service,
    next_service,
    plan_action,
    plan_message,
    plan_poll,
    plan_reaction,
    plan_voice_memo,
)
from caresupport_transport.polls import Poll, PollOption, PollReceipt, PollVote
from caresupport_transport.port import InboundHandler
from caresupport_transport.provider import Provider, Sent
from caresupport_transport.redact import mask_handle
from caresupport_transport.sending import (
    KeyFactory,
    correction_key,
    fallback_key,
    keyed_send,
    new_idempotency_key,
    overall_status,
    poll_keys,
    split_key,
)

__all__ = [
    "DEFAULT_POLICY",
    "FIRST_MESSAGE_EFFECT",
    "ProviderTransport",
    "tapback_key",
]

DEFAULT_POLICY = FallbackPolicy()
FIRST_MESSAGE_EFFECT = "the first message of a new chat carries no effect"
NO_PROVIDER_EDITS = "this provider cannot edit messages"
MAX_REMEMBERED_CORRECTIONS = 10_000

_log = logging.getLogger("caresupport_transport")

QUESTION_LOOKBACK = 50
"""How many of a conversation's latest messages are searched for its open numbered question."""
RESULTS_LOOKBACK = 1_000
"""How many of a conversation's latest messages are read to count a numbered question's votes."""


def tapback_key(message_id: str, reaction: Reaction, part_index: int) -> str:
    """The idempotency key of a tapback sent as text: the same tapback is one text, ever.

    Adding the same tapback twice leaves one on iMessage; as text, the second
    send replays the first. Hashed, since a custom emoji cannot go in a header.
    """
    what = f"{message_id}|{part_index}|{reaction.kind.value}|{reaction.emoji or ''}"
    return "tapback-" + hashlib.sha256(what.encode()).hexdigest()[:40]


@attrs.frozen
class _Bubble:
    """One message that went out: what was sent, where, under which key, and how it stands."""

    conversation_id: str
    message: OutgoingMessage
    service: Service
    key: str
    message_id: str
    status: DeliveryStatus
    participants: tuple[Handle, ...]
    new: bool = True

    @property
    def attempt(self) -> SendAttempt:
        return SendAttempt(self.service, self.message_id, self.status, self.key)


@attrs.define
class _Outcome:
    """What a send did so far; becomes the receipt."""

    finals: list[_Bubble] = attrs.Factory(list)
    tries: list[_Bubble] = attrs.Factory(list)
    """Every bubble sent, re-sends included: the receipt's attempts when one was re-sent."""
    degradations: list[Degradation] = attrs.Factory(list)
    resent: bool = False
    override_optout: bool = False
    overridden: list[Handle] = attrs.Factory(list)
    """People an ``override_optout`` send went to through their opt-out."""

    def overrode(self, people: Sequence[Handle]) -> None:
        self.overridden.extend(h for h in people if h not in self.overridden)

    def degrade(self, change: Degradation) -> None:
        if change not in self.degradations:
            self.degradations.append(change)


Opener = Callable[[OutgoingMessage, str], Awaitable[Sent]]
"""Sends the first bubble where no chat exists yet: ``(bubble, key)`` to what was sent."""


class ProviderTransport:
    """The ``Transport`` port carried out over a :class:`~caresupport_transport.provider.Provider`.

    Args:
        provider: the primitives of the messaging provider.
        policy: how to degrade what a service cannot carry, and whether to re-send
            a failed message on the next service.
        new_key: makes an idempotency key when the caller gives none.

    Attributes:
        consent: what this process knows of opt-outs and the blocklist.
        health: each conversation's health as last seen in events (it derives
            ``ConversationHealthChanged``).
    """

    derives_consent_events = False
    """Whether the provider reports no ``OptedOut`` / ``OptedIn`` of its own, so they
    are derived from inbound messages (the rule of ``caresupport_transport.consent``)."""

    def __init__(
        self,
        provider: Provider,
        *,
        policy: FallbackPolicy = DEFAULT_POLICY,
        new_key: KeyFactory = new_idempotency_key,
    ) -> None:
        self.provider = provider
        self.policy = policy
        self._new_key = new_key
        self._handler: InboundHandler | None = None
        self._order = KeyedLocks()
        self.consent = ConsentBook()
        self.health = HealthBook()
        self.ledger = MessageLedger()
        """What this process sent and received: later actions read it before the provider."""
        self._corrections: OrderedDict[str, tuple[tuple[str, int, str], CorrectionReceipt]] = (
            OrderedDict()
        )

    # -- conversations ----------------------------------------------------------

    async def start_conversation(
        self,
        participants: Sequence[Handle],
        first_message: OutgoingMessage,
        *,
        preference: ServicePreference = ServicePreference.AUTO,
        idempotency_key: str | None = None,
        override_optout: bool = False,
    ) -> StartedConversation:
        """Create a chat with exactly ``participants`` by sending its first message.

        The first message may carry no URL, effect or reply (providers refuse them).

        Raises:
            OptedOutError: a 1:1 start with someone who opted out (before any I/O
                when known), unless ``override_optout``.
            BlockedError: a 1:1 start with a handle on our blocklist.
        """
        handles = checks.check_participants(participants, self.provider.line)
        message = checks.check_first_message(first_message)
        checks.check_mentions(message, handles, is_group=len(handles) > 1)
        checks.check_preference(preference)
        checks.check_references(message)
        override = checks.check_flag(override_optout, "override_optout")
        key = checks.check_idempotency_key(idempotency_key) or self._new_key()
        overridden = self.consent.check(handles, override_optout=override)
        # Two starts with the same people at once would otherwise race to open two chats.
        people = "start:" + ",".join(sorted(h.value for h in handles))
        with keyed_send(key), self._refusals():
            async with self._order.hold(people):
                return await self._start(handles, message, preference, key, override, overridden)

    async def _start(
        self,
        handles: tuple[Handle, ...],
        message: OutgoingMessage,
        preference: ServicePreference,
        key: str,
        override: bool = False,
        overridden: tuple[Handle, ...] = (),
    ) -> StartedConversation:
        plan = await self._plan(handles, message, preference)
        started: list[Conversation] = []

        async def start_chat(bubble: OutgoingMessage, bubble_key: str) -> Sent:
            conversation, sent = await self.provider.start(
                handles,
                bubble,
                service=plan.service,
                pinned=preference is not ServicePreference.AUTO,
                idempotency_key=bubble_key,
                override_optout=override,
            )
            started.append(self.consent.saw(conversation))
            return sent

        receipt = await self._carry_out(
            plan,
            participants=handles,
            preference=preference,
            key=key,
            opener=start_chat,
            override_optout=override,
            overridden=overridden,
        )
        return StartedConversation(started[0], receipt)

    def conversations(self, *, page_size: int = 50) -> AsyncIterator[Conversation]:
        return self._seen(self.provider.conversations(checks.check_page_size(page_size)))

    async def _seen(self, found: AsyncIterator[Conversation]) -> AsyncIterator[Conversation]:
        async for conversation in found:
            yield self.consent.saw(conversation)

    async def get_conversation(self, conversation_id: str) -> Conversation:
        return self.consent.saw(
            await self.provider.get_conversation(
                checks.check_id(conversation_id, "conversation_id")
            )
        )

    async def conversation_for(self, handle: Handle) -> Conversation:
        """The 1:1 conversation with ``handle``; its first send opens it if it is new."""
        return self.consent.saw(await self.provider.conversation_for(checks.check_handle(handle)))

    def messages(self, conversation_id: str, *, page_size: int = 50) -> AsyncIterator[Message]:
        size = checks.check_page_size(page_size)
        checked = checks.check_id(conversation_id, "conversation_id")
        return self.provider.messages(checked, size)

    async def get_message(self, message_id: str) -> Message:
        return await self.provider.get_message(checks.check_id(message_id, "message_id"))

    # -- sending ------------------------------------------------------------------

    async def send_message(
        self,
        conversation_id: str,
        message: OutgoingMessage,
        *,
        preference: ServicePreference = ServicePreference.AUTO,
        idempotency_key: str | None = None,
        override_optout: bool = False,
    ) -> SendReceipt:
        """Send into a conversation, degraded for the service; an unopened one is opened.

        Raises:
            OptedOutError: a 1:1 conversation with someone who opted out (before
                any I/O when known), unless ``override_optout``.
            BlockedError: a 1:1 conversation with a handle on our blocklist.
        """
        checked_id = checks.check_id(conversation_id, "conversation_id")
        checked = checks.check_message(message)
        checks.check_preference(preference)
        checks.check_references(checked)
        override = checks.check_flag(override_optout, "override_optout")
        key = checks.check_idempotency_key(idempotency_key) or self._new_key()
        self.consent.check_conversation(checked_id, override_optout=override)
        with keyed_send(key), self._refusals():
            async with self._order.hold(checked_id):
                return await self._send(checked_id, checked, preference, key, override)

    async def _send(
        self,
        conversation_id: str,
        message: OutgoingMessage,
        preference: ServicePreference,
        key: str,
        override: bool = False,
    ) -> SendReceipt:
        conversation = self.consent.saw(await self.provider.conversation(conversation_id))
        overridden = self.consent.check(conversation.participants, override_optout=override)
        checks.check_mentions(message, conversation.participants, is_group=conversation.is_group)
        if self.provider.is_unopened(conversation):
            return await self._first_send(
                conversation, message, preference, key, override, overridden
            )
        if message.reply_to is not None:
            target = await self._message(message.reply_to.message_id)
            checks.check_reply_target(message.reply_to, target, conversation.id)
        plan = await self._plan(conversation.participants, message, preference)
        return await self._carry_out(
            plan,
            participants=conversation.participants,
            preference=preference,
            key=key,
            conversation_id=conversation.id,
            override_optout=override,
            overridden=overridden,
        )

    async def _first_send(
        self,
        conversation: Conversation,
        message: OutgoingMessage,
        preference: ServicePreference,
        key: str,
        override: bool = False,
        overridden: tuple[Handle, ...] = (),
    ) -> SendReceipt:
        """The first message of a conversation nobody has written in: it opens the chat.

        The rules of a chat's first message apply: a reply has nothing to reply
        to and a link is refused (both ``ValidationError``); an effect is dropped
        (and reported) or fails, as the policy says for effects.
        """
        who = ", ".join(h.value for h in conversation.participants)
        if message.reply_to is not None:
            raise ValidationError(
                "reply_to.message_id",
                f"must name a message of the same conversation; {who} has no chat yet",
            )
        if message.has_url:
            raise ValidationError(
                "message.parts",
                f"the first message to {who} opens a new chat and may not contain a URL; "
                "send one without a link first",
            )
        opening: tuple[Degradation, ...] = ()
        if message.effect is not None:
            if self.policy.effects is OnUnsupported.FAIL:
                raise UnsupportedError(
                    Feature.EFFECT.value, None, f"effect: {FIRST_MESSAGE_EFFECT}"
                )
            opening = (
                Degradation(Feature.EFFECT, DegradationAction.DROPPED, FIRST_MESSAGE_EFFECT),
            )
            message = attrs.evolve(message, effect=None)
        plan = await self._plan(conversation.participants, message, preference)
        plan = attrs.evolve(plan, degradations=(*opening, *plan.degradations))

        async def open_chat(bubble: OutgoingMessage, bubble_key: str) -> Sent:
            return await self.provider.open(
                conversation,
                bubble,
                service=plan.service,
                pinned=preference is not ServicePreference.AUTO,
                idempotency_key=bubble_key,
                override_optout=override,
            )

        return await self._carry_out(
            plan,
            participants=conversation.participants,
            preference=preference,
            key=key,
            opener=open_chat,
            override_optout=override,
            overridden=overridden,
        )

    async def send_voice_memo(
        self,
        conversation_id: str,
        memo: VoiceMemo,
        *,
        idempotency_key: str | None = None,
        override_optout: bool = False,
    ) -> SendReceipt:
        """A voice memo on iMessage; elsewhere the policy sends the audio as media (or fails).

        Raises:
            OptedOutError: to someone who opted out, unless ``override_optout``.
            BlockedError: to a handle on our blocklist.
        """
        checked_id = checks.check_id(conversation_id, "conversation_id")
        checked = checks.check_voice_memo(memo)
        checks.check_references(OutgoingMessage((checked.audio,)))
        override = checks.check_flag(override_optout, "override_optout")
        key = checks.check_idempotency_key(idempotency_key) or self._new_key()
        self.consent.check_conversation(checked_id, override_optout=override)
        with keyed_send(key), self._refusals():
            async with self._order.hold(checked_id):
                return await self._send_memo(checked_id, checked, key, override)

    async def _send_memo(
        self, conversation_id: str, memo: VoiceMemo, key: str, override: bool = False
    ) -> SendReceipt:
        conversation = self.consent.saw(await self.provider.conversation(conversation_id))
        overridden = self.consent.check(conversation.participants, override_optout=override)
        if self.provider.is_unopened(conversation):
            who = ", ".join(h.value for h in conversation.participants)
            raise ValidationError(
                "conversation_id",
                f"no chat with {who} exists yet and a voice memo cannot open one; "
                "send a text message first",
            )
        found = await self._capabilities_of(conversation.participants)
        service = choose_service(found, ServicePreference.AUTO)
        media, degradations = plan_voice_memo(memo, service, self.policy)
        if media is None:
            sent = await self.provider.send_voice_memo(
                conversation.id,
                memo,
                service=service,
                idempotency_key=key,
                override_optout=override,
            )
            return self._single(sent, service, key, (), overridden=overridden)
        plan = MessagePlan(service, (OutgoingMessage((media,)),), degradations)
        return await self._carry_out(
            plan,
            participants=conversation.participants,
            preference=ServicePreference.AUTO,
            key=key,
            conversation_id=conversation.id,
            override_optout=override,
            overridden=overridden,
        )

    async def _capabilities_of(self, handles: Sequence[Handle]) -> list[HandleCapabilities]:
        if len(handles) == 1:  # the common 1:1 case, without a task per lookup
            return [await self.provider.capabilities(handles[0])]
        return list(await asyncio.gather(*(self.provider.capabilities(h) for h in handles)))

    async def _plan(
        self,
        participants: Sequence[Handle],
        message: OutgoingMessage,
        preference: ServicePreference,
    ) -> MessagePlan:
        """Choose the service from what is known of everyone, and degrade for it.

        Raises:
            UnsupportedError: a pinned service someone lacks, or a rule set to fail.
        """
        found = await self._capabilities_of(participants)
        return plan_message(message, choose_service(found, preference), self.policy)

    async def _carry_out(
        self,
        plan: MessagePlan,
        *,
        participants: tuple[Handle, ...],
        preference: ServicePreference,
        key: str,
        conversation_id: str | None = None,
        opener: Opener | None = None,
        override_optout: bool = False,
        overridden: tuple[Handle, ...] = (),
    ) -> SendReceipt:
        """Send every bubble of ``plan`` under its derived key; re-send failures if allowed.

        Args:
            plan: what to send, on which service.
            participants: who it goes to (for the fallback's capability checks).
            preference: ``AUTO`` lets the provider fall back by itself; a pin does not.
            key: the caller's idempotency key for the whole send.
            conversation_id: the conversation, when it exists.
            opener: sends the first bubble when there is no chat yet.
            override_optout: let the send through the person's opt-out.
            overridden: who the transport knew it lets through (for the receipt).
        """
        outcome = _Outcome(degradations=list(plan.degradations), override_optout=override_optout)
        outcome.overrode(overridden)
        pinned = preference is not ServicePreference.AUTO
        count = len(plan.messages)
        gone: list[AlreadySentError] = []
        for index, bubble in enumerate(plan.messages):
            bubble_key = split_key(key, index, count)
            if conversation_id is None:
                if opener is None:
                    raise AssertionError("a send needs a conversation or an opener")
                sent = await opener(bubble, bubble_key)
                conversation_id = sent.conversation_id
            else:
                try:
                    sent = await self.provider.send(
                        conversation_id,
                        bubble,
                        service=plan.service,
                        pinned=pinned,
                        idempotency_key=bubble_key,
                        override_optout=override_optout,
                    )
                except AlreadySentError as error:
                    # This bubble went out under its key before and is gone since: it
                    # is not sent again, and the bubbles after it still go.
                    gone.append(error)
                    continue
            outcome.overrode(sent.opt_out_overridden)
            made = _made(sent, bubble, plan.service, bubble_key, participants)
            if not pinned and made.service is not plan.service:
                reason = f"sent by {made.service.label}, not {plan.service.label} as expected"
                outcome.degrade(Degradation(Feature.SERVICE, DegradationAction.FELL_BACK, reason))
            await self._settle(made, preference, outcome)
        if not outcome.finals:
            raise gone[0]  # every bubble was sent before and is gone: nothing to report
        if gone:
            _log.info("%d of %d bubbles were sent before and are gone since", len(gone), count)
        assert conversation_id is not None  # a plan has at least one bubble
        for bubble_sent in outcome.tries:
            self._remember_sent(bubble_sent)
        receipt = _receipt(conversation_id, key, outcome)
        self._log_override(receipt)
        self._record(receipt, new=any(b.new for b in outcome.finals))
        return receipt

    async def _settle(
        self, made: _Bubble, preference: ServicePreference, outcome: _Outcome
    ) -> None:
        """Record one bubble; re-send it on the next service while it fails and that is allowed."""
        outcome.tries.append(made)
        may_resend = preference is ServicePreference.AUTO and self.policy.resend_on_failure
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
            outcome.degrade(change)
        base = fallback_key(failed.key, following)
        count = len(plan.messages)
        for index, bubble in enumerate(plan.messages):
            key = split_key(base, index, count)
            sent = await self.provider.send(
                failed.conversation_id,
                bubble,
                service=following,
                pinned=True,
                idempotency_key=key,
                override_optout=outcome.override_optout,
            )
            outcome.overrode(sent.opt_out_overridden)
            made = _made(sent, bubble, following, key, failed.participants)
            await self._settle(made, ServicePreference.AUTO, outcome)
        return base

    async def _next_usable(
        self, service: Service, participants: tuple[Handle, ...]
    ) -> Service | None:
        known = await self._capabilities_of(participants)
        candidate = next_service(service)
        while candidate is not None:
            if all(c.availability(candidate) is not Availability.UNAVAILABLE for c in known):
                return candidate
            candidate = next_service(candidate)
        return None

    def _remember_sent(self, bubble: _Bubble) -> None:
        """Keep what was sent, for later corrections, tapbacks and replies (``ledger``)."""
        self.ledger.remember(
            Message(
                bubble.message_id,
                bubble.conversation_id,
                Direction.OUTBOUND,
                self.provider.line,
                bubble.message.parts,
                bubble.service,
                bubble.status,
                datetime.now(UTC),
                reply_to=bubble.message.reply_to,
                effect=bubble.message.effect,
            )
        )

    async def _message(self, message_id: str) -> Message:
        """A message as this process saw it sent or received, else as the provider has it."""
        known = self.ledger.get(message_id)
        if known is not None:
            return known
        return await self.provider.get_message(message_id)

    def _single(
        self,
        sent: Sent,
        service: Service,
        key: str,
        degradations: tuple[Degradation, ...],
        *,
        overridden: tuple[Handle, ...] = (),
    ) -> SendReceipt:
        """The receipt of a send that made one message (a voice memo, a tapback as text)."""
        receipt = SendReceipt(
            message_ids=(sent.message_id,),
            conversation_id=sent.conversation_id,
            service=sent.service or service,
            status=sent.status,
            idempotency_key=key,
            degradations=degradations,
            opt_out_overridden=_union(overridden, sent.opt_out_overridden),
        )
        self._log_override(receipt)
        self._record(receipt, new=sent.new)
        return receipt

    @staticmethod
    def _log_override(receipt: SendReceipt) -> None:
        """Every send let through an opt-out is logged (who, masked, and where; no content)."""
        for person in receipt.opt_out_overridden:
            _log.info(
                "override_optout: sent to %s through their opt-out (conversation %s, key %s)",
                mask_handle(person),
                receipt.conversation_id,
                receipt.idempotency_key,
            )

    @contextlib.contextmanager
    def _refusals(self) -> Iterator[None]:
        """Remember a provider's opt-out or blocklist refusal, so the next send is refused early."""
        try:
            yield
        except (OptedOutError, BlockedError) as refusal:
            self.consent.refused(refusal)
            raise

    def _record(self, receipt: SendReceipt, *, new: bool) -> None:
        """Called with every receipt a send makes (``new``: it made a message); a hook."""

    # -- corrections ----------------------------------------------------------------

    async def correct_message(
        self,
        message_id: str,
        text: str,
        *,
        part_index: int = 0,
        idempotency_key: str | None = None,
    ) -> CorrectionReceipt:
        """Correct the text of a message we sent: edit it, or send a correction text.

        On iMessage, within the provider's limits (5 edits per message, 15
        minutes after sending), the part is edited in place. Otherwise (SMS or
        RCS, the limits passed, a provider without edits) ``Correction: <text>``
        is sent into the conversation, replying to the original where replies
        exist, and the receipt reports ``Feature.EDIT`` converted, with the rule.

        The same ``idempotency_key`` never edits twice or sends two correction
        texts; a part that already reads ``text`` is not edited again.

        Raises:
            ValidationError: blank or over-long text, a bad part index, a message
                not ours, a part that is not text, or a key used for another correction.
        """
        checked_id = checks.check_id(message_id, "message_id")
        new_part = checks.check_correction(text)
        index = checks.check_part_index(part_index)
        key = checks.check_idempotency_key(idempotency_key) or self._new_key()
        asked = (checked_id, index, new_part.text)
        with keyed_send(key):
            done = self._corrections.get(key)
            if done is not None:
                if done[0] != asked:
                    raise ValidationError(
                        "idempotency_key", "was used for another correction; use a new key"
                    )
                return done[1]
            target = await self._message(checked_id)
            checks.check_correction_target(target, index)
            async with self._order.hold(target.conversation_id):
                receipt = await self._correct(target, index, new_part, key)
            self._corrections[key] = (asked, receipt)
            while len(self._corrections) > MAX_REMEMBERED_CORRECTIONS:
                self._corrections.popitem(last=False)
            return receipt

    async def _correct(
        self, target: Message, index: int, new_part: TextPart, key: str
    ) -> CorrectionReceipt:
        current = target.parts[index]
        if isinstance(current, TextPart) and current.text == new_part.text:
            # Already reads so: an earlier try edited it (its answer may have been lost).
            return CorrectionReceipt(target.id, target.conversation_id, True, key)
        refusal = await self._try_edit(target, index, new_part)
        if refusal is None:
            self.ledger.edited(target.id, index, new_part)
            return CorrectionReceipt(target.id, target.conversation_id, True, key)
        conversation = await self.provider.conversation(target.conversation_id)
        plain = OutgoingMessage.of_text(correction_text(new_part.text))
        plan = await self._plan(conversation.participants, plain, ServicePreference.AUTO)
        if capabilities_of(plan.service).reply_threads:
            replying = attrs.evolve(plain, reply_to=ReplyTo(target.id, index))
            plan = plan_message(replying, plan.service, self.policy)
        sent = await self._carry_out(
            plan,
            participants=conversation.participants,
            preference=ServicePreference.AUTO,
            key=correction_key(key),
            conversation_id=conversation.id,
        )
        converted = Degradation(
            Feature.EDIT, DegradationAction.CONVERTED, f"sent as a correction text: {refusal}"
        )
        return CorrectionReceipt(
            target.id,
            target.conversation_id,
            False,
            key,
            correction=sent,
            degradations=(converted, *sent.degradations),
        )

    async def _try_edit(self, target: Message, index: int, new_part: TextPart) -> str | None:
        """Edit in place; ``None`` when it was edited, else the rule that stood in the way."""
        service = target.service
        if service is None:
            service = await self._service_for(
                await self.provider.conversation(target.conversation_id)
            )
        if service is not None and not capabilities_of(service).edits:
            return no_edits_rule(service)
        try:
            await self.provider.edit(target.id, index, new_part)
        except EditRefusedError as refused:
            return refused.rule
        except UnsupportedError:
            return NO_PROVIDER_EDITS
        except BaseException:
            # The edit may have happened: a retry must read the provider's copy, not ours.
            self.ledger.forget(target.id)
            raise
        return None

    # -- reactions ------------------------------------------------------------------

    async def react(
        self, message_id: str, reaction: Reaction, *, part_index: int = 0
    ) -> ActionResult:
        """A tapback; where there are none the policy sends it as text, skips it or fails."""
        return await self._reaction(message_id, reaction, part_index, removing=False)

    async def remove_reaction(
        self, message_id: str, reaction: Reaction, *, part_index: int = 0
    ) -> ActionResult:
        """Take a tapback back; skipped (and reported) where tapbacks do not exist."""
        return await self._reaction(message_id, reaction, part_index, removing=True)

    async def _reaction(
        self, message_id: str, reaction: Reaction, part_index: int, *, removing: bool
    ) -> ActionResult:
        checked_id = checks.check_id(message_id, "message_id")
        checked = checks.check_reaction(reaction)
        index = checks.check_part_index(part_index)
        target = await self._message(checked_id)
        if index >= len(target.parts):
            raise ValidationError(
                "part_index", f"{index} is not a part of a {len(target.parts)}-part message"
            )
        service = target.service
        if service is None:
            conversation = await self.provider.conversation(target.conversation_id)
            # As for other actions, an unknown service is left to the provider: try the tapback.
            service = await self._service_for(conversation) or Service.IMESSAGE
        part = target.parts[index]
        quoted = part.text if isinstance(part, TextPart) else target.text
        plan = plan_reaction(checked, service, quoted, self.policy, removing=removing)
        if plan.reaction is not None:
            if removing:
                removed = await self.provider.remove_reaction(checked_id, plan.reaction, index)
                return ActionResult(removed, plan.degradations)
            await self.provider.react(checked_id, plan.reaction, index)
            return ActionResult(True, plan.degradations)
        if plan.text is not None:
            # A tapback sent as text is a message: an opt-out or the blocklist refuses it.
            self.consent.check_conversation(target.conversation_id, override_optout=False)
            key = tapback_key(checked_id, checked, index)
            with self._refusals():
                async with self._order.hold(target.conversation_id):
                    sent = await self.provider.send(
                        target.conversation_id,
                        OutgoingMessage((TextPart(plan.text),)),
                        service=service,
                        pinned=True,
                        idempotency_key=key,
                    )
            self._single(sent, service, key, plan.degradations)
            return ActionResult(True, plan.degradations, message_id=sent.message_id)
        return ActionResult(False, plan.degradations)

    # -- contentless actions -----------------------------------------------------------

    async def _service_for(self, conversation: Conversation) -> Service | None:
        """The conversation's service, or the one a send would use now (``None``: none fits)."""
        if conversation.service is not None:
            return conversation.service
        found = await self._capabilities_of(conversation.participants)
        try:
            return choose_service(found, ServicePreference.AUTO)
        except UnsupportedError:
            return None

    async def _action(
        self, conversation_id: str, feature: Feature
    ) -> tuple[Conversation, ActionResult]:
        """The conversation, and whether ``feature`` is performed there (or why it is skipped)."""
        conversation = await self.provider.conversation(
            checks.check_id(conversation_id, "conversation_id")
        )
        if self.provider.is_unopened(conversation):
            who = ", ".join(h.value for h in conversation.participants)
            reason = f"no chat with {who} yet; its first message opens it"
            skipped = Degradation(feature, DegradationAction.SKIPPED, reason)
            return conversation, ActionResult(False, (skipped,))
        service = await self._service_for(conversation)
        skip = plan_action(feature, service, is_group=conversation.is_group)
        if skip is not None:
            return conversation, ActionResult(False, (skip,))
        return conversation, ActionResult(True)

    async def start_typing(self, conversation_id: str) -> ActionResult:
        """The typing indicator (iMessage 1:1 only; skipped and reported elsewhere)."""
        conversation, result = await self._action(conversation_id, Feature.TYPING)
        if result.performed:
            await self.provider.set_typing(conversation.id, True)
        return result

    async def stop_typing(self, conversation_id: str) -> ActionResult:
        conversation, result = await self._action(conversation_id, Feature.TYPING)
        if result.performed:
            await self.provider.set_typing(conversation.id, False)
        return result

    async def mark_read(self, conversation_id: str) -> ActionResult:
        """A read receipt (not on SMS: skipped and reported)."""
        conversation, result = await self._action(conversation_id, Feature.READ_RECEIPT)
        if result.performed:
            await self.provider.mark_read(conversation.id)
        return result

    async def share_contact_card(self, conversation_id: str) -> ActionResult:
        """Share our line's contact card (iMessage only)."""
        conversation, result = await self._action(conversation_id, Feature.CONTACT_CARD)
        if result.performed:
            await self.provider.share_contact_card(conversation.id)
        return result

    # -- groups, attachments, capabilities ------------------------------------------

    async def add_participant(self, conversation_id: str, handle: Handle) -> Conversation:
        """Add to a group of 3+, someone who can use the group's service.

        Raises:
            ValidationError: not a group of 3+, already in it, or cannot use its service.
        """
        checked_id = checks.check_id(conversation_id, "conversation_id")
        checked = checks.check_handle(handle)
        conversation = await self.provider.get_conversation(checked_id)
        checks.check_can_add(conversation, checked, self.provider.line)
        service = conversation.service
        if service is not None:
            found = await self.provider.capabilities(checked)
            if found.availability(service) is Availability.UNAVAILABLE:
                raise ValidationError(
                    "handle",
                    f"{checked} cannot use the group's service {service.label}; "
                    "start a new conversation instead",
                )
        return await self.provider.add_participant(conversation, checked)

    async def remove_participant(self, conversation_id: str, handle: Handle) -> Conversation:
        """Remove from a group, leaving 3+.

        Raises:
            ValidationError: not in the group, or fewer than 3 would be left.
        """
        checked_id = checks.check_id(conversation_id, "conversation_id")
        checked = checks.check_handle(handle)
        conversation = await self.provider.get_conversation(checked_id)
        checks.check_can_remove(conversation, checked)
        return await self.provider.remove_participant(conversation, checked)

    async def upload_attachment(
        self, data: bytes, *, filename: str, content_type: str
    ) -> Attachment:
        """Upload a file (at most 100 MB) to send later as ``MediaPart(attachment_id=...)``."""
        raw = checks.check_upload(data, filename, content_type)
        return await self.provider.upload(raw, filename=filename, content_type=content_type)

    async def capabilities(self, handle: Handle) -> HandleCapabilities:
        """What services ``handle`` can be reached on, as far as the provider can tell."""
        return await self.provider.capabilities(checks.check_handle(handle))

    # -- polls ----------------------------------------------------------------------

    async def ask(
        self,
        conversation_id: str,
        question: str,
        options: Sequence[str],
        *,
        idempotency_key: str | None = None,
    ) -> PollReceipt:
        """Ask a question with options: a native poll on iMessage, numbered text elsewhere.

        On iMessage the question goes as a text message, then the native poll
        (Linq's polls carry no question). Elsewhere, or with a provider without
        polls, one numbered text question is sent and the conversion reported
        (``Feature.POLL``). The sends go under keys derived from
        ``idempotency_key`` (:func:`~caresupport_transport.sending.poll_keys`):
        the question text under ``<key>:question``, the poll or the numbered
        question under ``<key>:poll``, so asking again under it sends nothing
        twice. The question may open a new 1:1 conversation; the poll then goes
        into it.

        Raises:
            ValidationError: bad input (see :func:`~caresupport_transport.checks.check_poll`).
        """
        checked_id = checks.check_id(conversation_id, "conversation_id")
        asked, texts = checks.check_poll(question, options)
        key = checks.check_idempotency_key(idempotency_key) or self._new_key()
        self.consent.check_conversation(checked_id, override_optout=False)
        with keyed_send(key), self._refusals():
            async with self._order.hold(checked_id):
                return await self._ask(checked_id, asked, texts, key)

    async def _ask(
        self, conversation_id: str, question: str, options: tuple[str, ...], key: str
    ) -> PollReceipt:
        question_key, poll_key = poll_keys(key)
        conversation = await self.provider.conversation(conversation_id)
        if self.provider.is_unopened(conversation):
            found = await self._capabilities_of(conversation.participants)
            service: Service | None = choose_service(found, ServicePreference.AUTO)
        else:
            service = await self._service_for(conversation)
        planned = service or Service.IMESSAGE
        conversion = plan_poll(planned, self.provider.has_polls)
        if conversion is not None:
            # Under the poll's key, as when a question that fell back is followed by
            # its options: a retry that finds the service changed replays, not repeats.
            text = numbered_question(question, options)
            receipt = await self._send(
                conversation_id, OutgoingMessage.of_text(text), ServicePreference.AUTO, poll_key
            )
            return _numbered_receipt(receipt, options, key, (conversion,))
        asked = await self._send(
            conversation_id, OutgoingMessage.of_text(question), ServicePreference.AUTO, question_key
        )
        if asked.service not in (None, Service.IMESSAGE):
            # The question itself fell back: the poll cannot follow it there.
            assert asked.service is not None
            late = plan_poll(asked.service, self.provider.has_polls)
            assert late is not None
            text = numbered_question(question, options)
            numbered = await self._send(
                asked.conversation_id,
                OutgoingMessage.of_text(text),
                ServicePreference.AUTO,
                poll_key,
            )
            degradations = (*asked.degradations, *numbered.degradations, late)
            return _numbered_receipt(numbered, options, key, degradations, question=asked)
        sent, poll = await self.provider.send_poll(
            asked.conversation_id, options, idempotency_key=poll_key
        )
        return PollReceipt(
            poll_id=sent.message_id,
            conversation_id=sent.conversation_id,
            native=True,
            options=(attrs.evolve(o, votes=()) for o in poll.options),
            question=asked,
            service=sent.service or Service.IMESSAGE,
            status=sent.status,
            idempotency_key=key,
            degradations=asked.degradations,
        )

    async def poll_results(self, poll_id: str) -> Poll:
        """A poll and its votes as they stand now, native or numbered text.

        For a numbered question the votes are the replies read as votes (see
        :mod:`caresupport_transport.numbered`) among the conversation's latest
        :data:`RESULTS_LOOKBACK` messages, until the next numbered question; a
        person may vote for several options, as in a native poll.

        Raises:
            NotFoundError: ``poll_id`` is neither a poll nor a numbered question of ours.
        """
        checked = checks.check_id(poll_id, "poll_id")
        if self.provider.has_polls:
            try:
                return await self.provider.get_poll(checked)
            except NotFoundError:
                pass  # not a native poll: perhaps a numbered question
        message = await self.provider.get_message(checked)
        read = _question_of(message)
        if read is None:
            raise NotFoundError(f"{checked!r} is not a poll", status=404)
        later: list[Message] = []
        async for item in self.provider.messages(message.conversation_id, 50):
            if item.id == message.id or len(later) >= RESULTS_LOOKBACK:
                break
            later.append(item)
        return _numbered_poll(message, read, later[::-1])

    async def _read_poll_event(self, event: InboundEvent) -> InboundEvent:
        """An inbound event as the care logic gets it, as far as polls are concerned.

        - A text reply that is just an option number (see
          :mod:`caresupport_transport.numbered`) to the conversation's open
          numbered question becomes a ``PollVoteAdded`` carrying the reply (in
          place of the ``MessageReceived``: the one event the care logic acts on).
          The open question is the newest numbered question of ours among the
          conversation's latest :data:`QUESTION_LOOKBACK` messages older than the
          reply: read from the history, so any process finds it after a restart.
        - A vote event without the option's text gets it (and its position) from
          the poll, when the poll can be read; a refusal (4xx) passes the event on
          as it came, while a failure that may pass (5xx, no answer) raises, so the
          event is delivered again later.
        """
        if isinstance(event, MessageReceived):
            return await self._vote_from_reply(event)
        if isinstance(event, PollVoteAdded | PollVoteRemoved) and event.option_text is None:
            try:
                poll = await self.provider.get_poll(event.poll_id)
            except ProviderError as refused:
                if refused.status is not None and refused.status >= 500:
                    raise  # may pass: the event is delivered again later
                return event  # the poll cannot be read (gone, refused): pass the vote as it came
            index = poll.index_of(event.option_id)
            if index is None:
                return event
            return attrs.evolve(event, option_index=index, option_text=poll.options[index].text)
        return event

    async def _vote_from_reply(self, event: MessageReceived) -> InboundEvent:
        reply = event.message
        if (
            reply.direction is not Direction.INBOUND
            or reply.sender is None
            or len(reply.parts) != 1
            or option_number(reply.text, MAX_OPTIONS) is None
        ):
            return event
        found = await self._open_question(reply)
        if found is None:
            return event
        message, question = found
        number = option_number(reply.text, len(question.options))
        if number is None:
            return event
        return PollVoteAdded(
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            conversation_id=event.conversation_id,
            poll_id=message.id,
            option_id=str(number),
            voter=reply.sender,
            option_index=number - 1,
            option_text=question.options[number - 1],
            message=reply,
        )

    async def _open_question(self, reply: Message) -> tuple[Message, NumberedQuestion] | None:
        passed = False
        seen = 0
        async for item in self.provider.messages(reply.conversation_id, QUESTION_LOOKBACK):
            seen += 1
            if seen > QUESTION_LOOKBACK:
                return None
            if item.id == reply.id:
                passed = True
                continue
            if not passed and item.created_at > reply.created_at:
                continue  # sent after the reply came: not what it answers
            read = _question_of(item)
            if read is not None:
                return item, read
        return None

    # -- the blocklist --------------------------------------------------------------

    async def block(self, handle: Handle, *, reason: str | None = None) -> BlockedHandle:
        """Put ``handle`` on our blocklist: nothing from it is heard, no direct send goes to it.

        Blocking again returns the existing entry. A group send with at least
        one unblocked member still goes through.
        """
        checked = checks.check_handle(handle)
        why = checks.check_reason(reason)
        entry = await self.provider.block(checked, reason=why)
        self.consent.blocked.add(blocklist_form(entry.handle))
        return entry

    async def unblock(self, handle: Handle) -> None:
        """Take ``handle`` off our blocklist (nothing happens if it was not on it)."""
        checked = checks.check_handle(handle)
        await self.provider.unblock(checked)
        self.consent.blocked.discard(blocklist_form(checked))

    async def blocked(self) -> tuple[BlockedHandle, ...]:
        """Our blocklist, newest first."""
        entries = await self.provider.blocked()
        self.consent.set_blocked(e.handle for e in entries)
        return entries

    # -- inbound ------------------------------------------------------------------

    def on_inbound(self, handler: InboundHandler) -> None:
        """Register the care logic's handler (replaces any earlier one, for every path)."""
        self._handler = handler

    def _current_handler(self) -> InboundHandler | None:
        return self._handler

    def inbound_relay(self, *, include_outbound: bool = False) -> InboundRelay:
        """What every inbound path hands its events to, on the way to the handler.

        It reads an outbound echo as the status it reports (unless
        ``include_outbound``), tells the provider of membership changes, then calls the
        handler registered with :meth:`on_inbound` at that moment.
        """
        return InboundRelay(
            self._current_handler,
            include_outbound=include_outbound,
            conversation_changed=self.provider.conversation_changed,
            read_poll_event=self._read_poll_event,
            observe=self._observe,
            observed=self._keep,
        )

    async def _observe(self, event: InboundEvent) -> tuple[InboundEvent, ...]:
        """Learn opt-outs and health from an inbound event; the events it implies.

        See ``consent_book`` (``OptedOut`` / ``OptedIn``) and ``health_book``
        (``ConversationHealthChanged``).
        """
        implied = await self.consent.observe(
            event, derive=self.derives_consent_events, lookup=self.provider.conversation
        )
        return (*implied, *self.health.observe(event))

    def _keep(self, event: InboundEvent) -> None:
        """Keep received messages and edits in the ledger, as they were delivered."""
        if isinstance(event, MessageReceived):
            echo = event.message.direction is Direction.OUTBOUND
            # What we sent is known from the send; an echo may carry less (none on a
            # zero-day-retention line), so it never replaces it.
            if not (echo and event.message.id in self.ledger):
                self.ledger.remember(event.message)
        elif isinstance(event, MessageEdited) and event.part_index is not None:
            for part in event.parts[:1]:
                if isinstance(part, TextPart):
                    self.ledger.edited(event.message_id, event.part_index, part)


def _made(
    sent: Sent,
    message: OutgoingMessage,
    planned: Service,
    key: str,
    participants: tuple[Handle, ...],
) -> _Bubble:
    return _Bubble(
        sent.conversation_id,
        message,
        sent.service if sent.service is not None else planned,
        key,
        sent.message_id,
        sent.status,
        participants,
        sent.new,
    )


def _union(*groups: Sequence[Handle]) -> tuple[Handle, ...]:
    return tuple(dict.fromkeys(h for group in groups for h in group))


def _receipt(conversation_id: str, key: str, outcome: _Outcome) -> SendReceipt:
    finals = outcome.finals
    # The receipt names the least capable service any bubble ended on.
    service = max((b.service for b in finals), key=FALLBACK_ORDER.index)
    return SendReceipt(
        message_ids=[b.message_id for b in finals],
        conversation_id=conversation_id,
        service=service,
        status=overall_status(b.status for b in finals),
        idempotency_key=key,
        degradations=tuple(outcome.degradations),
        attempts=tuple(b.attempt for b in outcome.tries) if outcome.resent else (),
        opt_out_overridden=tuple(outcome.overridden),
    )


def _question_of(message: Message) -> NumberedQuestion | None:
    """The numbered question ``message`` is, if it is one of ours."""
    if message.direction is not Direction.OUTBOUND or len(message.parts) != 1:
        return None
    return read_numbered_question(message.text)


def _numbered_poll(message: Message, read: NumberedQuestion, later: Sequence[Message]) -> Poll:
    """A numbered question's votes: the replies after it (oldest first) until the next question."""
    votes: list[list[PollVote]] = [[] for _ in read.options]
    for item in later:
        if _question_of(item) is not None:
            break
        if item.direction is not Direction.INBOUND or item.sender is None or len(item.parts) != 1:
            continue
        number = option_number(item.text, len(read.options))
        if number is not None and item.sender not in {v.voter for v in votes[number - 1]}:
            votes[number - 1].append(PollVote(item.sender, item.created_at))
    return Poll(
        id=message.id,
        conversation_id=message.conversation_id,
        options=(
            PollOption(str(n), text, tuple(votes[n - 1]))
            for n, text in enumerate(read.options, start=1)
        ),
        native=False,
        question=read.question,
        creator=message.sender,
    )


def _numbered_receipt(
    receipt: SendReceipt,
    options: tuple[str, ...],
    key: str,
    degradations: tuple[Degradation, ...],
    *,
    question: SendReceipt | None = None,
) -> PollReceipt:
    return PollReceipt(
        poll_id=receipt.message_id,
        conversation_id=receipt.conversation_id,
        native=False,
        options=(PollOption(str(n), text) for n, text in enumerate(options, start=1)),
        question=question or receipt,
        service=receipt.service,
        status=receipt.status,
        idempotency_key=key,
        degradations=(*receipt.degradations, *degradations) if question is None else degradations,
    )
