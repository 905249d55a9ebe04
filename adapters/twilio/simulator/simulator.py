"""``TwilioSimulator``: Twilio's Messages resource over a ``World``, as an ASGI app.

It stands on the same ``World`` as the memory adapter and the Linq simulator:
a create is a World send pinned to SMS in the 1:1 conversation with ``To``;
the World's status changes become signed, form-encoded status callbacks to the
message's ``StatusCallback``; a message someone sends us becomes a signed
inbound-message webhook to ``sms_url``. What Twilio published and the adapter
relies on is modelled: ``/2010-04-01/Accounts/{AccountSid}/Messages.json``
(create, list with ``To`` / ``From`` / ``DateSent>`` and paging) and
``/Messages/{Sid}.json`` (fetch), HTTP basic auth (account SID + auth token or
an API key), Twilio's error body (``code``, ``message``, ``more_info``,
``status``) with 21211 (bad ``To``), 21602 (no body), 21610 (opted out), 21617
(body too long), 20003 (auth) and 20404 (not found).

There is no idempotency key, as at Twilio: the same create twice makes two
texts. ``rate_limit_next`` answers the next request 429 with ``Retry-After``;
``fail_next_create`` answers the next create 5xx *after* making the message;
``lose_next_answer`` (through :meth:`transport`) makes the next create take
effect and its answer never arrive (``httpx.ReadTimeout``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import attrs
import httpx

from adapters.memory.recipients import RecipientKind
from adapters.memory.world import World
from adapters.twilio.signature import SIGNATURE_HEADER, sign
from adapters.twilio.simulator.lossy import LossyTransport
from adapters.twilio.wire_message import format_date
from caresupport_transport.capabilities import Service, ServicePreference
from caresupport_transport.content import MediaPart, Part, TextPart
from caresupport_transport.errors import BlockedError, OptedOutError, TransportError
from caresupport_transport.events import MessageReceived, MessageStatusChanged
from caresupport_transport.handles import Handle
from caresupport_transport.model import DeliveryStatus, Direction, Message

__all__ = ["IN_PROCESS_BASE_URL", "TwilioSimulator"]

IN_PROCESS_BASE_URL = "http://twilio.simulator"
_API = "/2010-04-01/Accounts/"
_MAX_BODY = 1_600
_OUTBOUND_STATUS = {
    DeliveryStatus.PENDING: "queued",
    DeliveryStatus.QUEUED: "queued",
    DeliveryStatus.SENT: "sent",
    DeliveryStatus.DELIVERED: "delivered",
    DeliveryStatus.READ: "read",
    DeliveryStatus.FAILED: "undelivered",
}
_FAILED_CODE = 30003
"""Twilio's "Unreachable destination handset"."""

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class _Refusal(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@attrs.define
class TwilioSimulator:
    """One Twilio account with one number (the World's owner), in process.

    Attributes:
        world: the World it stands on.
        account_sid, auth_token: the account's credentials (tokens sign webhooks).
        sms_url: where inbound messages are posted (Twilio's number configuration).
        webhook_client: posts the webhooks (an ASGI transport into the receiver in tests).
        requests: API requests answered (webhooks not counted).
        creates: creates answered, including those whose answer was lost.
        callbacks: ``(url, form)`` of every webhook posted, in order.
    """

    world: World
    webhook_client: httpx.AsyncClient | None = None
    account_sid: str = "AC" + "0" * 31 + "1"
    auth_token: str = "simulated-auth-token"
    api_keys: dict[str, str] = attrs.Factory(dict)
    sms_url: str | None = None
    requests: int = 0
    creates: int = 0
    callbacks: list[tuple[str, list[tuple[str, str]]]] = attrs.Factory(list)
    sids: dict[str, str] = attrs.Factory(dict)
    """Message SID -> the World's message id."""
    status_callbacks: dict[str, str] = attrs.Factory(dict)
    """Message SID -> its ``StatusCallback`` URL."""
    _by_world_id: dict[str, str] = attrs.Factory(dict)
    _rate_limits: list[float] = attrs.Factory(list)
    _create_failures: list[int] = attrs.Factory(list)
    lossy: LossyTransport | None = None

    @property
    def phone(self) -> Handle:
        return self.world.owner

    def transport(self) -> LossyTransport:
        """An httpx transport into this app that can lose answers (``lose_next_answer``)."""
        if self.lossy is None:
            self.lossy = LossyTransport(httpx.ASGITransport(app=self))
        return self.lossy

    # -- control ------------------------------------------------------------------

    def add_recipient(self, handle: Handle, kind: RecipientKind) -> None:
        self.world.add_recipient(handle, kind)

    def rate_limit_next(self, retry_after: float) -> None:
        """The next API request is answered 429 / 20429 with ``Retry-After``."""
        self._rate_limits.append(retry_after)

    def fail_next_create(self, status: int = 500) -> None:
        """The next create makes its message, then answers ``status`` (an ambiguous 5xx)."""
        self._create_failures.append(status)

    def lose_next_answer(self) -> None:
        """The next create takes effect; its answer is lost (``httpx.ReadTimeout``)."""
        self.transport().lose_next_post()

    def sid_of(self, world_id: str) -> str:
        sid = self._by_world_id.get(world_id)
        if sid is None:
            sid = "SM" + hashlib.md5(f"{self.world.seed}:{world_id}".encode()).hexdigest()
            self._by_world_id[world_id] = sid
            self.sids[sid] = world_id
        return sid

    def texts_to(self, handle: Handle) -> list[Message]:
        """Every message the World sent to ``handle`` (what their phone shows)."""
        return [
            m
            for m in self.world.messages.values()
            if m.direction is Direction.OUTBOUND
            and self.world.conversations[m.conversation_id].participants == (handle,)
        ]

    def inject_inbound_text(self, sender: Handle, text: str) -> str:
        """``sender`` texts our number; returns the SID (post it with :meth:`deliver_webhooks`)."""
        return self.sid_of(self.world.receive_text(sender, text).id)

    async def advance(self, seconds: float) -> None:
        self.world.advance(seconds)
        await self.deliver_webhooks()

    async def deliver_webhooks(self) -> None:
        """Post every webhook the World's events call for, signed, in order."""
        for event in self.world.drain():
            if isinstance(event, MessageStatusChanged):
                await self._status_callback(event)
            elif isinstance(event, MessageReceived):
                await self._inbound(event.message)
            # Reactions, typing, polls and the rest have no SMS form: Twilio sends nothing.

    async def _status_callback(self, event: MessageStatusChanged) -> None:
        sid = self.sid_of(event.message_id)
        url = self.status_callbacks.get(sid)
        message = self.world.message(event.message_id)
        if url is None or message.direction is Direction.INBOUND:
            return
        status = _OUTBOUND_STATUS[event.status]
        form = [
            ("AccountSid", self.account_sid),
            ("ApiVersion", "2010-04-01"),
            ("From", self.phone.value),
            ("MessageSid", sid),
            ("MessageStatus", status),
            ("SmsSid", sid),
            ("SmsStatus", status),
            ("To", self._to(message).value),
        ]
        if event.status is DeliveryStatus.FAILED:
            form.append(("ErrorCode", str(_FAILED_CODE)))
        await self._post(url, form)

    async def _inbound(self, message: Message) -> None:
        if self.sms_url is None:
            return
        sid = self.sid_of(message.id)
        media = [p for p in message.parts if isinstance(p, MediaPart)]
        form = [
            ("AccountSid", self.account_sid),
            ("ApiVersion", "2010-04-01"),
            ("Body", _body(message.parts)),
            ("From", self._other(message).value),
            ("MessageSid", sid),
            ("NumMedia", str(len(media))),
            ("NumSegments", "1"),
            ("SmsMessageSid", sid),
            ("SmsSid", sid),
            ("SmsStatus", "received"),
            ("To", self.phone.value),
        ]
        for index, part in enumerate(media):
            form.append((f"MediaUrl{index}", part.url or ""))
            form.append((f"MediaContentType{index}", _content_type(part)))
        await self._post(self.sms_url, form)

    async def _post(self, url: str, form: list[tuple[str, str]]) -> None:
        self.callbacks.append((url, form))
        if self.webhook_client is None:
            return
        headers = {
            SIGNATURE_HEADER: sign(url, form, self.auth_token),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        await self.webhook_client.post(url, content=urlencode(form), headers=headers)

    def _to(self, message: Message) -> Handle:
        return self.world.conversations[message.conversation_id].participants[0]

    def _other(self, message: Message) -> Handle:
        """The number at the other end: the sender of an inbound message, else its recipient."""
        if message.direction is Direction.INBOUND and message.sender is not None:
            return message.sender
        return self._to(message)

    # -- the ASGI app -------------------------------------------------------------

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            chunk = await receive()
            body += chunk.get("body", b"")
            if not chunk.get("more_body"):
                break
        status, payload, headers = self._handle(scope, body)
        raw = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), *headers],
            }
        )
        await send({"type": "http.response.body", "body": raw})

    def _handle(
        self, scope: MutableMapping[str, Any], body: bytes
    ) -> tuple[int, dict[str, Any], list[tuple[bytes, bytes]]]:
        self.requests += 1
        path: str = scope["path"]
        method: str = scope["method"]
        prefix = f"{_API}{self.account_sid}/Messages"
        try:
            if not path.startswith(prefix):
                raise _Refusal(404, 20404, "The requested resource was not found")
            self._authenticate(scope)
            if self._rate_limits:
                wait = self._rate_limits.pop(0)
                return (
                    429,
                    _error_body(429, 20429, "Too Many Requests"),
                    [(b"retry-after", str(wait).encode())],
                )
            rest = path.removeprefix(prefix)
            query = parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True)
            if rest == ".json" and method == "POST":
                form = parse_qsl(body.decode(), keep_blank_values=True)
                made = self._create(form)
                if self._create_failures:
                    status = self._create_failures.pop(0)
                    return status, _error_body(status, 20500, "Internal Server Error"), []
                return 201, made, []
            if rest == ".json" and method == "GET":
                return 200, self._list(dict(query), prefix), []
            if rest.endswith("/Media.json") and method == "GET":
                return 200, self._media(rest[1 : -len("/Media.json")], prefix), []
            if rest.startswith("/") and rest.endswith(".json") and method == "GET":
                return 200, self._fetch(rest[1:-5]), []
            raise _Refusal(405, 20004, "Method not allowed")
        except _Refusal as refusal:
            return refusal.status, _error_body(refusal.status, refusal.code, refusal.message), []

    def _authenticate(self, scope: MutableMapping[str, Any]) -> None:
        header = next(
            (v.decode() for k, v in scope.get("headers", ()) if k.lower() == b"authorization"), ""
        )
        try:
            user, _, password = (
                base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
            )
        except ValueError:
            user, password = "", ""
        secret = self.auth_token if user == self.account_sid else self.api_keys.get(user)
        if secret is None or secret != password:
            raise _Refusal(401, 20003, "Authenticate")

    def _create(self, form: Sequence[tuple[str, str]]) -> dict[str, Any]:
        self.creates += 1
        fields = dict(form)
        try:
            to = Handle(fields.get("To", ""))
            if not to.is_phone:
                raise ValueError(to)
        except ValueError:
            raise _Refusal(400, 21211, "Invalid 'To' Phone Number") from None
        sender = fields.get("From")
        if fields.get("MessagingServiceSid") is None and sender != self.phone.value:
            raise _Refusal(
                400, 21606, "The 'From' phone number is not a valid number for this account"
            )
        text = fields.get("Body", "")
        media = [value for name, value in form if name == "MediaUrl"]
        if not text and not media:
            raise _Refusal(400, 21602, "Message body is required")
        if len(text) > _MAX_BODY:
            raise _Refusal(
                400, 21617, "The concatenated message body exceeds the 1600 character limit"
            )
        parts: list[Part] = [TextPart(text)] if text else []
        parts.extend(MediaPart(url=url) for url in media)
        conversation = self.world.create_conversation([to])
        try:
            made = self.world.send(
                conversation.id, parts, preference=ServicePreference.pin(Service.SMS)
            )
        except OptedOutError:
            raise _Refusal(400, 21610, "Attempt to send to unsubscribed recipient") from None
        except BlockedError:
            raise _Refusal(400, 21610, "Attempt to send to unsubscribed recipient") from None
        except TransportError as exc:
            raise _Refusal(400, 21612, str(exc)) from None
        sid = self.sid_of(made.id)
        callback = fields.get("StatusCallback")
        if callback:
            self.status_callbacks[sid] = callback
        return self._resource(sid)

    def _fetch(self, sid: str) -> dict[str, Any]:
        world_id = self.sids.get(sid)
        if world_id is None or self.world.is_deleted(world_id):
            raise _Refusal(404, 20404, f"The requested resource /Messages/{sid}.json was not found")
        return self._resource(sid)

    def _media(self, sid: str, prefix: str) -> dict[str, Any]:
        self._fetch(sid)  # 404 for an unknown or deleted message
        message = self.world.message(self.sids[sid])
        items = []
        for index, part in enumerate(p for p in message.parts if isinstance(p, MediaPart)):
            media_sid = "ME" + hashlib.md5(f"{sid}:{index}".encode()).hexdigest()
            items.append(
                {
                    "sid": media_sid,
                    "parent_sid": sid,
                    "content_type": _content_type(part),
                    "uri": f"{prefix}/{sid}/Media/{media_sid}.json",
                }
            )
        return {"media_list": items, "page": 0, "next_page_uri": None}

    def _list(self, query: dict[str, str], prefix: str) -> dict[str, Any]:
        try:
            size = max(1, min(1000, int(query.get("PageSize", "50"))))
            page = max(0, int(query.get("Page", "0")))
        except ValueError:
            raise _Refusal(400, 20001, "Invalid paging parameter") from None
        since = query.get("DateSent>")
        chosen = []
        # Newest first; messages made at one instant keep the order they were made in.
        for message in reversed(list(self.world.messages.values())):
            if message.id in self.world.polls or self.world.is_deleted(message.id):
                continue
            resource = self._resource(self.sid_of(message.id))
            if query.get("To") and resource["to"] != query["To"]:
                continue
            if query.get("From") and resource["from"] != query["From"]:
                continue
            # As at Twilio: the filter is on the date *sent*, which a queued text lacks.
            if since and (message.sent_at is None or message.sent_at.strftime("%Y-%m-%d") < since):
                continue
            chosen.append(resource)
        start = page * size
        items = chosen[start : start + size]
        following = None
        if start + size < len(chosen):
            following = f"{prefix}.json?" + urlencode({**query, "Page": str(page + 1)})
        return {"messages": items, "page": page, "page_size": size, "next_page_uri": following}

    def _resource(self, sid: str) -> dict[str, Any]:
        message = self.world.message(self.sids[sid])
        inbound = message.direction is Direction.INBOUND
        other = self._other(message)
        media = [p for p in message.parts if isinstance(p, MediaPart)]
        failed = message.status is DeliveryStatus.FAILED
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "to": self.phone.value if inbound else other.value,
            "from": other.value if inbound else self.phone.value,
            "body": _body(message.parts),
            "status": "received" if inbound else _OUTBOUND_STATUS[message.status],
            "direction": "inbound" if inbound else "outbound-api",
            "date_created": format_date(message.created_at),
            "date_sent": _date(message.sent_at),
            "date_updated": format_date(self.world.now),
            "error_code": _FAILED_CODE if failed else None,
            "error_message": None,
            "num_media": str(len(media)),
            "num_segments": "1",
            "messaging_service_sid": None,
            "uri": f"{_API}{self.account_sid}/Messages/{sid}.json",
        }


def _content_type(part: MediaPart) -> str:
    """What Twilio reports: the type it was given, else the one the URL's name says."""
    guessed = mimetypes.guess_type(part.filename or part.url or "")[0]
    return part.content_type or guessed or "application/octet-stream"


def _date(value: datetime | None) -> str | None:
    return format_date(value) if value is not None else None


def _body(parts: Sequence[Part]) -> str:
    return "\n\n".join(p.text for p in parts if isinstance(p, TextPart))


def _error_body(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
