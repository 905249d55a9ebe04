"""Chat operations: create, list, get, update, participants, typing, read, share, leave."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import attrs

from adapters.linq import _validate as check
from adapters.linq._bodies import CreateChatBody, ParticipantBody, UpdateChatBody
from adapters.linq._ops import Operations, Query
from adapters.linq._retry import Replay
from adapters.linq.wire_account import Accepted
from adapters.linq.wire_chats import Chat, ChatsPage, CreateChatResult, CreatedChat
from caresupport_transport.capabilities import Service
from caresupport_transport.content import OutgoingMessage
from caresupport_transport.errors import ValidationError
from caresupport_transport.handles import Handle


class ChatOperations(Operations):
    async def create_chat(
        self,
        to: Sequence[Handle | str],
        message: OutgoingMessage,
        *,
        from_: Handle | str | None = None,
        preferred_service: Service | None = None,
        idempotency_key: str | None = None,
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

        Returns:
            The chat with its first message, and the key it was sent under.

        Raises:
            ValidationError: bad handles, no sender line, or a first message with
                a URL, an effect or a reply (before any request).
        """
        recipients = check.recipients("to", to)
        sender = check.sender(from_, self._config.phone_number)
        key = check.idempotency_key(idempotency_key, self._new_key)
        content = check.message_content(
            message, idempotency_key=key, preferred_service=preferred_service, starts_chat=True
        )
        body = CreateChatBody(from_=sender, to=recipients, message=content)
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

        Deprecated by Linq in favour of :meth:`share_my_card`. Not repeated after an
        unknown outcome (:attr:`Replay.IF_UNSENT`): a second share is visible.
        """
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/share_contact_card"
        await self._reply("share_contact_card", "POST", path, replay=Replay.IF_UNSENT)

    async def leave_chat(self, chat_id: str) -> Accepted:
        """Leave a group chat (``POST /v3/chats/{chatId}/leave``; newer than the YAML).

        Not repeated after an unknown outcome: a second leave would fail and hide
        that the first one worked.
        """
        path = f"/v3/chats/{check.path_id('chat_id', chat_id)}/leave"
        return await self._accept("leave_chat", "POST", path, replay=Replay.IF_UNSENT)
