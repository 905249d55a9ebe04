"""``LinqClient``: a typed async client for every operation of Linq Partner API V3."""

from __future__ import annotations

import asyncio
import mimetypes
import os
import random as _random
import re
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import attrs
import httpx

from adapters.linq import _validate as check
from adapters.linq import _words
from adapters.linq._backgrounds import background
from adapters.linq._bodies import (
    BlockHandleBody,
    CardAppBody,
    CardBody,
    CardExperienceBody,
    CardUpdateBody,
    ContinuationBody,
    CreateChatBody,
    CreatePollBody,
    CreateWebhookSubscriptionBody,
    EditMessageBody,
    ForwardingBody,
    HandleCheckBody,
    LocationStopBody,
    ParticipantBody,
    PollContentBody,
    PollOptionBody,
    PollOptionsBody,
    PollVoteBody,
    PollVoteOperation,
    ReactionBody,
    ReactionOperation,
    RequestUploadBody,
    SendMessageBody,
    SendToHandlesBody,
    StickerPlacementBody,
    UnblockHandleBody,
    UpdateCardBody,
    UpdateChatBody,
    UpdateWebhookSubscriptionBody,
    VoiceMemoBody,
)
from adapters.linq._card_rules import card_layout, placement
from adapters.linq._convert import converter, decode
from adapters.linq._http import Call, Reply, Requester
from adapters.linq._retry import Replay
from adapters.linq.config import LinqConfig
from adapters.linq.loopback import is_https_or_loopback_http
from adapters.linq.wire_account import (
    Accepted,
    AttachmentInfo,
    ContactCard,
    ContactCardList,
    CreatedWebhookSubscription,
    HandleCheck,
    PhoneNumber,
    PhoneNumberList,
    UploadTicket,
    WebhookEventTypes,
    WebhookSubscription,
    WebhookSubscriptionList,
)
from adapters.linq.wire_blocked import BlockedHandle, BlockedHandleList, BlockedHandleResult
from adapters.linq.wire_chats import (
    Chat,
    ChatsPage,
    CreateChatResult,
    CreatedChat,
    HandleMessageSent,
    Message,
    MessageSent,
    MessagesPage,
    VoiceMemoResult,
    VoiceMemoSent,
)
from adapters.linq.wire_extras import (
    Experience,
    ExperienceList,
    LocationPoint,
    Locations,
    Outcome,
    StickerPlaced,
)
from adapters.linq.wire_lines import (
    AvailableNumber,
    CallForwarding,
    ReputationAudit,
    ReputationAuditStarted,
)
from adapters.linq.wire_polls import PollEnvelope
from caresupport_transport import limits
from caresupport_transport.capabilities import Service
from caresupport_transport.checks import check_flag, check_reason
from caresupport_transport.content import (
    OutgoingMessage,
    Reaction,
    ReactionKind,
    TextPart,
    VoiceMemo,
    check_content_type,
)
from caresupport_transport.errors import ProtocolError, ValidationError
from caresupport_transport.handles import Handle
from caresupport_transport.model import Attachment
from caresupport_transport.sending import KeyFactory, keyed_send, new_idempotency_key

__all__ = ["LinqClient"]

T = TypeVar("T")
P = TypeVar("P")

Query = tuple[tuple[str, str], ...]
ThreadOrder = Literal["asc", "desc"]


