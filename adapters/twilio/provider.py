"""``TwilioProvider``: the provider port over Twilio's Messages resource (SMS and MMS).

What Twilio alone knows is here; everything else is ``ProviderTransport``'s.
Twilio has no chats, so a conversation is the thread with one number
(``sms:<E.164>``), open from the start, and there are no groups. It has no
idempotency key, so the promise "one key, one message" is kept here:

1. a key already answered names its message (fetched again; gone since ->
   ``AlreadySentError``), as the provider's ``records`` remember it (a dict in
   one process, or a durable :class:`~adapters.twilio.SqliteKeyStore`);
2. a key whose earlier create ended ambiguously (timeout or reset after the
   request was sent, or a 5xx) is *reconciled* before anything is sent: the
   recent messages to the same number are listed and one with the same body,
   created since that attempt began (less ``reconcile_skew``) and not claimed
   by another key, is taken as the key's message;
3. only then is a message created, with the key in the ``StatusCallback`` URL
   (so every status callback names the outbox key it belongs to).

An ambiguous create first reconciles at once; if the list does not show the
message yet, the send raises with ``outcome_unknown`` and the key is
remembered, so the retry under the same key (the outbox makes it) reconciles
again before creating. A create is never repeated blindly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, MutableMapping, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs

from adapters.twilio._convert import (
    body_and_media,
    conversation_with,
    handle_in,
    other_party,
    to_domain,
)
from adapters.twilio.client import TwilioClient
from adapters.twilio.wire_message import TwilioMessage
from caresupport_transport.capabilities import Availability, HandleCapabilities, Service
from caresupport_transport.consent import ConsentChange, consent_change
from caresupport_transport.content import OutgoingMessage, Reaction, TextPart, VoiceMemo
from caresupport_transport.errors import (
    AlreadySentError,
    BlockedError,
    NotFoundError,
    OptedOutError,
    ProviderError,
    TransportError,
    UnsupportedError,
)
from caresupport_transport.events import InboundEvent, MessageReceived
from caresupport_transport.handles import Handle
from caresupport_transport.model import (
    Attachment,
    BlockedHandle,
    Conversation,
    ConversationHealth,
    Message,
)
from caresupport_transport.polls import Poll
from caresupport_transport.provider import Sent

__all__ = ["DEFAULT_RECONCILE_SKEW", "KEY_PARAMETER", "OPTED_OUT_CODE", "TwilioProvider"]

KEY_PARAMETER = "caresupport_key"
"""The query parameter of the ``StatusCallback`` URL that carries the idempotency key."""
OPTED_OUT_CODE = 21610
"""Twilio's "attempt to send to unsubscribed recipient" (the person texted STOP)."""
DEFAULT_RECONCILE_SKEW = timedelta(minutes=2)
"""How far before an ambiguous attempt a matching message may have been created (clock skew)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SENT = "sent:"
_AMBIGUOUS = "ambiguous:"
_RECONCILE_LIMIT = 200
"""Messages to one number read back at most when reconciling."""


def with_key(url: str, key: str) -> str:
    """``url`` with the idempotency key added to its query."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), (KEY_PARAMETER, key)]
    return urlunsplit(parts._replace(query=urlencode(query)))


