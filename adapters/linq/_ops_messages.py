"""Message operations: send, history, threads, voice memos, get/edit/delete, reactions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Literal

import attrs

from adapters.linq import _validate as check
from adapters.linq._bodies import (
    DeleteMessageBody,
    EditMessageBody,
    ReactionBody,
    ReactionOperation,
    SendMessageBody,
    SendToHandlesBody,
    VoiceMemoBody,
)
from adapters.linq._ops import Operations
from adapters.linq._retry import Replay
from adapters.linq.wire_account import Accepted
from adapters.linq.wire_chats import (
    HandleMessageSent,
    Message,
    MessageSent,
    MessagesPage,
    VoiceMemoResult,
    VoiceMemoSent,
)
from caresupport_transport.capabilities import Service
from caresupport_transport.content import (
    OutgoingMessage,
    Reaction,
    ReactionKind,
    TextPart,
    VoiceMemo,
)
from caresupport_transport.errors import ValidationError
from caresupport_transport.handles import Handle

ThreadOrder = Literal["asc", "desc"]


class MessageOperations(Operations):
    async def send_message(
        self,
        chat_id: str,
        message: OutgoingMessage,
        *,
        preferred_service: Service | None = None,
        idempotency_key: str | None = None,
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

        Returns:
            The chat id, the message as sent, and the key it was sent under.
        """
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/messages"
        key = check.idempotency_key(idempotency_key, self._new_key)
        content = check.message_content(
            message, idempotency_key=key, preferred_service=preferred_service, starts_chat=False
        )
        sent = await self._send(MessageSent, "send_message", path, SendMessageBody(content), key)
        return attrs.evolve(sent, idempotency_key=key)

    async def send_to_handles(
        self,
        to: Sequence[Handle | str],
        message: OutgoingMessage,
        *,
        from_: Handle | str | None = None,
        preferred_service: Service | None = None,
        idempotency_key: str | None = None,
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
        """
        recipients = check.recipients("to", to)
        sender = check.phone("from_", from_).value if from_ is not None else None
        key = check.idempotency_key(idempotency_key, self._new_key)
        content = check.message_content(
            message, idempotency_key=key, preferred_service=preferred_service, starts_chat=False
        )
        body = SendToHandlesBody(to=recipients, message=content, from_=sender)
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
                check.https_url("memo.audio.url", audio.url) if audio.url is not None else None
            ),
            attachment_id=audio.attachment_id,
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

    async def delete_message(self, message_id: str, *, chat_id: str) -> None:
        """Delete a message from Linq's records (``DELETE /v3/messages/{messageId}``).

        It does not unsend: recipients keep it. Repeating a delete after an unknown
        outcome may answer ``NotFoundError`` although the first one worked.
        """
        path = f"/v3/messages/{check.path_id('message_id', message_id)}"
        check.path_id("chat_id", chat_id)
        await self._reply("delete_message", "DELETE", path, body=DeleteMessageBody(chat_id))

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