class LinqClient:
    """A typed async client for Linq Partner API V3 (one pooled connection pool).

    Every method validates its arguments before any request and raises
    :class:`~caresupport_transport.errors.ValidationError` naming the argument and
    the rule. Failures are the library's errors, mapped once at the edge:
    ``NotFoundError`` (404), ``ConflictError`` (409, never retried),
    ``RateLimitedError`` (429 beyond the retry budget, with ``retry_after``),
    ``ProviderError`` (other refusals, with ``status``, Linq's ``code``, message
    and ``trace_id``), ``UnreachableError`` / ``TransportTimeoutError`` (no
    answer) and ``ProtocolError`` (an answer not of the promised shape).

    Connection failures, timeouts, 408, 429 and 5xx are retried with jittered
    exponential backoff, honouring ``Retry-After``, up to ``config.max_attempts``
    and ``config.retry_budget_seconds``. Requests whose repetition could act twice
    are retried only when they surely did not take effect (see ``Replay``); sends
    are safe to repeat because each carries one idempotency key on every attempt.

    At most ``config.max_in_flight`` requests are in flight at once; waiting for
    a slot counts against ``config.timeout_seconds``.

    Use it as an async context manager, or call :meth:`aclose`::

        async with LinqClient(LinqConfig.from_env()) as linq:
            chat = await linq.get_chat(chat_id)

    Args:
        config: credentials, sender line, base URL and limits.
        http: an ``httpx.AsyncClient`` to use instead of making one (it is not
            closed by :meth:`aclose`; give it ``httpx.Limits`` with at least
            ``max_in_flight`` keep-alive connections).
        sleep: how to wait between attempts (tests pass a recorder).
        random: the jitter source, returning a float in ``[0, 1)``.
        clock: the current POSIX time, for ``Retry-After`` given as a date.
        new_key: makes an idempotency key when the caller gives none.
    """

    def __init__(
        self,
        config: LinqConfig,
        *,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], float] = time.time,
        new_key: KeyFactory = new_idempotency_key,
    ) -> None:
        self._config = config
        self._new_key = new_key
        self._requester = Requester(config, http, sleep=sleep, random=random, clock=clock)

    @property
    def config(self) -> LinqConfig:
        """The settings this client was made with (the token stays a ``Secret``)."""
        return self._config

    def __repr__(self) -> str:
        phone = self._config.phone_number.value if self._config.phone_number else None
        return f"LinqClient(base_url={self._config.base_url!r}, phone_number={phone!r})"

    async def aclose(self) -> None:
        """Close the connection pool this client made (an injected one is left open)."""
        await self._requester.aclose()

    async def __aenter__(self) -> LinqClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- chats --

    async def create_chat(
        self,
        to: Sequence[Handle | str],
        message: OutgoingMessage,
        *,
        from_: Handle | str | None = None,
        preferred_service: Service | None = None,
        idempotency_key: str | None = None,
        override_optout: bool = False,
    ) -> CreatedChat:
        """Create a chat with 1 to 31 others and send its first message (``POST /v3/chats``).

        More than one handle makes a group chat. The first message may carry no
        URL, effect or reply. Retried safely: the message carries an idempotency
        key (the caller's, or one made here once), the same on every attempt.

        Args:
            to: the other participants: E.164 numbers or email addresses.
            message: the first message.
            from_: the sender line; the configured ``phone_number`` by default.
            preferred_service: pin a service (disables Linq's fallback); ``None``
                lets Linq fall back iMessage -> RCS -> SMS.
            idempotency_key: at most 255 printable ASCII characters.
            override_optout: send even though the recipient opted out (one final
                courtesy message; Linq records each override against the key).

        Returns:
            The chat with its first message, and the key it was sent under.

        Raises:
            ValidationError: bad handles, no sender line, or a first message with
                a URL, an effect or a reply (before any request).
            ProviderError: 403 with ``codes.RECIPIENT_OPTED_OUT`` (opted out) or
                ``codes.HANDLE_ON_BLOCKLIST`` (on your blocklist), among others.
        """
        recipients = check.recipients("to", to)
        sender = check.sender(from_, self._config.phone_number)
        key = check.idempotency_key(idempotency_key, self._new_key)
        content = check.message_content(
            message, idempotency_key=key, preferred_service=preferred_service, starts_chat=True
        )
        body = CreateChatBody(
            from_=sender,
            to=recipients,
            message=content,
            override_optout=check_flag(override_optout, "override_optout"),
        )
        result = await self._send(CreateChatResult, "create_chat", "/v3/chats", body, key)
        return attrs.evolve(result.chat, idempotency_key=key)

    def list_chats(
        self,
        *,
        from_: Handle | str | None = None,
        to: Sequence[Handle | str] = (),
        limit: int = 50,
    ) -> AsyncIterator[Chat]:
        """Every chat of a line, page by page (``GET /v3/chats``).

        Args:
            from_: the line; the configured ``phone_number`` by default, or all
                lines when neither is set.
            to: only chats with these participants (``to=a&to=b``).
            limit: chats per page, 1 to 100.

        Raises:
            ValidationError: at the call, before any request.
        """
        query: Query = ()
        sender = check.optional_sender(from_, self._config.phone_number)
        if sender is not None:
            query += (("from", sender),)
        if isinstance(to, str | Handle):
            raise ValidationError("to", "must be a list of handles, not a single value")
        query += tuple(("to", check.handle(f"to[{i}]", h).value) for i, h in enumerate(to))
        query += (("limit", str(check.page_size(limit))),)
        return self._paginate(
            "list_chats",
            "/v3/chats",
            query,
            page=ChatsPage,
            items=lambda page: page.chats,
            next_cursor=lambda page: page.next_cursor,
        )

    async def get_chat(self, chat_id: str) -> Chat:
        """One chat (``GET /v3/chats/{chatId}``); ``NotFoundError`` when there is none."""
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}"
        return await self._fetch(Chat, "get_chat", "GET", path)

    async def update_chat(
        self,
        chat_id: str,
        *,
        display_name: str | None = None,
        group_chat_icon: str | None = None,
    ) -> Chat:
        """Rename a chat or set its group icon (``PUT /v3/chats/{chatId}``).

        Args:
            chat_id: the chat.
            display_name: the new name.
            group_chat_icon: an https:// URL of the new icon.

        Raises:
            ValidationError: neither given, a blank name, or an icon not by HTTPS.
        """
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}"
        if display_name is None and group_chat_icon is None:
            raise ValidationError("update_chat", "give display_name, group_chat_icon or both")
        body = UpdateChatBody(
            display_name=check.name("display_name", display_name),
            group_chat_icon=(
                check.https_url("group_chat_icon", group_chat_icon)
                if group_chat_icon is not None
                else None
            ),
        )
        return await self._fetch(Chat, "update_chat", "PUT", path, body=body)

    async def add_participant(self, chat_id: str, handle: Handle | str) -> Accepted:
        """Add someone to a group (``POST /v3/chats/{chatId}/participants``).

        Linq requires 3+ participants already and the group's service. Retried
        after an unknown outcome: adding someone twice leaves them added once.
        """
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/participants"
        body = ParticipantBody(check.handle("handle", handle).value)
        return await self._accept("add_participant", "POST", path, body=body)

    async def remove_participant(self, chat_id: str, handle: Handle | str) -> Accepted:
        """Remove someone from a group (``DELETE /v3/chats/{chatId}/participants``).

        Linq requires 3+ participants left afterwards.
        """
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/participants"
        body = ParticipantBody(check.handle("handle", handle).value)
        return await self._accept("remove_participant", "DELETE", path, body=body)

    async def start_typing(self, chat_id: str) -> None:
        """Show the typing indicator (``POST /v3/chats/{chatId}/typing``; iMessage, 1:1)."""
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/typing"
        await self._reply("start_typing", "POST", path)

    async def stop_typing(self, chat_id: str) -> None:
        """Hide the typing indicator (``DELETE /v3/chats/{chatId}/typing``)."""
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/typing"
        await self._reply("stop_typing", "DELETE", path)

    async def mark_read(self, chat_id: str) -> None:
        """Mark every message of a chat read (``POST /v3/chats/{chatId}/read``)."""
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/read"
        await self._reply("mark_read", "POST", path)

    async def share_contact_card(self, chat_id: str) -> None:
        """Share the line's contact card (``POST /v3/chats/{chatId}/share_contact_card``).

        Linq allows one share per chat per 5 minutes and answers 404 (code 2012)
        without an active card. Not repeated after an unknown outcome
        (:attr:`Replay.IF_UNSENT`): a second share is visible.
        """
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/share_contact_card"
        await self._reply("share_contact_card", "POST", path, replay=Replay.IF_UNSENT)

    async def leave_chat(self, chat_id: str) -> Accepted:
        """Leave a group chat (``POST /v3/chats/{chatId}/leave``; newer than the YAML).

        Linq allows it only in iMessage groups of 4 or more active participants
        (the line included); a direct chat cannot be left. Afterwards every
        interaction with the chat answers ``ConflictError`` (409), and
        ``participant.removed`` arrives for the line. Not repeated after an
        unknown outcome: a second leave would fail and hide that the first one
        worked.
        """
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/leave"
        return await self._accept("leave_chat", "POST", path, replay=Replay.IF_UNSENT)

    async def request_location(self, chat_id: str) -> Outcome:
        """Ask the person to share their location (``POST /v3/chats/{chatId}/location/request``).

        They get an iMessage prompt and must accept; no coordinates come back.
        Only 1:1 iMessage chats: a group answers 409 (code 2016), SMS/RCS 409
        (code 2017), a person already sharing 409. Linq limits requests per chat
        (``RateLimitedError`` with ``retry_after``), so an unknown outcome is not
        repeated.
        """
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/location/request"
        return await self._fetch(Outcome, "request_location", "POST", path, replay=Replay.IF_UNSENT)

    async def get_locations(self, chat_id: str) -> tuple[LocationPoint, ...]:
        """Where the chat's sharers are (``GET /v3/chats/{chatId}/location``, GeoJSON).

        One point per sharing participant; empty until a first position arrives.
        Linq sends no webhook when a position moves: poll, at most every few
        minutes.

        Raises:
            ProtocolError: a feature that is not a GeoJSON ``Point``.
        """
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/location"
        result = await self._fetch(
            Locations,
            "get_locations",
            "GET",
            path,
            headers=(("Accept", "application/geo+json"),),
        )
        try:
            return tuple(LocationPoint.from_feature(f) for f in result.data.features)
        except ValueError as exc:
            raise ProtocolError(f"get_locations: {exc}") from None

    async def stop_location_share(self, chat_id: str, handle: Handle | str) -> Outcome:
        """End a person's location share (``DELETE /v3/chats/{chatId}/location``).

        It ends their share in every chat with the line; ``location.sharing.stopped``
        follows. ``NotFoundError`` when they are not sharing (also after a repeat
        whose first attempt worked).
        """
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/location"
        body = LocationStopBody(check.handle("handle", handle).value)
        return await self._fetch(Outcome, "stop_location_share", "DELETE", path, body=body)

    async def set_chat_background(
        self,
        chat_id: str,
        type: str,
        *,
        variant: str | None = None,
        shades: Sequence[str] | None = None,
        style: str | None = None,
        image_url: str | None = None,
    ) -> None:
        """Set a chat's transcript background (``POST /v3/chats/{chatId}/background``).

        Linq accepts it (202) and reports the result as ``chat.background_updated``
        or ``chat.background_update_failed``; RCS and SMS chats accept it and
        change nothing, with no webhook.

        Args:
            chat_id: the chat (groups too).
            type: ``color``, ``dynamic`` or ``photo``.
            variant: a color swatch (``mango`` ... ``stone``, or ``custom``), or
                the variant of a dynamic style (sky: ``dusk`` ... ``dawn``; water:
                ``light``/``dark``; aurora: ``green``/``purple``/``pink``).
            shades: a custom color's two stops, ``["#F2C4E1", "#F5A623"]``.
            style: a dynamic style: ``sky``, ``water`` or ``aurora``.
            image_url: a photo: https, ``.jpg``/``.png``/``.heic``/``.webp``.

        Raises:
            ValidationError: any rule of :mod:`adapters.linq._backgrounds`.
        """
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/background"
        body = background(type, variant=variant, shades=shades, style=style, image_url=image_url)
        await self._reply("set_chat_background", "POST", path, body=body)

    async def reset_chat_background(self, chat_id: str) -> None:
        """Put a chat's background back to default (``DELETE /v3/chats/{chatId}/background``)."""
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/background"
        await self._reply("reset_chat_background", "DELETE", path)

    # -- messages --

    async def send_message(
        self,
        chat_id: str,
        message: OutgoingMessage,
        *,
        preferred_service: Service | None = None,
        idempotency_key: str | None = None,
        override_optout: bool = False,
    ) -> MessageSent:
        """Send into an existing chat (``POST /v3/chats/{chatId}/messages``).

        Retried safely: the message carries one idempotency key (the caller's, or
        one made here once) on every attempt, in the content and as the
        ``Idempotency-Key`` header, so a retried send never makes two messages.

        Args:
            chat_id: the chat.
            message: text and media parts, an effect, a reply (iMessage only).
            preferred_service: pin a service; ``None`` lets Linq fall back.
            idempotency_key: at most 255 printable ASCII characters.
            override_optout: send even though the recipient opted out (one final
                courtesy message).

        Returns:
            The chat id, the message as sent, and the key it was sent under.
        """
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/messages"
        key = check.idempotency_key(idempotency_key, self._new_key)
        content = check.message_content(
            message, idempotency_key=key, preferred_service=preferred_service, starts_chat=False
        )
        body = SendMessageBody(
            content, override_optout=check_flag(override_optout, "override_optout")
        )
        sent = await self._send(MessageSent, "send_message", path, body, key)
        return attrs.evolve(sent, idempotency_key=key)

    async def send_to_handles(
        self,
        to: Sequence[Handle | str],
        message: OutgoingMessage,
        *,
        from_: Handle | str | None = None,
        preferred_service: Service | None = None,
        idempotency_key: str | None = None,
        override_optout: bool = False,
        exclude_from: Sequence[Handle | str] = (),
        continuation_text: str | None = None,
    ) -> HandleMessageSent:
        """Send to people, letting Linq pick or create the chat and line (``POST /v3/messages``).

        Newer than the YAML. The key goes in the ``Idempotency-Key`` header (as
        Linq documents for this operation) and in the content. Linq may reuse a
        chat, so the first-message rules are not applied here; a new chat refuses
        a URL with code ``URL_IN_FIRST_MESSAGE``.

        Args:
            to: 1 to 31 handles; the set identifies the chat.
            message: the message.
            from_: a line to use; by default Linq picks (the configured line is
                not forced here).
            preferred_service: pin a service; ``None`` lets Linq fall back.
            idempotency_key: at most 255 printable ASCII characters.
            override_optout: send even though the recipient opted out (one final
                courtesy message).
            exclude_from: lines (E.164) Linq must not pick.
            continuation_text: sent instead of ``message`` only when Linq fails
                over from a flagged line to a new chat on another number (the
                answer then has ``previous_chat_id``).

        Returns:
            The chat and line Linq used (keep both: a failover moves the person
            to a new chat on a different number), why it chose them, and the message.
        """
        recipients = check.recipients("to", to)
        sender = check.phone("from_", from_).value if from_ is not None else None
        if isinstance(exclude_from, str | Handle):
            raise ValidationError("exclude_from", "must be a list of lines, not a single value")
        excluded = tuple(
            check.phone(f"exclude_from[{i}]", line).value for i, line in enumerate(exclude_from)
        )
        continuation = (
            ContinuationBody(_text("continuation_text", continuation_text))
            if continuation_text is not None
            else None
        )
        key = check.idempotency_key(idempotency_key, self._new_key)
        content = check.message_content(
            message, idempotency_key=key, preferred_service=preferred_service, starts_chat=False
        )
        body = SendToHandlesBody(
            to=recipients,
            message=content,
            from_=sender,
            override_optout=check_flag(override_optout, "override_optout"),
            exclude_from=excluded or None,
            continuation_message=continuation,
        )
        sent = await self._send(HandleMessageSent, "send_to_handles", "/v3/messages", body, key)
        return attrs.evolve(sent, idempotency_key=key)

    def list_messages(self, chat_id: str, *, limit: int = 50) -> AsyncIterator[Message]:
        """A chat's history, page by page (``GET /v3/chats/{chatId}/messages``).

        Raises:
            ValidationError: at the call, before any request.
        """
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/messages"
        return self._paginate(
            "list_messages",
            path,
            (("limit", str(check.page_size(limit))),),
            page=MessagesPage,
            items=lambda page: page.messages,
            next_cursor=lambda page: page.next_cursor,
        )

    def message_thread(
        self, message_id: str, *, limit: int = 50, order: ThreadOrder = "asc"
    ) -> AsyncIterator[Message]:
        """The thread of any message in it, originator first by default.

        ``GET /v3/messages/{messageId}/thread``; a message in no thread is its own.

        Raises:
            ValidationError: at the call, before any request.
        """
        path = f"/v3/messages/{check.path_id('message_id', message_id)}/thread"
        if order not in ("asc", "desc"):
            raise ValidationError("order", f"must be 'asc' or 'desc', got {order!r}")
        return self._paginate(
            "message_thread",
            path,
            (("limit", str(check.page_size(limit))), ("order", order)),
            page=MessagesPage,
            items=lambda page: page.messages,
            next_cursor=lambda page: page.next_cursor,
        )

    async def send_voice_memo(
        self,
        chat_id: str,
        memo: VoiceMemo,
        *,
        from_: Handle | str | None = None,
        idempotency_key: str | None = None,
        override_optout: bool = False,
    ) -> VoiceMemoSent:
        """Send an iMessage voice memo (``POST /v3/chats/{chatId}/voicememo``).

        By HTTPS URL or pre-uploaded attachment id; MP3, M4A, AAC, CAF, WAV, AIFF
        or AMR; at most 10 MB (the ``VoiceMemo`` checks both). Linq documents no
        idempotency key for voice memos: the key is sent as the ``Idempotency-Key``
        header, and the call is retried as a send.

        Args:
            chat_id: the chat.
            memo: the audio.
            from_: the sender line; the configured ``phone_number`` by default
                (the YAML requires one; newer Linq does not).
            idempotency_key: at most 255 printable ASCII characters.
            override_optout: send even though the recipient opted out.
        """
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/voicememo"
        if not isinstance(memo, VoiceMemo):
            raise ValidationError("memo", "must be a VoiceMemo")
        sender = check.optional_sender(from_, self._config.phone_number)
        key = check.idempotency_key(idempotency_key, self._new_key)
        audio = memo.audio
        body = VoiceMemoBody(
            from_=sender,
            voice_memo_url=(
                check.media_url("memo.audio.url", audio.url) if audio.url is not None else None
            ),
            attachment_id=audio.attachment_id,
            override_optout=check_flag(override_optout, "override_optout"),
        )
        result = await self._send(VoiceMemoResult, "send_voice_memo", path, body, key)
        return attrs.evolve(result.voice_memo, idempotency_key=key)

    async def get_message(self, message_id: str) -> Message:
        """One message (``GET /v3/messages/{messageId}``)."""
        path = f"/v3/messages/{check.path_id('message_id', message_id)}"
        return await self._fetch(Message, "get_message", "GET", path)

    async def edit_message(self, message_id: str, text: str, *, part_index: int = 0) -> Message:
        """Replace the text of one part (``PATCH /v3/messages/{messageId}``).

        Linq allows 5 edits per message within 15 minutes, so an edit is not
        repeated after an unknown outcome (it could count twice).

        Raises:
            ValidationError: blank text or text over 10,000 characters.
        """
        path = f"/v3/messages/{check.path_id('message_id', message_id)}"
        try:
            new_text = TextPart(text).text
        except ValidationError as exc:
            raise ValidationError("text", exc.rule) from None
        body = EditMessageBody(new_text, check.part_index(part_index))
        return await self._fetch(
            Message, "edit_message", "PATCH", path, body=body, replay=Replay.IF_UNSENT
        )

    async def delete_message(self, message_id: str) -> None:
        """Delete Linq's record of a message (``DELETE /v3/messages/{messageId}``).

        This removes the message from Linq's API only: it is NOT taken back from
        the chat, and every recipient still sees it. Afterwards a send under the
        same idempotency key answers 404 and is never resent. Repeating a delete
        after an unknown outcome may answer ``NotFoundError`` although the first
        one worked.
        """
        path = f"/v3/messages/{check.path_id('message_id', message_id)}"
        await self._reply("delete_message", "DELETE", path)

    async def react(
        self, message_id: str, reaction: Reaction, *, part_index: int | None = None
    ) -> Accepted:
        """Add a tapback (``POST /v3/messages/{messageId}/reactions``, operation ``add``).

        Stickers can only be received. Adding the same tapback twice leaves one.
        """
        if not isinstance(reaction, Reaction):
            raise ValidationError("reaction", "must be a Reaction")
        reaction.check_sendable()
        return await self._reaction(message_id, reaction, ReactionOperation.ADD, part_index)

    async def remove_reaction(
        self, message_id: str, reaction: Reaction, *, part_index: int | None = None
    ) -> Accepted:
        """Remove a tapback (``POST /v3/messages/{messageId}/reactions``, operation ``remove``)."""
        if not isinstance(reaction, Reaction):
            raise ValidationError("reaction", "must be a Reaction")
        if reaction.kind is ReactionKind.STICKER:
            raise ValidationError("reaction.kind", "sticker reactions cannot be removed")
        return await self._reaction(message_id, reaction, ReactionOperation.REMOVE, part_index)

    async def _reaction(
        self,
        message_id: str,
        reaction: Reaction,
        operation: ReactionOperation,
        part_index: int | None,
    ) -> Accepted:
        path = f"/v3/messages/{check.path_id('message_id', message_id)}/reactions"
        body = ReactionBody(
            operation=operation,
            type=reaction.kind,
            custom_emoji=reaction.emoji,
            part_index=check.part_index(part_index),
        )
        return await self._accept(f"{operation.value}_reaction", "POST", path, body=body)

    # -- polls (iMessage only) --

    async def create_poll(
        self,
        chat_id: str,
        options: Sequence[str],
        *,
        idempotency_key: str | None = None,
    ) -> PollEnvelope:
        """Send a native poll into an existing iMessage chat (``POST /v3/chats/{chatId}/polls``).

        A poll has no question: send it as a text message first. Retried safely:
        the key (the caller's, or one made here once) goes in ``poll.idempotency_key``
        and the ``Idempotency-Key`` header on every attempt.

        Args:
            chat_id: the chat (iMessage; Linq refuses polls in SMS/RCS chats).
            options: at least 2 option texts, in order.
            idempotency_key: at most 255 printable ASCII characters.

        Returns:
            The poll envelope; its ``message_id`` is what the other poll operations take.
        """
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/polls"
        texts = check.poll_options("options", options, minimum=2)
        key = check.idempotency_key(idempotency_key, self._new_key)
        body = CreatePollBody(
            PollContentBody(tuple(PollOptionBody(t) for t in texts), idempotency_key=key)
        )
        return await self._send(PollEnvelope, "create_poll", path, body, key)

    async def get_poll(self, message_id: str) -> PollEnvelope:
        """A poll and its votes by its message id (``GET /v3/messages/{messageId}/poll``)."""
        path = f"/v3/messages/{check.path_id('message_id', message_id)}/poll"
        return await self._fetch(PollEnvelope, "get_poll", "GET", path)

    async def add_poll_options(self, message_id: str, options: Sequence[str]) -> PollEnvelope:
        """Append options (``POST /v3/messages/{messageId}/poll/options``); options are add-only.

        On a zero-day-retention line Linq wants every existing option text again
        first, in order. Not repeated after an unknown outcome: a second call
        would add the options twice.
        """
        path = f"/v3/messages/{check.path_id('message_id', message_id)}/poll/options"
        texts = check.poll_options("options", options, minimum=1)
        body = PollOptionsBody(tuple(PollOptionBody(t) for t in texts))
        return await self._fetch(
            PollEnvelope, "add_poll_options", "POST", path, body=body, replay=Replay.IF_UNSENT
        )

    async def vote_poll(
        self, message_id: str, option_id: str, *, remove: bool = False
    ) -> PollEnvelope:
        """Add (or ``remove``) our line's vote for one option.

        ``POST /v3/messages/{messageId}/poll/votes``; repeating it changes nothing more.
        """
        path = f"/v3/messages/{check.path_id('message_id', message_id)}/poll/votes"
        body = PollVoteBody(
            PollVoteOperation.REMOVE if remove else PollVoteOperation.ADD,
            check.path_id("option_id", option_id),
        )
        return await self._fetch(PollEnvelope, "vote_poll", "POST", path, body=body)

    async def update_message_card(
        self,
        message_id: str,
        layout: Mapping[str, str],
        *,
        app: Mapping[str, Any] | None = None,
        experience: Mapping[str, Any] | None = None,
        fallback_text: str | None = None,
        interactive: bool | None = None,
        url: str | None = None,
    ) -> MessageSent:
        """Redraw a sent ``imessage_app`` card (``POST /v3/messages/{messageId}/update``).

        The redrawn card is a NEW message with its own id and its own
        sent/delivered/failed events: chain later updates off the id returned.
        Linq answers 400 for a message that is not the line's own app card and
        409 while the card is not yet sent. Not repeated after an unknown outcome
        (a repeat would draw the card twice).

        Args:
            message_id: the card's newest message id.
            layout: ``caption``, ``subcaption``, ``trailing_caption``,
                ``trailing_subcaption``, ``image_url`` (at least one of these),
                ``image_title`` / ``image_subtitle`` (only with ``image_url``).
            app: ``{bundle_id, name, team_id, app_store_id?}``.
            experience: ``{name, action, params?}``.
            fallback_text: what a device without the app shows.
            interactive: Linq makes it ``True`` on every update unless given.
            url: the card's link (https).

        Returns:
            The chat id and the new message.
        """
        path = f"/v3/messages/{check.path_id('message_id', message_id)}/update"
        if interactive is not None and not isinstance(interactive, bool):
            raise ValidationError("interactive", "must be True or False")
        body = UpdateCardBody(
            layout=card_layout(layout),
            app=_card_app(app) if app is not None else None,
            experience=_card_experience(experience) if experience is not None else None,
            fallback_text=(
                _text("fallback_text", fallback_text) if fallback_text is not None else None
            ),
            interactive=interactive,
            url=check.https_url("url", url) if url is not None else None,
        )
        return await self._fetch(
            MessageSent, "update_message_card", "POST", path, body=body, replay=Replay.IF_UNSENT
        )

    async def update_sticker_placement(
        self,
        message_id: str,
        reaction_id: str,
        *,
        x: float | None = None,
        y: float | None = None,
        scale: float | None = None,
        rotation: float | None = None,
    ) -> StickerPlaced:
        """Move, resize or turn a placed sticker (``PATCH .../reactions/{reactionId}``).

        ``reaction_id`` is the ``reaction_id`` of its ``reaction.added``; tapbacks
        are refused, and stickers older than this operation answer 404. Setting a
        placement twice leaves it set, so it is repeated like a read.

        Args:
            x: -1 (left) to 1 (right), 0 the centre.
            y: -1 to 1, 0 the centre.
            scale: 0.05 to 2.5 (Linq's default is 1 for an image, 0.5 for an emoji).
            rotation: degrees clockwise.
        """
        path = (
            f"/v3/messages/{check.path_id('message_id', message_id)}"
            f"/reactions/{check.path_id('reaction_id', reaction_id)}"
        )
        body = StickerPlacementBody(placement(x, y, scale, rotation))
        return await self._fetch(
            StickerPlaced, "update_sticker_placement", "PATCH", path, body=body
        )

    # -- attachments --

    async def request_upload(
        self, filename: str, content_type: str, size_bytes: int
    ) -> UploadTicket:
        """Ask where to upload a file (``POST /v3/attachments``); :meth:`upload` does it all.

        Repeating the request after an unknown outcome only leaves an unused slot.

        Raises:
            ValidationError: a blank or path-like filename, a content type carriers
                reject, or a size outside 1 byte to 100 MB.
        """
        body = RequestUploadBody(
            filename=check.filename(filename),
            content_type=_content_type(content_type),
            size_bytes=_size(size_bytes),
        )
        return await self._fetch(
            UploadTicket, "request_upload", "POST", "/v3/attachments", body=body
        )

    async def upload(
        self,
        source: bytes | str | os.PathLike[str],
        filename: str | None = None,
        content_type: str | None = None,
    ) -> Attachment:
        """Upload a file: request an upload, PUT the bytes, return the attachment.

        The bytes go to the presigned ``upload_url`` with exactly the
        ``required_headers`` Linq returned, and never with the API token. Send the
        result as ``MediaPart(attachment_id=attachment.id)``.

        Args:
            source: the bytes, or a path to read them from.
            filename: the name recipients see; a path's own name by default.
            content_type: the MIME type; guessed from the filename when omitted.

        Raises:
            ValidationError: no filename, an unknown or rejected content type, an
                empty file or one over 100 MB (checked before reading a path into
                memory, and before any request).
        """
        origin = bytes(source) if isinstance(source, bytes | bytearray) else Path(source)
        size = len(origin) if isinstance(origin, bytes) else _size_on_disk(origin)
        if filename is None and isinstance(origin, Path):
            filename = origin.name
        if filename is None:
            raise ValidationError("filename", "is required when uploading bytes")
        check.filename(filename)
        if content_type is None:
            content_type = mimetypes.guess_type(filename)[0]
            if content_type is None:
                raise ValidationError(
                    "content_type", f"cannot be guessed from {filename!r}; give it"
                )
        _content_type(content_type)
        _size(size)
        data = origin if isinstance(origin, bytes) else await _read(origin)
        _size(len(data))  # the file may have grown since it was measured
        ticket = await self.request_upload(filename, content_type, len(data))
        await self._put(ticket, data)
        return Attachment(
            id=ticket.attachment_id,
            filename=filename,
            content_type=content_type,
            size_bytes=len(data),
            download_url=ticket.download_url,
        )

    async def get_attachment(self, attachment_id: str) -> AttachmentInfo:
        """An attachment's metadata (``GET /v3/attachments/{attachmentId}``)."""
        path = f"/v3/attachments/{check.path_id('attachment_id', attachment_id)}"
        return await self._fetch(AttachmentInfo, "get_attachment", "GET", path)

    async def delete_attachment(self, attachment_id: str) -> None:
        """Delete a pre-uploaded attachment (``DELETE /v3/attachments/{attachmentId}``; newer)."""
        path = f"/v3/attachments/{check.path_id('attachment_id', attachment_id)}"
        await self._reply("delete_attachment", "DELETE", path)

    async def _put(self, ticket: UploadTicket, data: bytes) -> None:
        if ticket.http_method.upper() != "PUT":
            raise ProtocolError(f"upload: Linq asked for {ticket.http_method!r}; only PUT is known")
        if not is_https_or_loopback_http(ticket.upload_url):
            raise ProtocolError(
                "upload: the upload_url is not an https:// URL (plain http:// is allowed "
                "only on loopback, for the local simulator); bytes not sent"
            )
        for name, value in ticket.required_headers.items():
            if not _HTTP_TOKEN.fullmatch(name) or not _HTTP_VALUE.fullmatch(value):
                raise ProtocolError(
                    "upload: Linq's required_headers hold a header that is not valid HTTP "
                    "(a name must be a token, a value printable ASCII); bytes not sent"
                )
        call = Call(
            "upload",
            "PUT",
            ticket.upload_url,
            content=data,
            headers=tuple(ticket.required_headers.items()),
            authorized=False,
        )
        await self._requester.send(call)

    # -- account: lines, webhook subscriptions, capability checks, contact cards --

    async def list_phone_numbers(self) -> tuple[PhoneNumber, ...]:
        """The partner's lines (``GET /v3/phone_numbers``)."""
        result = await self._fetch(
            PhoneNumberList, "list_phone_numbers", "GET", "/v3/phone_numbers"
        )
        return result.phone_numbers

    async def list_phone_numbers_legacy(self) -> tuple[PhoneNumber, ...]:
        """The partner's lines with type and capabilities (``GET /v3/phonenumbers``, deprecated)."""
        result = await self._fetch(
            PhoneNumberList, "list_phone_numbers_legacy", "GET", "/v3/phonenumbers"
        )
        return result.phone_numbers

    async def set_call_forwarding(
        self, phone_number_id: str, forwarding_number: Handle | str | None
    ) -> CallForwarding:
        """Forward a line's inbound calls, or stop (``PUT /v3/phone_numbers/{phoneNumberId}``).

        Args:
            phone_number_id: the line's ``id`` from :meth:`list_phone_numbers`.
            forwarding_number: an E.164 number, or ``None`` to stop forwarding.
        """
        path = f"/v3/phone_numbers/{check.path_id('phone_number_id', phone_number_id)}"
        target = (
            check.phone("forwarding_number", forwarding_number).value
            if forwarding_number is not None
            else None
        )
        return await self._fetch(
            CallForwarding, "set_call_forwarding", "PUT", path, body=ForwardingBody(target)
        )

    async def start_reputation_audit(self, phone: Handle | str) -> ReputationAuditStarted:
        """Start an audit of a line's reputation (``POST .../{phoneNumber}/reputation_audit``).

        One audit runs per line: starting again while it runs answers the running
        audit's id (so a repeat is harmless); after one finishes Linq refuses new
        ones for a cooldown (``RateLimitedError`` with ``retry_after``).
        """
        path = f"/v3/phone_numbers/{_line_path(phone)}/reputation_audit"
        return await self._fetch(ReputationAuditStarted, "start_reputation_audit", "POST", path)

    async def get_reputation_audit(self, phone: Handle | str, audit_id: str) -> ReputationAudit:
        """An audit as it stands (``GET .../{phoneNumber}/reputation_audit/{auditId}``).

        Readable for 24 hours; an id of another line's audit is ``NotFoundError``.
        """
        path = (
            f"/v3/phone_numbers/{_line_path(phone)}"
            f"/reputation_audit/{check.path_id('audit_id', audit_id)}"
        )
        return await self._fetch(ReputationAudit, "get_reputation_audit", "GET", path)

    async def get_available_number(
        self,
        *,
        to: Sequence[Handle | str] = (),
        exclude_from: Sequence[Handle | str] = (),
        type: Service | None = None,
    ) -> AvailableNumber:
        """The line Linq suggests sending from (``GET /v3/available_number``).

        Nothing is reserved: pass the answer as ``from_`` to pin it. With ``to``,
        a line already in a chat with them comes back (sticky); without, the line
        used least recently, so successive calls rotate through the lines.

        Args:
            to: the recipients (``to=a&to=b``).
            exclude_from: lines (E.164) to leave out; excluding every line is a 400.
            type: only iMessage or only RCS lines (Linq answers 503 without one).
        """
        query: Query = ()
        for field, values in (("to", to), ("exclude_from", exclude_from)):
            if isinstance(values, str | Handle):
                raise ValidationError(field, "must be a list, not a single value")
        query += tuple(("to", check.handle(f"to[{i}]", h).value) for i, h in enumerate(to))
        query += tuple(
            ("exclude_from", check.phone(f"exclude_from[{i}]", h).value)
            for i, h in enumerate(exclude_from)
        )
        if type is not None:
            if type not in (Service.IMESSAGE, Service.RCS):
                raise ValidationError("type", "must be Service.IMESSAGE or Service.RCS")
            query += (("type", _words.service_word(type)),)
        return await self._fetch(
            AvailableNumber, "get_available_number", "GET", "/v3/available_number", query=query
        )

    async def list_experiences(self) -> tuple[Experience, ...]:
        """The native cards enabled for the partner (``GET /v3/experiences``)."""
        result = await self._fetch(ExperienceList, "list_experiences", "GET", "/v3/experiences")
        return result.experiences or ()

    async def get_experience(self, name: str) -> Experience:
        """One native card and its actions (``GET /v3/experiences/{experience}``)."""
        path = f"/v3/experiences/{check.path_id('experience', name)}"
        return await self._fetch(Experience, "get_experience", "GET", path)

    async def list_webhook_event_types(self) -> tuple[str, ...]:
        """The event types a subscription may name (``GET /v3/webhook-events``)."""
        result = await self._fetch(
            WebhookEventTypes, "list_webhook_event_types", "GET", "/v3/webhook-events"
        )
        return result.events

    async def create_webhook_subscription(
        self,
        target_url: str,
        events: Sequence[str],
        *,
        phone_numbers: Sequence[Handle | str] | None = None,
        routing_key_header: str | None = None,
        routing_id_header: str | None = None,
    ) -> CreatedWebhookSubscription:
        """Subscribe a URL to events (``POST /v3/webhook-subscriptions``).

        The answer holds the signing secret, shown only this once. Not repeated
        after an unknown outcome: a second subscription would deliver every
        event twice.

        Args:
            target_url: an absolute http(s) URL (``?version=2026-02-03`` picks the
                payload version).
            events: event types such as ``message.received``, at least one.
            phone_numbers: only events of these lines (E.164); all lines by default.
            routing_key_header: a header in which Linq sends a per-chat routing
                token and reads it back from the 2xx answer (delivery affinity).
            routing_id_header: the header carrying the chat id before a token is
                learned (Linq's default ``Linq-Chat-Id``).

        Each ``target_url`` may back only one subscription per account.
        """
        body = CreateWebhookSubscriptionBody(
            target_url=check.web_url("target_url", target_url),
            subscribed_events=check.event_names("events", events),
            phone_numbers=_lines("phone_numbers", phone_numbers),
            routing_key_header=_header_name("routing_key_header", routing_key_header),
            routing_id_header=_header_name("routing_id_header", routing_id_header),
        )
        return await self._fetch(
            CreatedWebhookSubscription,
            "create_webhook_subscription",
            "POST",
            "/v3/webhook-subscriptions",
            body=body,
            replay=Replay.IF_UNSENT,
        )

    async def list_webhook_subscriptions(self) -> tuple[WebhookSubscription, ...]:
        """Every subscription, active or not (``GET /v3/webhook-subscriptions``)."""
        result = await self._fetch(
            WebhookSubscriptionList,
            "list_webhook_subscriptions",
            "GET",
            "/v3/webhook-subscriptions",
        )
        return result.subscriptions

    async def get_webhook_subscription(self, subscription_id: str) -> WebhookSubscription:
        """One subscription (``GET /v3/webhook-subscriptions/{subscriptionId}``)."""
        path = f"/v3/webhook-subscriptions/{check.path_id('subscription_id', subscription_id)}"
        return await self._fetch(WebhookSubscription, "get_webhook_subscription", "GET", path)

    async def update_webhook_subscription(
        self,
        subscription_id: str,
        *,
        target_url: str | None = None,
        events: Sequence[str] | None = None,
        is_active: bool | None = None,
        phone_numbers: Sequence[Handle | str] | None = None,
        routing_key_header: str | None = None,
        routing_id_header: str | None = None,
    ) -> WebhookSubscription:
        """Change a subscription's URL, events, lines, routing headers or state (``PUT``).

        The secret stays. ``phone_numbers=[]`` means every line again.

        Raises:
            ValidationError: nothing to change, or a bad URL, event type, line or
                header name.
        """
        path = f"/v3/webhook-subscriptions/{check.path_id('subscription_id', subscription_id)}"
        if (
            target_url is None
            and events is None
            and is_active is None
            and phone_numbers is None
            and routing_key_header is None
            and routing_id_header is None
        ):
            raise ValidationError(
                "update_webhook_subscription", "give target_url, events or is_active"
            )
        if is_active is not None and not isinstance(is_active, bool):
            raise ValidationError("is_active", "must be True or False")
        body = UpdateWebhookSubscriptionBody(
            target_url=check.web_url("target_url", target_url) if target_url is not None else None,
            subscribed_events=check.event_names("events", events) if events is not None else None,
            is_active=is_active,
            phone_numbers=_lines("phone_numbers", phone_numbers),
            routing_key_header=_header_name("routing_key_header", routing_key_header),
            routing_id_header=_header_name("routing_id_header", routing_id_header),
        )
        return await self._fetch(
            WebhookSubscription, "update_webhook_subscription", "PUT", path, body=body
        )

    async def delete_webhook_subscription(self, subscription_id: str) -> None:
        """Delete a subscription (``DELETE /v3/webhook-subscriptions/{subscriptionId}``)."""
        path = f"/v3/webhook-subscriptions/{check.path_id('subscription_id', subscription_id)}"
        await self._reply("delete_webhook_subscription", "DELETE", path)

    async def check_imessage(
        self, address: Handle | str, *, from_: Handle | str | None = None
    ) -> HandleCheck:
        """Whether ``address`` (phone or email) has iMessage (``POST .../check_imessage``).

        A ``ProviderError`` whose ``code`` is in ``codes.UPSTREAM_UNAVAILABLE``
        means *unknown*, not unavailable.
        """
        return await self._check("check_imessage", check.handle("address", address), from_)

    async def check_rcs(
        self, address: Handle | str, *, from_: Handle | str | None = None
    ) -> HandleCheck:
        """Whether phone ``address`` has RCS (``POST /v3/capability/check_rcs``).

        A 503 (``codes.UPSTREAM_UNAVAILABLE``) means *unknown*, not unavailable.
        """
        return await self._check("check_rcs", check.phone("address", address), from_)

    async def _check(self, what: str, address: Handle, from_: Handle | str | None) -> HandleCheck:
        sender = check.optional_sender(from_, self._config.phone_number)
        body = HandleCheckBody(address=address.value, from_=sender)
        return await self._fetch(HandleCheck, what, "POST", f"/v3/capability/{what}", body=body)

    async def get_contact_cards(
        self, *, phone_number: Handle | str | None = None
    ) -> tuple[ContactCard, ...]:
        """Active contact cards, of one line or all (``GET /v3/contact_card``; newer)."""
        query = (
            (("phone_number", check.phone("phone_number", phone_number).value),)
            if phone_number is not None
            else ()
        )
        result = await self._fetch(
            ContactCardList, "get_contact_cards", "GET", "/v3/contact_card", query=query
        )
        return result.contact_cards

    async def create_contact_card(
        self,
        *,
        first_name: str,
        phone_number: Handle | str | None = None,
        last_name: str | None = None,
        image_url: str | None = None,
    ) -> ContactCard:
        """Set up a line's contact card once (``POST /v3/contact_card``; newer).

        An active card answers ``ConflictError`` (use :meth:`update_contact_card`).
        Linq allows 3 card writes per 10 minutes per line and each retry of its
        503 extends that, so this is never repeated after an unknown outcome.
        """
        body = self._card(phone_number, first_name, last_name, image_url)
        return await self._fetch(
            ContactCard,
            "create_contact_card",
            "POST",
            "/v3/contact_card",
            body=body,
            replay=Replay.IF_UNSENT,
        )

    async def update_contact_card(
        self,
        *,
        phone_number: Handle | str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        image_url: str | None = None,
    ) -> ContactCard:
        """Change fields of a line's active card (``PATCH /v3/contact_card?phone_number=``).

        Omitted fields keep their value. Never repeated after an unknown outcome.
        """
        line = check.sender(phone_number, self._config.phone_number, field="phone_number")
        if first_name is None and last_name is None and image_url is None:
            raise ValidationError("update_contact_card", "give first_name, last_name or image_url")
        body = CardUpdateBody(
            first_name=check.name("first_name", first_name),
            last_name=check.name("last_name", last_name),
            image_url=check.https_url("image_url", image_url) if image_url is not None else None,
        )
        return await self._fetch(
            ContactCard,
            "update_contact_card",
            "PATCH",
            "/v3/contact_card",
            query=(("phone_number", line),),
            body=body,
            replay=Replay.IF_UNSENT,
        )

    def _card(
        self,
        phone_number: Handle | str | None,
        first_name: str,
        last_name: str | None,
        image_url: str | None,
    ) -> CardBody:
        return CardBody(
            phone_number=check.sender(
                phone_number, self._config.phone_number, field="phone_number"
            ),
            first_name=check.name("first_name", first_name, required=True),
            last_name=check.name("last_name", last_name),
            image_url=check.https_url("image_url", image_url) if image_url is not None else None,
        )

    # -- the blocklist (newer than the YAML) --

    async def list_blocked_handles(self) -> tuple[BlockedHandle, ...]:
        """Your own blocklist, newest first (``GET /v3/blocked_handles``)."""
        result = await self._fetch(
            BlockedHandleList, "list_blocked_handles", "GET", "/v3/blocked_handles"
        )
        return result.blocked_handles

    async def block_handle(
        self, handle: Handle | str, *, reason: str | None = None
    ) -> BlockedHandle:
        """Block a handle (``POST /v3/blocked_handles``): Linq drops its inbound, refuses sends.

        Inbound from it is dropped before any webhook; direct sends to it are
        refused 403 / ``codes.HANDLE_ON_BLOCKLIST``; groups with an unblocked
        member still go through. Blocking again returns the existing entry, so
        the call is safe to repeat.

        Args:
            handle: an E.164 number or an email address.
            reason: why, free text (at most 500 characters).

        Returns:
            The entry, with the handle as Linq normalized it.
        """
        body = BlockHandleBody(
            handle=check.handle("handle", handle).value, reason=check_reason(reason)
        )
        result = await self._fetch(
            BlockedHandleResult, "block_handle", "POST", "/v3/blocked_handles", body=body
        )
        return result.blocked_handle

    async def unblock_handle(self, handle: Handle | str) -> None:
        """Unblock a handle (``DELETE /v3/blocked_handles`` with the JSON body ``{handle}``)."""
        body = UnblockHandleBody(handle=check.handle("handle", handle).value)
        await self._reply("unblock_handle", "DELETE", "/v3/blocked_handles", body=body)

    # -- calling, decoding and paging (what every operation shares) --

    async def _reply(
        self,
        what: str,
        method: str,
        path: str,
        *,
        query: Query = (),
        body: Any = None,
        headers: tuple[tuple[str, str], ...] = (),
        replay: Replay = Replay.SAFE,
    ) -> Reply:
        call = _call(what, method, path, query=query, body=body, headers=headers, replay=replay)
        return await self._requester.send(call)

    async def _fetch(
        self,
        kind: type[T],
        what: str,
        method: str,
        path: str,
        *,
        query: Query = (),
        body: Any = None,
        headers: tuple[tuple[str, str], ...] = (),
        replay: Replay = Replay.SAFE,
    ) -> T:
        call = _call(what, method, path, query=query, body=body, headers=headers, replay=replay)
        return await self._requester.send_and_read(
            call, lambda reply: _decode_done(reply, kind, what)
        )

    async def _send(self, kind: type[T], what: str, path: str, body: Any, key: str) -> T:
        """POST a send under ``key``, in the ``Idempotency-Key`` header on every attempt.

        The body carries the key too where Linq reads it there (message content).
        An answer that cannot be read is asked for again under the same key
        (see ``Requester.send_and_read``); any error raised carries the key.
        """
        with keyed_send(key):
            return await self._fetch(
                kind, what, "POST", path, body=body, headers=(("Idempotency-Key", key),)
            )

    async def _accept(
        self,
        what: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        replay: Replay = Replay.SAFE,
    ) -> Accepted:
        """Calls answered ``202`` with ``{status, message, trace_id}``, or ``204``."""
        reply = await self._reply(what, method, path, body=body, replay=replay)
        if reply.payload is None:
            return Accepted(trace_id=reply.trace_id)
        return _decode_done(reply, Accepted, what)

    async def _paginate(
        self,
        what: str,
        path: str,
        query: Query,
        *,
        page: type[P],
        items: Callable[[P], tuple[T, ...]],
        next_cursor: Callable[[P], str | None],
    ) -> AsyncIterator[T]:
        """Yield every item, one page in memory at a time, following ``next_cursor``.

        Raises:
            ProtocolError: a page names as next the cursor it was fetched with (it
                would loop forever).
        """
        cursor: str | None = None
        while True:
            page_query = query if cursor is None else (*query, ("cursor", cursor))
            current = await self._fetch(page, what, "GET", path, query=page_query)
            for item in items(current):
                yield item
            following = next_cursor(current)
            if not following:
                return
            if following == cursor:
                raise ProtocolError(f"{what}: next_cursor {following!r} did not advance")
            cursor = following


