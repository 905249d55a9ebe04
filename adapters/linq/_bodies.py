"""Request bodies of the Linq Partner API, as attrs values (written by ``make_converter``).

These are plain records: the client builds them only from validated input (the
domain's self-validating values and the checks in ``_validate``), so they hold
no rules of their own. ``None`` fields are left out of the JSON.
"""

from __future__ import annotations

import enum
from typing import ClassVar

import attrs

from caresupport_transport.capabilities import Service
from caresupport_transport.content import EffectKind, ReactionKind, TextAnimation, TextStyle


class ReactionOperation(enum.Enum):
    ADD = "add"
    REMOVE = "remove"


@attrs.frozen
class DecorationBody:
    range: tuple[int, ...]
    """``[start, end]`` in UTF-16 code units."""
    style: TextStyle | None = None
    animation: TextAnimation | None = None


@attrs.frozen
class TextPartBody:
    TAG: ClassVar[str] = "text"

    value: str
    mention: str | None = attrs.field(default=None, kw_only=True)
    mention_range: tuple[int, ...] | None = attrs.field(default=None, kw_only=True)
    text_decorations: tuple[DecorationBody, ...] | None = attrs.field(default=None, kw_only=True)


@attrs.frozen
class MediaPartBody:
    TAG: ClassVar[str] = "media"

    url: str | None = None
    attachment_id: str | None = None


@attrs.frozen
class LinkPartBody:
    TAG: ClassVar[str] = "link"

    value: str


PartBody = TextPartBody | MediaPartBody | LinkPartBody


@attrs.frozen
class EffectBody:
    type: EffectKind
    name: str


@attrs.frozen
class ReplyToBody:
    message_id: str
    part_index: int | None = None


@attrs.frozen
class MessageContentBody:
    parts: tuple[PartBody, ...]
    effect: EffectBody | None = None
    reply_to: ReplyToBody | None = None
    idempotency_key: str | None = None
    preferred_service: Service | None = None


@attrs.frozen
class CreateChatBody:
    from_: str
    to: tuple[str, ...]
    message: MessageContentBody
    override_optout: bool = False


@attrs.frozen
class SendMessageBody:
    message: MessageContentBody
    override_optout: bool = False


@attrs.frozen
class SendToHandlesBody:
    to: tuple[str, ...]
    message: MessageContentBody
    from_: str | None = None
    override_optout: bool = False
    exclude_from: tuple[str, ...] | None = None
    continuation_message: ContinuationBody | None = None


@attrs.frozen
class VoiceMemoBody:
    from_: str | None = None
    voice_memo_url: str | None = None
    attachment_id: str | None = None
    override_optout: bool = False


@attrs.frozen
class UpdateChatBody:
    display_name: str | None = None
    group_chat_icon: str | None = None


@attrs.frozen
class ParticipantBody:
    handle: str


@attrs.frozen
class BlockHandleBody:
    handle: str
    reason: str | None = None


@attrs.frozen
class UnblockHandleBody:
    handle: str


@attrs.frozen
class EditMessageBody:
    text: str
    part_index: int | None = None


@attrs.frozen
class ReactionBody:
    operation: ReactionOperation
    type: ReactionKind
    custom_emoji: str | None = None
    part_index: int | None = None


@attrs.frozen
class RequestUploadBody:
    filename: str
    content_type: str
    size_bytes: int


@attrs.frozen
class CreateWebhookSubscriptionBody:
    target_url: str
    subscribed_events: tuple[str, ...]
    phone_numbers: tuple[str, ...] | None = None
    routing_key_header: str | None = None
    routing_id_header: str | None = None


@attrs.frozen
class UpdateWebhookSubscriptionBody:
    target_url: str | None = None
    subscribed_events: tuple[str, ...] | None = None
    is_active: bool | None = None
    phone_numbers: tuple[str, ...] | None = None
    routing_key_header: str | None = None
    routing_id_header: str | None = None


@attrs.frozen
class HandleCheckBody:
    address: str
    from_: str | None = None


@attrs.frozen
class CardBody:
    """A contact card to set up (``my_cards`` and ``contact_card``)."""

    phone_number: str
    first_name: str | None = None
    last_name: str | None = None
    image_url: str | None = None


@attrs.frozen
class CardUpdateBody:
    """The fields of a contact card to change (the phone number goes in the query)."""

    first_name: str | None = None
    last_name: str | None = None
    image_url: str | None = None


class PollVoteOperation(enum.Enum):
    ADD = "add"
    REMOVE = "remove"


@attrs.frozen
class PollOptionBody:
    text: str


@attrs.frozen
class PollContentBody:
    options: tuple[PollOptionBody, ...]
    idempotency_key: str | None = None


@attrs.frozen
class CreatePollBody:
    poll: PollContentBody


@attrs.frozen
class PollOptionsBody:
    options: tuple[PollOptionBody, ...]


@attrs.frozen
class PollVoteBody:
    operation: PollVoteOperation
    option_id: str


@attrs.frozen
class ContinuationBody:
    """What send-by-handle sends instead when it fails over from a flagged line."""

    text: str


@attrs.frozen
class LocationStopBody:
    handle: str


@attrs.frozen
class BackgroundBody:
    """A chat background: ``color`` (variant, shades), ``dynamic`` (style, variant) or ``photo``."""

    type: str
    variant: str | None = None
    shades: tuple[str, ...] | None = None
    style: str | None = None
    image_url: str | None = None


@attrs.frozen
class ForwardingBody:
    """Written even when ``None``: ``null`` clears the forwarding."""

    forwarding_number: str | None


@attrs.frozen
class CardAppBody:
    bundle_id: str
    name: str
    team_id: str
    app_store_id: int | None = None


@attrs.frozen
class CardExperienceBody:
    name: str
    action: str
    params: dict[str, object] | None = None


@attrs.frozen
class UpdateCardBody:
    """A redrawn ``imessage_app`` card; ``layout`` is already checked."""

    layout: dict[str, str]
    app: CardAppBody | None = None
    experience: CardExperienceBody | None = None
    fallback_text: str | None = None
    interactive: bool | None = None
    url: str | None = None


@attrs.frozen
class PlacementBody:
    x: float | None = None
    y: float | None = None
    scale: float | None = None
    rotation: float | None = None


@attrs.frozen
class StickerPlacementBody:
    placement: PlacementBody
