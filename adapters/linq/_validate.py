"""Checks of client input that the domain types do not already make, before any request.

The domain's values validate themselves (``Handle``, ``OutgoingMessage``,
``Reaction``, ``VoiceMemo``, ``check_content_type``, ``limits``); these helpers
apply them to the client's arguments, rename the field in the error to the
argument's name (``to[2]``), and add the few rules that are Linq's own (media
by HTTPS only, the first message of a new chat, page sizes, path ids).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import quote, urlsplit

from adapters.linq._bodies import (
    EffectBody,
    MediaPartBody,
    MessageContentBody,
    PartBody,
    ReplyToBody,
)
from adapters.linq._text_marks import link_body, text_body
from adapters.linq.loopback import is_https_or_loopback_http
from caresupport_transport import checks, limits
from caresupport_transport.capabilities import Service
from caresupport_transport.content import LinkPart, MediaPart, OutgoingMessage, TextPart
from caresupport_transport.errors import InvalidHandleError, ValidationError
from caresupport_transport.handles import Handle
from caresupport_transport.sending import KeyFactory

MAX_PAGE_SIZE = 100
_MAX_FILENAME_CHARS = 255
_MAX_NAME_CHARS = 255
_EVENT_NAME = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def idempotency_key(value: str | None, new_key: KeyFactory) -> str:
    """The caller's key, checked by the shared rule, or a new one (made once per logical send)."""
    return checks.check_idempotency_key(value) or new_key()


def handle(field: str, value: Handle | str) -> Handle:
    """``value`` as a Handle, the error naming ``field``."""
    if isinstance(value, Handle):
        return value
    try:
        return Handle(value)
    except InvalidHandleError as exc:
        rule = exc.rule.removeprefix(f"{value!r} ")
        raise InvalidHandleError(value, rule, field=field) from None


def phone(field: str, value: Handle | str) -> Handle:
    """``value`` as an E.164 phone number (a sender line), the error naming ``field``."""
    checked = handle(field, value)
    if not checked.is_phone:
        raise InvalidHandleError(value, "is not an E.164 phone number (a sender line)", field=field)
    return checked


def sender(value: Handle | str | None, default: Handle | None, *, field: str = "from_") -> str:
    """A line of the partner: the caller's, else the configured one; one is required."""
    line = optional_sender(value, default, field=field)
    if line is None:
        raise ValidationError(
            field, f"no line given: pass {field} or configure phone_number (LINQ_PHONE_NUMBER)"
        )
    return line


def optional_sender(
    value: Handle | str | None, default: Handle | None, *, field: str = "from_"
) -> str | None:
    """A line of the partner: the caller's, else the configured one, else ``None``."""
    if value is not None:
        return phone(field, value).value
    return default.value if default is not None else None


def recipients(field: str, values: Sequence[Handle | str]) -> tuple[str, ...]:
    """1 to 31 handles, each an E.164 number or an email address."""
    if isinstance(values, str | Handle) or not isinstance(values, Iterable):
        raise ValidationError(field, "must be a list of handles, not a single value")
    items = tuple(values)
    if not 1 <= len(items) <= limits.MAX_RECIPIENTS:
        raise ValidationError(
            field, f"has {len(items)} handles; a chat has 1 to {limits.MAX_RECIPIENTS} others"
        )
    return tuple(handle(f"{field}[{index}]", item).value for index, item in enumerate(items))


def path_id(field: str, value: str) -> str:
    """An id to put in a URL path (the shared rule for ids), returned quoted."""
    return quote(checks.check_id(value, field), safe="")


