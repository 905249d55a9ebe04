"""Input checks every adapter runs on the port's arguments, before any I/O.

Each raises :class:`~caresupport_transport.errors.ValidationError` naming the
field and the rule, so every adapter refuses the same input with the same error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from caresupport_transport import limits
from caresupport_transport.capabilities import ServicePreference
from caresupport_transport.content import (
    MediaPart,
    OutgoingMessage,
    Reaction,
    ReplyTo,
    TextPart,
    VoiceMemo,
    check_content_type,
    check_unicode,
    is_valid_unicode,
)
from caresupport_transport.corrections import CORRECTION_PREFIX
from caresupport_transport.errors import InvalidHandleError, ValidationError
from caresupport_transport.handles import Handle
from caresupport_transport.model import Conversation, Direction, Message
from caresupport_transport.numbered import MAX_OPTION_CHARS, MAX_OPTIONS, MAX_QUESTION_CHARS

__all__ = [
    "MAX_PAGE_SIZE",
    "MIN_GROUP_SIZE",
    "attachment_ids",
    "check_can_add",
    "check_can_remove",
    "check_correction",
    "check_correction_target",
    "check_first_message",
    "check_flag",
    "check_handle",
    "check_id",
    "check_idempotency_key",
    "check_mentions",
    "check_message",
    "check_page_size",
    "check_part_index",
    "check_participants",
    "check_poll",
    "check_preference",
    "check_reaction",
    "check_reason",
    "check_references",
    "check_reply_target",
    "check_upload",
    "check_voice_memo",
]

MAX_PAGE_SIZE = 100
"""The provider's largest page."""
MIN_GROUP_SIZE = 3
"""Adding needs this many participants already; removing must leave this many."""
MAX_ID_CHARS = 200
"""The longest id a provider hands out (Linq's are UUIDs; memory's are short)."""
MAX_REASON_CHARS = 500
"""The longest blocklist reason taken (free text, kept short)."""

_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")
_UNSAFE_IN_ID = re.compile(r"[\s/?#%\\]|[\x00-\x1f\x7f]")


def check_id(value: object, field: str) -> str:
    """An id a provider handed out: a non-empty string that can stand in a URL path.

    The strictest rule any provider needs (Linq puts ids in paths): no spaces,
    ``/``, ``?``, ``#``, ``%``, backslashes or control characters, at most
    :data:`MAX_ID_CHARS` characters, valid Unicode.
    """
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a non-empty string, not {type(value).__name__}")
    if not value:
        raise ValidationError(field, "must be a non-empty string")
    if len(value) > MAX_ID_CHARS:
        raise ValidationError(
            field, f"has {len(value)} characters; an id has at most {MAX_ID_CHARS}"
        )
    if _UNSAFE_IN_ID.search(value) or not is_valid_unicode(value):
        raise ValidationError(
            field, "is not an id (no spaces, '/', '?', '#', '%', '\\' or control characters)"
        )
    return value


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


def check_participants(participants: Sequence[Handle], owner: Handle | None) -> tuple[Handle, ...]:
    """1 to 31 distinct handles, not including our own line (``owner``, when known)."""
    if isinstance(participants, str | bytes) or not isinstance(participants, Sequence):
        raise ValidationError("participants", "must be a sequence of handles")
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
    if owner is not None and owner in handles:
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


def check_references(message: OutgoingMessage) -> None:
    """The ids a message names (reply target, attachments) are ids, before any I/O."""
    if message.reply_to is not None:
        check_id(message.reply_to.message_id, "reply_to.message_id")
    for index, part in enumerate(message.parts):
        attachment_id = getattr(part, "attachment_id", None)
        if attachment_id is not None:
            check_id(attachment_id, f"parts[{index}].attachment_id")


