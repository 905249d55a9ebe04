"""Request bodies and query parameters, read and checked as Linq checks them.

Every refusal is a :class:`~caresupport_transport.errors.ProviderError` with
Linq's status and code: a bad handle is 400 / 1002, a link in the first
message of a new chat 400 / 1005, anything else malformed 400 / 1001. Content
rules are the domain's own (``OutgoingMessage`` and friends), so the simulator
refuses exactly what the library refuses before sending.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

import attrs

from adapters.linq._text_marks import range_from_wire
from adapters.linq._words import SERVICE_WORDS, service_from_word
from adapters.linq.loopback import is_https_or_loopback_http
from adapters.linq.simulator._errors import (
    INVALID_PHONE,
    URL_IN_FIRST_MESSAGE,
    bad_request,
    forbidden,
    not_found,
)
from adapters.linq.simulator.state import Account, Backend
from caresupport_transport import limits
from caresupport_transport.capabilities import ServicePreference
from caresupport_transport.content import (
    BUBBLE_EFFECTS,
    Effect,
    EffectKind,
    LinkPart,
    MediaPart,
    Mention,
    OutgoingMessage,
    Part,
    ReplyTo,
    TextAnimation,
    TextDecoration,
    TextPart,
    TextRange,
    TextStyle,
    utf16_length,
)
from caresupport_transport.errors import InvalidHandleError, ProviderError, ValidationError
from caresupport_transport.handles import E164_PATTERN, Handle

__all__ = [
    "MessageContent",
    "parse_content",
    "parse_from",
    "parse_handle",
    "parse_limit",
    "parse_offset_cursor",
    "require_str",
]

_LINK = re.compile(r"(?i)\b(?:https?://|www\.)\S")


def _preference(word: object) -> ServicePreference:
    """Linq's ``preferred_service``: a service's name (any case) or ``"auto"``."""
    if isinstance(word, str) and word.casefold() == "auto":
        return ServicePreference.AUTO
    service = service_from_word(word)
    if service is None:
        names = ", ".join(SERVICE_WORDS.values())
        raise bad_request(f"message.preferred_service must be one of {names}")
    return ServicePreference.pin(service)


def require_str(body: Mapping[str, Any], key: str, *, where: str = "") -> str:
    value = body.get(key)
    name = f"{where}.{key}" if where else key
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"{name} is required and must be a non-empty string")
    return value


def parse_handle(value: object, field: str) -> Handle:
    """A recipient handle: E.164 phone or email; 400 / 1002 otherwise."""
    if not isinstance(value, str):
        raise bad_request(f"{field} must be a string", INVALID_PHONE)
    try:
        return Handle(value)
    except InvalidHandleError:
        raise bad_request(
            f"{field}: Phone number must be in E.164 format (got {value!r})", INVALID_PHONE
        ) from None


def parse_from(value: object, account: Account, field: str = "from") -> str:
    """A sender number the account owns: 400 / 1002 if malformed, 403 / 2005 if not its own."""
    if not isinstance(value, str) or not E164_PATTERN.fullmatch(value):
        raise bad_request(f"{field}: Phone number must be in E.164 format", INVALID_PHONE)
    if not account.owns(value):
        raise forbidden(f"{field}: {value} is not a phone number this token may send from")
    return value


def parse_override_optout(body: Mapping[str, Any]) -> bool:
    """The top-level ``override_optout`` of a send (``false`` when absent); 400 if not a bool."""
    value = body.get("override_optout", False)
    if not isinstance(value, bool):
        raise bad_request("override_optout must be a boolean")
    return value


def parse_limit(raw: str | None, default: int) -> int:
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise bad_request(f"limit: {raw!r} is not an integer") from None
    if not 1 <= limit <= 100:
        raise bad_request(f"limit: {limit} is out of range; 1 to 100")
    return limit


def parse_offset_cursor(raw: str | None) -> int:
    if raw is None or raw == "":
        return 0
    if not raw.isdigit():
        raise bad_request(f"cursor: {raw!r} is not a cursor this API issued")
    return int(raw)


def keyset_cursor(message_id: str, timestamp: float) -> str:
    payload = json.dumps({"id": message_id, "ts": int(timestamp)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode()


def read_keyset_cursor(raw: str | None) -> str | None:
    """The message id a keyset cursor points after, or ``None`` for the first page."""
    if raw is None or raw == "":
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(raw.encode()))
        message_id = decoded["id"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise bad_request(f"cursor: {raw!r} is not a cursor this API issued") from None
    if not isinstance(message_id, str):
        raise bad_request(f"cursor: {raw!r} is not a cursor this API issued")
    return message_id


@attrs.frozen
class MessageContent:
    """A ``MessageContent`` body, read into domain values."""

    message: OutgoingMessage
    idempotency_key: str | None
    preference: ServicePreference
    fingerprint: str


def _part(raw: object, index: int, backend: Backend) -> Part:
    where = f"message.parts[{index}]"
    if not isinstance(raw, Mapping):
        raise bad_request(f"{where} must be an object")
    kind = raw.get("type")
    if kind == "text":
        value = raw.get("value")
        if not isinstance(value, str):
            raise bad_request(f"{where}.value is required and must be a string")
        return _text_part(raw, value, where)
    if kind == "link":
        url = raw.get("value")
        if not isinstance(url, str):
            raise bad_request(f"{where}.value is required and must be a URL")
        return LinkPart(url)
    if kind == "media":
        url, attachment_id = raw.get("url"), raw.get("attachment_id")
        if url is not None and (not isinstance(url, str) or not is_https_or_loopback_http(url)):
            raise bad_request(f"{where}.url must be an https:// URL (http:// only on loopback)")
        if attachment_id is not None:
            if not isinstance(attachment_id, str):
                raise bad_request(f"{where}.attachment_id must be a string")
            upload = backend.uploads.get(attachment_id)
            if upload is None and attachment_id not in backend.primary.attachments:
                raise not_found("Attachment")
            if upload is not None and not upload.complete:
                raise bad_request(f"{where}.attachment_id: the file was never uploaded")
        return MediaPart(url=url, attachment_id=attachment_id)
    raise bad_request(f"{where}.type must be 'text', 'media' or 'link', not {kind!r}")


def _range(raw: object, where: str) -> TextRange:
    found = range_from_wire(raw)
    if found is None:
        raise bad_request(f"{where} must be [start, end) in UTF-16 code units")
    return found


def _text_part(raw: Mapping[str, Any], value: str, where: str) -> TextPart:
    """``TextPartParam``: the text, its ``mention`` + ``mention_range`` and ``text_decorations``."""
    mentions: list[Mention] = []
    mention = raw.get("mention")
    if mention is not None:
        if not isinstance(mention, str):
            raise bad_request(f"{where}.mention must be a handle")
        handle = parse_handle(mention, f"{where}.mention")
        found = raw.get("mention_range")
        whole = TextRange(0, utf16_length(value)) if found is None else None
        mentions.append(Mention(handle, whole or _range(found, f"{where}.mention_range")))
    decorations: list[TextDecoration] = []
    raw_decorations = raw.get("text_decorations") or []
    if not isinstance(raw_decorations, list):
        raise bad_request(f"{where}.text_decorations must be an array")
    for index, item in enumerate(raw_decorations):
        at = f"{where}.text_decorations[{index}]"
        if not isinstance(item, Mapping):
            raise bad_request(f"{at} must be an object")
        try:
            style = TextStyle(item["style"]) if item.get("style") is not None else None
            animation = (
                TextAnimation(item["animation"]) if item.get("animation") is not None else None
            )
        except ValueError:
            raise bad_request(f"{at}: unknown style or animation") from None
        decorations.append(
            TextDecoration(_range(item.get("range"), f"{at}.range"), style, animation)
        )
    return TextPart(value, mentions=mentions, decorations=decorations)


def _effect(raw: object) -> Effect | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise bad_request("message.effect must be an object")
    # The published examples use {"screen_effect": ...}; the schema says {"type", "name"}.
    if "screen_effect" in raw or "bubble_effect" in raw:
        if "screen_effect" in raw and "bubble_effect" in raw:
            raise bad_request("message.effect: only one effect per message")
        name = raw.get("screen_effect", raw.get("bubble_effect"))
        kind = EffectKind.SCREEN if "screen_effect" in raw else EffectKind.BUBBLE
    else:
        name = raw.get("name")
        kind_text = raw.get("type")
        if kind_text is None and isinstance(name, str):
            kind_text = "bubble" if name in BUBBLE_EFFECTS else "screen"
        try:
            kind = EffectKind(kind_text)
        except ValueError:
            raise bad_request("message.effect.type must be 'screen' or 'bubble'") from None
    if not isinstance(name, str):
        raise bad_request("message.effect.name must be a string")
    return Effect(kind, name)


def _reply_to(raw: object) -> ReplyTo | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise bad_request("message.reply_to must be an object")
    message_id = raw.get("message_id")
    part_index = raw.get("part_index", 0)
    if not isinstance(message_id, str) or not message_id:
        raise bad_request("message.reply_to.message_id is required")
    if isinstance(part_index, bool) or not isinstance(part_index, int) or part_index < 0:
        raise bad_request("message.reply_to.part_index must be a non-negative integer")
    return ReplyTo(message_id, part_index)


def parse_content(
    raw: object, backend: Backend, *, first_message: bool, idempotency_key: str | None = None
) -> MessageContent:
    """Read a ``MessageContent``; ``first_message`` applies the rules of a new chat.

    Raises:
        ProviderError: 400 with Linq's code for anything Linq refuses.
    """
    if not isinstance(raw, Mapping):
        raise bad_request("message is required and must be an object")
    parts_raw = raw.get("parts")
    if not isinstance(parts_raw, list) or not parts_raw:
        raise bad_request("message.parts is required: 1 to 100 parts")
    key = raw.get("idempotency_key", idempotency_key)
    if key is not None and (
        not isinstance(key, str) or not key or len(key) > limits.MAX_IDEMPOTENCY_KEY_LENGTH
    ):
        raise bad_request(
            f"message.idempotency_key must be 1 to {limits.MAX_IDEMPOTENCY_KEY_LENGTH} characters"
        )
    preferred = raw.get("preferred_service")
    preference = ServicePreference.AUTO
    if preferred is not None:
        preference = _preference(preferred)
    try:
        parts = tuple(_part(p, i, backend) for i, p in enumerate(parts_raw))
        message = OutgoingMessage(
            parts, effect=_effect(raw.get("effect")), reply_to=_reply_to(raw.get("reply_to"))
        )
    except ProviderError:
        raise
    except ValidationError as exc:
        raise bad_request(f"message.{exc}") from None
    if first_message:
        if any(
            isinstance(p, LinkPart) or (isinstance(p, TextPart) and _LINK.search(p.text))
            for p in message.parts
        ):
            raise bad_request(
                "The first message of a new chat cannot contain a URL", URL_IN_FIRST_MESSAGE
            )
        if message.effect is not None or message.reply_to is not None:
            raise bad_request("The first message of a new chat cannot carry an effect or reply_to")
    content = {
        "parts": parts_raw,
        "effect": raw.get("effect"),
        "reply_to": raw.get("reply_to"),
        "preferred_service": preferred,
    }
    fingerprint = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return MessageContent(message, key, preference, fingerprint)
