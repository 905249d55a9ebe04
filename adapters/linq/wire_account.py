"""What Linq answers about attachments, lines, webhooks, capabilities and contact cards.

Same rules as :mod:`adapters.linq.wire_chats`. Webhook event type names stay
strings: newer deployments add types faster than any enum could follow.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from adapters.linq.config import Secret
from adapters.linq.wire_lines import LineReputation

__all__ = [
    "Accepted",
    "AttachmentInfo",
    "AttachmentStatus",
    "ContactCard",
    "ContactCardList",
    "CreatedWebhookSubscription",
    "HandleCheck",
    "PhoneCapabilities",
    "PhoneNumber",
    "PhoneNumberList",
    "UploadTicket",
    "WebhookEventTypes",
    "WebhookSubscription",
    "WebhookSubscriptionList",
]


@attrs.frozen
class Accepted:
    """Linq took the request and will act on it (``202``); a ``204`` reads as all ``None``."""

    status: str | None = None
    message: str | None = None
    trace_id: str | None = None


@attrs.frozen
class UploadTicket:
    """Where and how to PUT a file's bytes (valid about 15 minutes).

    ``upload_url`` is a credential (anyone holding it may upload): it is kept out
    of ``repr`` and of the logs.
    """

    attachment_id: str
    upload_url: str = attrs.field(repr=False)
    download_url: str
    http_method: str
    expires_at: datetime
    required_headers: dict[str, str]


class AttachmentStatus(enum.Enum):
    PENDING = "pending"
    COMPLETE = "complete"
    FAILED = "failed"


@attrs.frozen
class AttachmentInfo:
    """An attachment's metadata (``status`` is deprecated by Linq, hence optional)."""

    id: str
    filename: str
    content_type: str
    size_bytes: int
    created_at: datetime | None = None
    status: AttachmentStatus | None = None
    download_url: str | None = None


@attrs.frozen
class PhoneCapabilities:
    sms: bool
    mms: bool
    voice: bool


@attrs.frozen
class PhoneNumber:
    """One of the partner's lines (the deprecated listing adds type, country and capabilities)."""

    id: str
    phone_number: str
    type: str | None = None
    country_code: str | None = None
    capabilities: PhoneCapabilities | None = None
    reputation: LineReputation | None = None
    """Newer: the line's standing (BETA)."""
    forwarding_number: str | None = None
    line_type: str | None = None
    """Newer: ``iMessage`` or ``RCS``."""


@attrs.frozen
class PhoneNumberList:
    phone_numbers: tuple[PhoneNumber, ...]


@attrs.frozen
class WebhookEventTypes:
    events: tuple[str, ...]
    doc_url: str | None = None


@attrs.frozen
class WebhookSubscription:
    id: str
    target_url: str
    subscribed_events: tuple[str, ...]
    is_active: bool
    created_at: datetime | None = None
    updated_at: datetime | None = None
    phone_numbers: tuple[str, ...] | None = None
    routing_key_header: str | None = None
    routing_id_header: str | None = None


@attrs.frozen
class CreatedWebhookSubscription:
    """A new subscription with its signing secret: store it now, Linq never shows it again."""

    id: str
    target_url: str
    signing_secret: Secret
    subscribed_events: tuple[str, ...]
    is_active: bool
    created_at: datetime | None = None
    updated_at: datetime | None = None
    phone_numbers: tuple[str, ...] | None = None
    routing_key_header: str | None = None
    routing_id_header: str | None = None


@attrs.frozen
class WebhookSubscriptionList:
    subscriptions: tuple[WebhookSubscription, ...]


@attrs.frozen
class HandleCheck:
    """Whether ``address`` is reachable on the service checked."""

    address: str
    available: bool


@attrs.frozen
class ContactCard:
    """A line's contact card (iMessage Name and Photo Sharing); ``is_active`` once applied."""

    phone_number: str
    first_name: str
    is_active: bool
    last_name: str | None = None
    image_url: str | None = None


@attrs.frozen
class ContactCardList:
    contact_cards: tuple[ContactCard, ...]