def check_idempotency_key(key: object) -> str | None:
    """The caller's key (``None``: the transport makes one), safe in an HTTP header.

    Rules: 1 to 255 printable ASCII characters, no space or control character
    (providers send it as an ``Idempotency-Key`` header).
    """
    if key is None:
        return None
    if not isinstance(key, str) or not key.strip():
        raise ValidationError("idempotency_key", "must be a non-empty string")
    if len(key) > limits.MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValidationError(
            "idempotency_key",
            f"has {len(key)} characters; at most {limits.MAX_IDEMPOTENCY_KEY_LENGTH}",
        )
    if not _HEADER_SAFE.fullmatch(key):
        raise ValidationError(
            "idempotency_key",
            "must be printable ASCII without spaces or control characters "
            "(providers send it as an HTTP header)",
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


def check_flag(value: object, field: str) -> bool:
    """A keyword that must be ``True`` or ``False`` (``override_optout``), never a truthy value."""
    if not isinstance(value, bool):
        raise ValidationError(field, "must be True or False")
    return value


def check_reason(reason: object) -> str | None:
    """A blocklist reason: ``None``, or non-blank text of at most 500 characters."""
    if reason is None:
        return None
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("reason", "must be non-blank text, or None")
    if len(reason) > MAX_REASON_CHARS or not is_valid_unicode(reason):
        raise ValidationError(
            "reason", f"must be valid text of at most {MAX_REASON_CHARS} characters"
        )
    return reason


def check_part_index(part_index: object) -> int:
    if isinstance(part_index, bool) or not isinstance(part_index, int) or part_index < 0:
        raise ValidationError("part_index", "must be a non-negative integer")
    return part_index


def check_reaction(reaction: object) -> Reaction:
    if not isinstance(reaction, Reaction):
        raise ValidationError("reaction", "must be a Reaction")
    reaction.check_sendable()
    return reaction


def check_reply_target(reply_to: ReplyTo, target: Message, conversation_id: str) -> None:
    """A reply names a message of the same conversation, and one of its parts."""
    if target.conversation_id != conversation_id:
        raise ValidationError("reply_to.message_id", "must name a message of the same conversation")
    if reply_to.part_index >= len(target.parts):
        raise ValidationError(
            "reply_to.part_index",
            f"{reply_to.part_index} is not a part of the replied-to message",
        )


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
    """The ids of the pre-uploaded attachments ``message`` sends."""
    return [
        p.attachment_id
        for p in message.parts
        if isinstance(p, MediaPart) and p.attachment_id is not None
    ]


def check_can_add(conversation: Conversation, handle: Handle, owner: Handle | None) -> None:
    """Adding ``handle`` needs a group with 3+ participants that does not have them yet."""
    if not conversation.is_group or len(conversation.participants) < MIN_GROUP_SIZE:
        raise ValidationError(
            "conversation_id",
            f"adding needs a group with {MIN_GROUP_SIZE}+ participants; "
            f"this one has {len(conversation.participants)}",
        )
    if handle in conversation.participants or handle == owner:
        raise ValidationError("handle", f"{handle} is already in the conversation")


def check_can_remove(conversation: Conversation, handle: Handle) -> None:
    """Removing ``handle`` must leave a group of 3+ participants."""
    if handle not in conversation.participants:
        raise ValidationError("handle", f"{handle} is not in the conversation")
    left = len(conversation.participants) - 1
    if not conversation.is_group or left < MIN_GROUP_SIZE:
        raise ValidationError(
            "conversation_id",
            f"removing must leave {MIN_GROUP_SIZE}+ participants in a group; it would leave {left}",
        )


def check_poll(question: object, options: object) -> tuple[str, tuple[str, ...]]:
    """A poll's question and options, as every adapter takes them.

    Rules: the question is non-blank text of at most
    :data:`~caresupport_transport.numbered.MAX_QUESTION_CHARS` characters; the
    options are a sequence of 2 to :data:`~caresupport_transport.numbered.MAX_OPTIONS`
    distinct non-blank one-line texts of at most
    :data:`~caresupport_transport.numbered.MAX_OPTION_CHARS` characters each (so
    the numbered text form fits one SMS and reads back unambiguously).
    """
    if not isinstance(question, str) or not question.strip():
        raise ValidationError("question", "must be non-blank text")
    if len(question) > MAX_QUESTION_CHARS or not is_valid_unicode(question):
        raise ValidationError(
            "question", f"must be valid text of at most {MAX_QUESTION_CHARS} characters"
        )
    if isinstance(options, str | bytes) or not isinstance(options, Sequence):
        raise ValidationError("options", "must be a sequence of option texts")
    if not 2 <= len(options) <= MAX_OPTIONS:
        raise ValidationError(
            "options", f"has {len(options)}; a poll takes 2 to {MAX_OPTIONS} options"
        )
    texts = tuple(_poll_option(text, f"options[{index}]") for index, text in enumerate(options))
    if len(set(texts)) != len(texts):
        raise ValidationError("options", "must not repeat an option")
    return question, texts


def _poll_option(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must be non-blank text")
    if len(value) > MAX_OPTION_CHARS or not is_valid_unicode(value):
        raise ValidationError(field, f"must be valid text of at most {MAX_OPTION_CHARS} characters")
    if value.splitlines() != [value]:
        raise ValidationError(field, "must be one line")
    return value


def check_correction(text: object, field: str = "text") -> TextPart:
    """The corrected text of ``Transport.correct_message``, as a text part.

    It must also fit, after ``Correction: ``, into one text part: where the
    message cannot be edited it is sent as a correction text.
    """
    if not isinstance(text, str):
        raise ValidationError(field, f"must be a string, not {type(text).__name__}")
    if not text.strip():
        raise ValidationError(field, "must not be empty")
    check_unicode(field, text)
    room = limits.MAX_TEXT_CHARS - len(CORRECTION_PREFIX)
    if len(text) > room:
        raise ValidationError(
            field,
            f"has {len(text)} characters; a correction has at most {room} "
            f"(it may go out as {CORRECTION_PREFIX.strip()!r} and the text)",
        )
    return TextPart(text)


def check_correction_target(target: Message, part_index: int) -> None:
    """Raise ValidationError unless part ``part_index`` of ``target`` is our own text."""
    if target.direction is not Direction.OUTBOUND:
        raise ValidationError(
            "message_id",
            f"{target.id} was not sent by us; only our own messages can be corrected",
        )
    if part_index >= len(target.parts):
        raise ValidationError(
            "part_index", f"{part_index} is not a part of a {len(target.parts)}-part message"
        )
    if not isinstance(target.parts[part_index], TextPart):
        raise ValidationError(
            "part_index", f"part {part_index} is media; only a text part can be corrected"
        )


def check_mentions(
    message: OutgoingMessage, participants: Sequence[Handle], *, is_group: bool
) -> None:
    """Mentions go only to a group's participants, one per text part (Linq's send takes one).

    Ranges in bounds and animations apart are the parts' own rules
    (``TextPart`` refuses them when made); these need the conversation.
    """
    for index, part in enumerate(message.parts):
        if not isinstance(part, TextPart) or not part.mentions:
            continue
        field = f"parts[{index}].mentions"
        if not is_group:
            raise ValidationError(
                field, "a mention needs a group chat (a direct chat refuses it: Linq 409/2023)"
            )
        if len(part.mentions) > 1:
            raise ValidationError(
                field, f"has {len(part.mentions)} mentions; a text part can carry one when sent"
            )
        for mention in part.mentions:
            if mention.handle not in participants:
                raise ValidationError(
                    field, f"{mention.handle} is not a participant of the conversation"
                )