class TwilioProvider:
    """Twilio Programmable Messaging as a provider: SMS and MMS to phone numbers.

    Args:
        client: the API client.
        clock: now, in UTC (for the reconciliation window).
        reconcile_skew: see :data:`DEFAULT_RECONCILE_SKEW`.
        records: where the provider keeps ``sent:<key>`` -> message SID and
            ``ambiguous:<key>`` -> when an unresolved ambiguous create began.
            A dict by default (this process only); give a durable one
            (:class:`~adapters.twilio.SqliteKeyStore`) when a send may be
            retried by another process, as the outbox's workers and the CLI do.
    """

    def __init__(
        self,
        client: TwilioClient,
        *,
        clock: Callable[[], datetime] | None = None,
        reconcile_skew: timedelta = DEFAULT_RECONCILE_SKEW,
        records: MutableMapping[str, str] | None = None,
    ) -> None:
        self.client = client
        self._now: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self._skew = reconcile_skew
        self.records: MutableMapping[str, str] = records if records is not None else {}
        self._blocklist: dict[Handle, BlockedHandle] = {}
        self._seen: dict[str, int] = {}
        """Message SID -> the order this process created or received it in."""
        self.opted_out: set[Handle] = set()
        """Numbers whose last word to us was an opt-out keyword (learned from inbound texts)."""

    @property
    def line(self) -> Handle | None:
        return self.client.config.from_number

    async def _domain(self, message: TwilioMessage) -> Message:
        """The domain message; its media read from the Media subresource when it has any."""
        media = await self.client.list_media(message.sid) if message.num_media else []
        return to_domain(message, self.line, media)

    async def capabilities(self, handle: Handle) -> HandleCapabilities:
        """SMS (with MMS) to any phone number; never iMessage or RCS; nothing to an email."""
        return HandleCapabilities(
            handle, imessage=Availability.UNAVAILABLE, rcs=Availability.UNAVAILABLE
        )

    # -- conversations --------------------------------------------------------------

    async def conversation_for(self, handle: Handle) -> Conversation:
        return conversation_with(handle)

    def is_unopened(self, conversation: Conversation) -> bool:
        """Never: an SMS thread needs no chat created by its first message."""
        return False

    async def conversation(self, conversation_id: str) -> Conversation:
        return self._thread(handle_in(conversation_id))

    async def get_conversation(self, conversation_id: str) -> Conversation:
        return self._thread(handle_in(conversation_id))

    def _thread(self, handle: Handle) -> Conversation:
        """The thread with ``handle``: ``OPTED_OUT`` while their last word was a STOP keyword."""
        health = ConversationHealth.OPTED_OUT if handle in self.opted_out else None
        return attrs.evolve(conversation_with(handle), health=health)

    def observe_inbound(self, event: InboundEvent) -> bool:
        """Learn from a verified inbound event; ``False`` when it must be dropped.

        A text from a number on our blocklist is dropped (never reaches the care
        logic); an opt-out keyword marks the number's thread ``OPTED_OUT`` and any
        later text clears it, by the rule of :mod:`caresupport_transport.consent`.
        """
        if not isinstance(event, MessageReceived) or event.message.sender is None:
            return True
        sender = event.message.sender
        if sender in self._blocklist:
            return False
        self._saw(event.message.id)
        change = consent_change(
            event.message.parts, is_group=False, opted_out=sender in self.opted_out
        )
        if change is ConsentChange.OPTED_OUT:
            self.opted_out.add(sender)
        elif change is ConsentChange.OPTED_IN:
            self.opted_out.discard(sender)
        return True

    async def conversations(self, page_size: int) -> AsyncIterator[Conversation]:
        """One per number we exchanged messages with, most recent first."""
        seen: set[str] = set()
        async for message in self.client.list_messages(page_size=page_size):
            other = other_party(message)
            if other in seen or not other:
                continue
            seen.add(other)
            yield conversation_with(Handle(other))

    async def get_message(self, message_id: str) -> Message:
        return await self._domain(await self.client.fetch_message(message_id))

    async def messages(self, conversation_id: str, page_size: int) -> AsyncIterator[Message]:
        """Both directions with the number, newest first (two listings, merged)."""
        other = handle_in(conversation_id).value
        ours = self.line.value if self.line is not None else None
        sent = [
            m async for m in self.client.list_messages(to=other, from_=ours, page_size=page_size)
        ]
        got = [
            m async for m in self.client.list_messages(from_=other, to=ours, page_size=page_size)
        ]
        # Twilio's dates have one-second resolution, and the two listings are merged
        # here: within a second, the order this process saw messages in decides.
        merged = sorted(
            [*sent, *got],
            key=lambda m: (m.date_created or _EPOCH, self._seen.get(m.sid, -1)),
            reverse=True,
        )
        for message in merged:
            yield await self._domain(message)

    # -- sending --------------------------------------------------------------------

    async def start(
        self,
        participants: Sequence[Handle],
        message: OutgoingMessage,
        *,
        service: Service,
        pinned: bool,
        idempotency_key: str,
        override_optout: bool = False,
    ) -> tuple[Conversation, Sent]:
        if len(participants) != 1:
            raise UnsupportedError("group", "sms", "Twilio Programmable Messaging has no groups")
        conversation = conversation_with(participants[0])
        sent = await self._create(participants[0], message, idempotency_key)
        return conversation, sent

    async def open(
        self,
        conversation: Conversation,
        message: OutgoingMessage,
        *,
        service: Service,
        pinned: bool,
        idempotency_key: str,
        override_optout: bool = False,
    ) -> Sent:
        return await self._create(conversation.participants[0], message, idempotency_key)

    async def send(
        self,
        conversation_id: str,
        message: OutgoingMessage,
        *,
        service: Service,
        pinned: bool,
        idempotency_key: str,
        override_optout: bool = False,
    ) -> Sent:
        return await self._create(handle_in(conversation_id), message, idempotency_key)

    async def send_voice_memo(
        self,
        conversation_id: str,
        memo: VoiceMemo,
        *,
        service: Service,
        idempotency_key: str,
        override_optout: bool = False,
    ) -> Sent:
        """Never planned (SMS has no voice memos); sent as an MMS of the audio if asked."""
        return await self._create(
            handle_in(conversation_id), OutgoingMessage((memo.audio,)), idempotency_key
        )

    async def _create(self, to: Handle, message: OutgoingMessage, key: str) -> Sent:
        """Send under ``key`` at most once (see the module docstring)."""
        if to in self._blocklist:
            raise BlockedError("the number is on our blocklist", handle=to)
        known = self.records.get(_SENT + key)
        if known is not None:
            return self._sent(await self._fetch_kept(known, key), new=False)
        body, media = body_and_media(message)
        began = self.ambiguous_since(key)
        if began is not None:
            found = await self._reconcile(to, body, began)
            if found is not None:
                return self._adopt(key, found)
        began = self._now()
        callback = self.client.config.status_callback_url
        try:
            created = await self.client.create_message(
                to.value,
                body,
                media_urls=media,
                status_callback=with_key(callback, key) if callback else None,
            )
        except ProviderError as exc:
            if exc.code == OPTED_OUT_CODE:
                raise OptedOutError(
                    exc.message, person=to, status=exc.status, code=exc.code
                ) from exc
            if exc.outcome_unknown:
                return await self._after_ambiguous(to, body, key, began, exc)
            raise
        except TransportError as exc:
            if exc.outcome_unknown:
                return await self._after_ambiguous(to, body, key, began, exc)
            raise
        self._remember(key, created.sid)
        return self._sent(created, new=True)

    def _saw(self, sid: str) -> None:
        self._seen.setdefault(sid, len(self._seen))

    async def _after_ambiguous(
        self, to: Handle, body: str, key: str, began: datetime, error: TransportError
    ) -> Sent:
        """Reconcile at once; if the message is not listed (yet), raise with the outcome unknown."""
        since = self.ambiguous_since(key)
        if since is None:
            since = began
            self.records[_AMBIGUOUS + key] = began.isoformat()
        found = await self._reconcile(to, body, since)
        if found is not None:
            return self._adopt(key, found)
        raise error

    async def _reconcile(self, to: Handle, body: str, began: datetime) -> TwilioMessage | None:
        """The message an ambiguous create made, if the recent list to ``to`` shows one."""
        since = began - self._skew
        claimed = {sid for name, sid in self.records.items() if name.startswith(_SENT)}
        ours = self.line.value if self.line is not None else None
        read = 0
        # No ``DateSent`` filter: a text still queued has no date sent yet. The list
        # is newest first by creation, so reading stops at the window's start.
        async for candidate in self.client.list_messages(to=to.value, from_=ours, page_size=50):
            read += 1
            created = candidate.date_created
            if created is not None and created < since:
                break  # newest first: everything further is older
            if candidate.outbound and candidate.body == body and candidate.sid not in claimed:
                return candidate
            if read >= _RECONCILE_LIMIT:
                break
        return None

    def _adopt(self, key: str, message: TwilioMessage) -> Sent:
        self._remember(key, message.sid)
        return self._sent(message, new=False)

    def _remember(self, key: str, sid: str) -> None:
        self.records[_SENT + key] = sid
        self.records.pop(_AMBIGUOUS + key, None)
        self._saw(sid)

    def ambiguous_since(self, key: str) -> datetime | None:
        """When the ambiguous create under ``key`` began, if one is unresolved."""
        stamp = self.records.get(_AMBIGUOUS + key)
        return datetime.fromisoformat(stamp) if stamp is not None else None

    async def _fetch_kept(self, sid: str, key: str) -> TwilioMessage:
        try:
            return await self.client.fetch_message(sid)
        except NotFoundError as exc:
            raise AlreadySentError(
                f"the message sent under idempotency key {key!r} was deleted", status=404
            ) from exc

    def _sent(self, message: TwilioMessage, *, new: bool) -> Sent:
        domain = to_domain(message, self.line)
        return Sent(domain.id, domain.conversation_id, Service.SMS, domain.status, new=new)

    # -- what SMS does not have -----------------------------------------------------

    async def edit(self, message_id: str, part_index: int, text: TextPart) -> None:
        raise UnsupportedError("edit", "sms", "a text message cannot be edited")

    async def react(self, message_id: str, reaction: Reaction, part_index: int) -> None:
        raise UnsupportedError("tapback", "sms", "SMS has no tapbacks")

    async def remove_reaction(self, message_id: str, reaction: Reaction, part_index: int) -> bool:
        raise UnsupportedError("tapback", "sms", "SMS has no tapbacks")

    async def set_typing(self, conversation_id: str, typing: bool) -> None:
        raise UnsupportedError("typing", "sms", "SMS has no typing indicators")

    async def mark_read(self, conversation_id: str) -> None:
        raise UnsupportedError("read_receipt", "sms", "SMS has no read receipts")

    async def share_contact_card(self, conversation_id: str) -> None:
        raise UnsupportedError("contact_card", "sms", "SMS has no contact cards")

    async def add_participant(self, conversation: Conversation, handle: Handle) -> Conversation:
        raise UnsupportedError("group", "sms", "Twilio Programmable Messaging has no groups")

    async def remove_participant(self, conversation: Conversation, handle: Handle) -> Conversation:
        raise UnsupportedError("group", "sms", "Twilio Programmable Messaging has no groups")

    async def upload(self, data: bytes, *, filename: str, content_type: str) -> Attachment:
        raise UnsupportedError("upload", "sms", "Twilio sends media from a public URL only")

    @property
    def has_polls(self) -> bool:
        return False

    async def send_poll(
        self, conversation_id: str, options: Sequence[str], *, idempotency_key: str
    ) -> tuple[Sent, Poll]:
        raise UnsupportedError("poll", "sms", "SMS has no native polls")

    async def get_poll(self, poll_id: str) -> Poll:
        raise NotFoundError(f"no native poll {poll_id!r} on SMS", status=404)

    def conversation_changed(self, conversation_id: str) -> None:
        """Nothing cached: an SMS thread never changes members."""

    # -- the blocklist (Twilio has none: kept by this provider) ----------------------

    async def block(self, handle: Handle, *, reason: str | None) -> BlockedHandle:
        entry = self._blocklist.get(handle)
        if entry is None:
            entry = BlockedHandle(handle, self._now(), reason)
            self._blocklist[handle] = entry
        return entry

    async def unblock(self, handle: Handle) -> None:
        self._blocklist.pop(handle, None)

    async def blocked(self) -> tuple[BlockedHandle, ...]:
        return tuple(sorted(self._blocklist.values(), key=lambda b: b.blocked_at, reverse=True))

    def is_blocked(self, handle: Handle) -> bool:
        return handle in self._blocklist
