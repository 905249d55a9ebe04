"""``POST /v3/chats/{chatId}/voicememo``: an iMessage voice memo bubble, by URL or upload."""

from __future__ import annotations

import mimetypes
import posixpath
from urllib.parse import urlsplit

from adapters.linq.loopback import is_https_or_loopback_http
from adapters.linq.simulator import _wire
from adapters.linq.simulator._errors import (
    UNPROCESSABLE,
    bad_request,
    not_found,
    payload_too_large,
)
from adapters.linq.simulator._http import Response
from adapters.linq.simulator._parse import MessageContent, parse_from, parse_override_optout
from adapters.linq.simulator._routing import Call
from adapters.linq.simulator._sending import send_content
from caresupport_transport import limits
from caresupport_transport.capabilities import Service, ServicePreference
from caresupport_transport.content import MediaPart, OutgoingMessage
from caresupport_transport.errors import ProviderError
from caresupport_transport.model import DeliveryStatus

__all__ = ["send_voice_memo"]


def _base_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def send_voice_memo(call: Call) -> Response:
    backend = call.backend
    line, world, conversation = backend.chat(call.params["chatId"], call.account)
    body = call.body()
    if body.get("from") is not None and parse_from(body["from"], call.account) != line:
        raise bad_request(f"from: this chat belongs to {line}")
    url, attachment_id = body.get("voice_memo_url"), body.get("attachment_id")
    if (url is None) == (attachment_id is None):
        raise bad_request("give exactly one of voice_memo_url and attachment_id")
    if url is not None:
        if not isinstance(url, str) or not is_https_or_loopback_http(url):
            raise bad_request("voice_memo_url must be an https:// URL (http:// only on loopback)")
        filename = posixpath.basename(urlsplit(url).path) or "voice-memo.m4a"
        content_type = mimetypes.guess_type(filename)[0]
        size = 0
        part = MediaPart(url=url)
    else:
        if not isinstance(attachment_id, str):
            raise bad_request("attachment_id must be a string")
        upload = backend.uploads.get(attachment_id)
        if upload is None:
            raise not_found("Attachment")
        if not upload.complete:
            raise bad_request("attachment_id: the file was never uploaded")
        filename, content_type, size = upload.filename, upload.content_type, upload.size_bytes
        if size > limits.MAX_VOICE_MEMO_BYTES:
            raise payload_too_large("Voice memo file too large - maximum size is 10MB")
        part = MediaPart(attachment_id=attachment_id)
    if content_type is not None and _base_type(content_type) not in limits.VOICE_MEMO_CONTENT_TYPES:
        raise ProviderError(
            f"{content_type} is not a voice memo format (MP3, M4A, AAC, CAF, WAV, AIFF, AMR)",
            status=422,
            code=UNPROCESSABLE,
        )
    if world.pick_service(conversation.participants, ServicePreference.AUTO) is not (
        Service.IMESSAGE
    ):
        raise ProviderError(
            "Voice memos are iMessage only; send the audio as a media part instead",
            status=422,
            code=UNPROCESSABLE,
        )
    content = MessageContent(OutgoingMessage((part,)), None, ServicePreference.AUTO, "")
    message, _ = send_content(
        backend,
        world,
        conversation,
        content,
        voice_memo=True,
        override_optout=parse_override_optout(body),
    )
    conversation = world.conversation(conversation.id)
    media = _wire.parts_json(backend, world, message, line, reactions=False)[0]
    return call.json(
        202,
        {
            "voice_memo": {
                "id": message.id,
                "from": line,
                "to": [h.value for h in conversation.participants],
                "status": _wire.status_label(DeliveryStatus.QUEUED),
                "service": _wire.service_label(message.service),
                "voice_memo": {
                    "id": media["id"],
                    "url": media["url"] or url or "",
                    "filename": filename,
                    "mime_type": content_type or media["mime_type"],
                    "size_bytes": size,
                    "duration_ms": None,
                },
                "created_at": _wire.iso(message.created_at),
                "chat": {
                    "id": conversation.id,
                    "handles": _wire.handles_json(backend, line, world, conversation),
                    "is_group": conversation.is_group,
                    "service": _wire.service_label(conversation.service or Service.IMESSAGE),
                    "is_active": not world.has_left(conversation.id),
                },
            }
        },
    )
