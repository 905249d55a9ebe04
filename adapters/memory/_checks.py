"""Input checks of the in-memory adapter, run before any state changes (private).

Each raises :class:`ValidationError` naming the field and the rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from caresupport_transport import limits
from caresupport_transport.capabilities import ServicePreference
from caresupport_transport.content import (
    MediaPart,
    OutgoingMessage,
    Reaction,
    VoiceMemo,
    check_content_type,
)
from caresupport_transport.errors import InvalidHandleError, ValidationError
from caresupport_transport.handles import Handle

__all__ = [
    "MAX_PAGE_SIZE",
    "check_first_message",
    "check_handle",
    "check_idempotency_key",
    "check_message",
    "check_page_size",
    "check_part_index",
    "check_participants",
    "check_preference",
    "check_reaction",
    "check_upload",
    "check_voice_memo",
]

MAX_PAGE_SIZE = 100
"""The provider's largest page."""


def check_handle(value: object, field: str = "handle") -> Handle:
    """``value`` as a Handle; a string is read strictly (E.164 or email)."""
    if isinstance(value, Handle):
        return value
    if isinstance(value, str):
        try:
            return Handle(value)
        except InvalidHandleError as exc:
            raise InvalidHandleError(value, exc.rule.removeprefix(f"{value!r} "), field) from None
    raise InvalidHandleError(value, "is not a Handle", field)


def check_participants(participants: Sequence[Handle], owner: Handle) -> tuple[Handle, ...]:
    if isinstance(participants, str | bytes):
        raise ValidationError("participants", "must be a sequence of handles, not one string")
    handles = tuple(
        check_handle(value, f"participants[{index}]") for index, value in enumerate(participants)
    )
    if not 1 <= len(handles) <= limits.MAX_RECIPIENTS:
        raise ValidationError(
            "participants",
            f"has {len(handles)} handles; a conversation takes 1 to {limits.MAX_RECIPIENTS}",
        )
    if len(set(handles)) != len(handles):
        raise ValidationError("participants", "must not repeat a handle")
    if owner in handles:
        raise ValidationError("participants", f"must not include our own line {owner}")
    return handles


def check_message(message: object, field: str = "message") -> OutgoingMessage:
    if not isinstance(message, OutgoingMessage):
        raise ValidationError(field, "must be an OutgoingMessage")
    return message


def check_first_message(message: object) -> OutgoingMessage:
    """The first message of a new chat may carry no URL, effect or reply (provider rule)."""
    checked = check_message(message, "first_message")
    if checked.effect is not None:
        raise ValidationError(
            "first_message.effect", "the first message of a new chat may not carry an effect"
        )
    if checked.reply_to is not None:
        raise ValidationError(
            "first_message.reply_to", "the first message of a new chat may not be a reply"
        )
    if checked.has_url:
        raise ValidationError(
            "first_message.parts", "the first message of a new chat may not contain a URL"
        )
    return checked


def check_idempotency_key(key: object) -> str | None:
    if key is None:
        return None
    if not isinstance(key, str) or not key.strip():
        raise ValidationError("idempotency_key", "must be a non-empty string")
    if len(key) > limits.MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValidationError(
            "idempotency_key",
            f"has {len(key)} characters; at most {limits.MAX_IDEMPOTENCY_KEY_LENGTH}",
        )
    return key


def check_preference(preference: object) -> ServicePreference:
    if not isinstance(preference, ServicePreference):
        raise ValidationError("preference", "must be a ServicePreference")
    return preference


def check_page_size(page_size: object) -> int:
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise ValidationError("page_size", "must be an integer")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationError("page_size", f"{page_size} is not between 1 and {MAX_PAGE_SIZE}")
    return page_size


def check_part_index(part_index: object) -> int:
    if isinstance(part_index, bool) or not isinstance(part_index, int) or part_index < 0:
        raise ValidationError("part_index", "must be a non-negative integer")
    return part_index


def check_reaction(reaction: object) -> Reaction:
    if not isinstance(reaction, Reaction):
        raise ValidationError("reaction", "must be a Reaction")
    reaction.check_sendable()
    return reaction


def check_voice_memo(memo: object) -> VoiceMemo:
    if not isinstance(memo, VoiceMemo):
        raise ValidationError("memo", "must be a VoiceMemo")
    return memo


def check_upload(data: object, filename: object, content_type: object) -> bytes:
    """The bytes of a valid upload: named, of a carried type, 1 byte to 100 MB."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValidationError("data", "must be bytes")
    if not isinstance(filename, str) or not filename.strip():
        raise ValidationError("filename", "must be a non-empty name")
    if "/" in filename or "\\" in filename:
        raise ValidationError("filename", f"{filename!r} must be a bare name, not a path")
    if not isinstance(content_type, str):
        raise ValidationError("content_type", "must be a MIME type like 'image/png'")
    check_content_type("content_type", content_type)
    raw = bytes(data)
    if not raw:
        raise ValidationError("data", "must not be empty")
    if len(raw) > limits.MAX_UPLOAD_BYTES:
        raise ValidationError(
            "data",
            f"{len(raw)} bytes is over the {limits.MAX_UPLOAD_BYTES // limits.MB} MB upload limit",
        )
    return raw


def attachment_ids(message: OutgoingMessage) -> list[str]:
    return [
        p.attachment_id
        for p in message.parts
        if isinstance(p, MediaPart) and p.attachment_id is not None
    ]