def page_size(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE_SIZE:
        raise ValidationError(
            "limit", f"must be an integer from 1 to {MAX_PAGE_SIZE}, got {value!r}"
        )
    return value


def part_index(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError("part_index", f"must be an integer of at least 0, got {value!r}")
    return value


def https_url(field: str, value: str) -> str:
    """An absolute HTTPS URL (Linq fetches media and icons over HTTPS only)."""
    if (
        not isinstance(value, str)
        or urlsplit(value).scheme != "https"
        or not urlsplit(value).netloc
    ):
        raise ValidationError(field, "must be an https:// URL")
    return value


def media_url(field: str, value: str) -> str:
    """A URL Linq fetches media from: https, or plain http to loopback (the local simulator)."""
    if not isinstance(value, str) or not is_https_or_loopback_http(value):
        raise ValidationError(
            field, "must be an https:// URL (plain http:// only to this machine, for the simulator)"
        )
    return value


def web_url(field: str, value: str) -> str:
    """An absolute http(s) URL (webhook targets)."""
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValidationError(field, "must be an absolute http(s) URL")
    return value


def name(field: str, value: str | None, *, required: bool = False) -> str | None:
    """A display name or a card name: non-blank, at most 255 characters."""
    if value is None:
        if required:
            raise ValidationError(field, "is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must not be blank")
    if len(value) > _MAX_NAME_CHARS:
        raise ValidationError(field, f"has {len(value)} characters; at most {_MAX_NAME_CHARS}")
    return value


def filename(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("filename", "must not be blank")
    if len(value) > _MAX_FILENAME_CHARS:
        raise ValidationError(
            "filename", f"has {len(value)} characters; at most {_MAX_FILENAME_CHARS}"
        )
    if "/" in value or "\\" in value or _CONTROL.search(value):
        raise ValidationError(
            "filename", "must be a bare file name (no path, no control characters)"
        )
    return value


def event_names(field: str, values: Sequence[str]) -> tuple[str, ...]:
    """At least one webhook event type, each like ``message.received``."""
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValidationError(field, "must be a list of event types, not a single value")
    names = tuple(values)
    if not names:
        raise ValidationError(field, "must name at least one event type")
    for index, value in enumerate(names):
        if not isinstance(value, str) or not _EVENT_NAME.fullmatch(value):
            raise ValidationError(
                f"{field}[{index}]", f"{value!r} is not an event type like 'message.received'"
            )
    return names


def message_content(
    message: OutgoingMessage,
    *,
    idempotency_key: str | None,
    preferred_service: Service | None,
    starts_chat: bool,
) -> MessageContentBody:
    """The wire content of a validated message, with Linq's own rules on top.

    Args:
        message: the message; it validated itself (parts, effect, reply, limits).
        idempotency_key: the key to send in the content.
        preferred_service: ``None`` lets Linq fall back iMessage -> RCS -> SMS.
        starts_chat: the message opens a new chat: no URL, effect or reply allowed.
    """
    if not isinstance(message, OutgoingMessage):
        raise ValidationError("message", "must be an OutgoingMessage")
    if preferred_service is not None and not isinstance(preferred_service, Service):
        raise ValidationError("preferred_service", "must be a Service or None")
    if starts_chat:
        if message.has_url:
            raise ValidationError(
                "message", "the first message of a new chat may not contain a URL (Linq 1005)"
            )
        if message.effect is not None:
            raise ValidationError("message.effect", "the first message of a new chat has no effect")
        if message.reply_to is not None:
            raise ValidationError(
                "message.reply_to", "the first message of a new chat replies to nothing"
            )
    parts: list[PartBody] = []
    for index, part in enumerate(message.parts):
        if isinstance(part, TextPart):
            parts.append(text_body(part))
        elif isinstance(part, LinkPart):
            parts.append(link_body(part))
        else:
            parts.append(media_part(f"parts[{index}]", part))
    effect = message.effect
    reply = message.reply_to
    return MessageContentBody(
        parts=tuple(parts),
        effect=EffectBody(effect.kind, effect.name) if effect is not None else None,
        reply_to=ReplyToBody(reply.message_id, reply.part_index) if reply is not None else None,
        idempotency_key=idempotency_key,
        preferred_service=preferred_service,
    )


def media_part(field: str, part: MediaPart) -> MediaPartBody:
    if part.url is not None:
        return MediaPartBody(url=media_url(f"{field}.url", part.url))
    return MediaPartBody(attachment_id=part.attachment_id)


def poll_options(field: str, values: Sequence[str], *, minimum: int) -> tuple[str, ...]:
    """At least ``minimum`` poll option texts, each non-blank valid text of at most 10,000 chars."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ValidationError(field, "must be a sequence of option texts")
    if len(values) < minimum:
        raise ValidationError(field, f"has {len(values)}; give at least {minimum}")
    texts: list[str] = []
    for index, value in enumerate(values):
        try:
            texts.append(TextPart(value).text)
        except ValidationError as exc:
            raise ValidationError(f"{field}[{index}]", exc.rule) from None
    return tuple(texts)