def _call(
    what: str,
    method: str,
    path: str,
    *,
    query: Query,
    body: Any,
    headers: tuple[tuple[str, str], ...],
    replay: Replay,
) -> Call:
    json = converter().unstructure(body) if body is not None else None
    return Call(what, method, path, query=query, json=json, headers=headers, replay=replay)


def _decode_done(reply: Reply, kind: type[T], what: str) -> T:
    """Decode a successful answer; one that cannot be read still means the call took effect."""
    try:
        return decode(reply.payload, kind, what=what, status=reply.status, trace_id=reply.trace_id)
    except ProtocolError as error:
        error.outcome_unknown = True
        raise


async def _read(path: Path) -> bytes:
    try:
        return await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise ValidationError("source", f"cannot read {path} ({exc.strerror})") from None


def _size_on_disk(path: Path) -> int:
    try:
        status = path.stat()
    except OSError as exc:
        raise ValidationError("source", f"cannot read {path} ({exc.strerror})") from None
    if not stat.S_ISREG(status.st_mode):
        raise ValidationError("source", f"{path} is not a regular file")
    return status.st_size


def _content_type(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("content_type", "must be a MIME type like 'image/png'")
    check_content_type("content_type", value)
    return value


def _size(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("size_bytes", "must be an integer")
    if value < 1:
        raise ValidationError("size_bytes", "the file is empty")
    if value > limits.MAX_UPLOAD_BYTES:
        raise ValidationError(
            "size_bytes",
            f"{value} bytes is over the {limits.MAX_UPLOAD_BYTES // limits.MB} MB upload limit",
        )
    return value


def _text(field: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must not be blank")
    if len(value) > limits.MAX_TEXT_CHARS:
        raise ValidationError(
            field, f"has {len(value)} characters; at most {limits.MAX_TEXT_CHARS}"
        )
    return value


def _line_path(phone: Handle | str) -> str:
    """A line in a URL path: E.164, its ``+`` encoded as ``%2B``."""
    return quote(check.phone("phone", phone).value, safe="")


def _card_app(app: Mapping[str, Any]) -> CardAppBody:
    if not isinstance(app, Mapping):
        raise ValidationError("app", "must be a mapping with bundle_id, name and team_id")
    fields = {}
    for key in ("bundle_id", "name", "team_id"):
        value = app.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(f"app.{key}", "is required and must not be blank")
        fields[key] = value
    store_id = app.get("app_store_id")
    if store_id is not None and (isinstance(store_id, bool) or not isinstance(store_id, int)):
        raise ValidationError("app.app_store_id", "must be an integer")
    unknown = set(app) - {"bundle_id", "name", "team_id", "app_store_id"}
    if unknown:
        raise ValidationError("app", f"unknown fields {sorted(unknown)}")
    return CardAppBody(app_store_id=store_id, **fields)


def _card_experience(experience: Mapping[str, Any]) -> CardExperienceBody:
    if not isinstance(experience, Mapping):
        raise ValidationError("experience", "must be a mapping with name, action and params")
    name, action = experience.get("name"), experience.get("action")
    for key, value in (("name", name), ("action", action)):
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(f"experience.{key}", "is required and must not be blank")
    params = experience.get("params")
    if params is not None and not isinstance(params, Mapping):
        raise ValidationError("experience.params", "must be a mapping")
    unknown = set(experience) - {"name", "action", "params"}
    if unknown:
        raise ValidationError("experience", f"unknown fields {sorted(unknown)}")
    assert isinstance(name, str)
    assert isinstance(action, str)
    return CardExperienceBody(name, action, dict(params) if params is not None else None)


_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")
_HTTP_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110's token
_HTTP_VALUE = re.compile(r"[\t\x20-\x7e]*")  # what httpx sends as text (ASCII)


def _header_name(field: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _HEADER_NAME.fullmatch(value):
        raise ValidationError(field, "must be an HTTP header name (letters, digits, '-')")
    return value


def _lines(field: str, values: Sequence[Handle | str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, str | Handle):
        raise ValidationError(field, "must be a list of lines, not a single value")
    return tuple(check.phone(f"{field}[{i}]", v).value for i, v in enumerate(values))
