"""What each service can carry: one table, one place."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from caresupport_transport import limits
from caresupport_transport.handles import Handle

__all__ = [
    "SERVICE_CAPABILITIES",
    "Availability",
    "Capabilities",
    "Feature",
    "HandleCapabilities",
    "Service",
    "ServicePreference",
    "capabilities_of",
]


class Service(enum.Enum):
    """A messaging service, in fallback order."""

    IMESSAGE = "imessage"
    RCS = "rcs"
    SMS = "sms"

    @property
    def label(self) -> str:
        return {"imessage": "iMessage", "rcs": "RCS", "sms": "SMS"}[self.value]


FALLBACK_ORDER: tuple[Service, ...] = (Service.IMESSAGE, Service.RCS, Service.SMS)


class ServicePreference(enum.Enum):
    """``AUTO`` falls back iMessage -> RCS -> SMS; any other value pins one service."""

    AUTO = "auto"
    IMESSAGE = "imessage"
    RCS = "rcs"
    SMS = "sms"

    @property
    def service(self) -> Service | None:
        return None if self is ServicePreference.AUTO else Service(self.value)

    @classmethod
    def pin(cls, service: Service) -> ServicePreference:
        return cls(service.value)


class Feature(enum.Enum):
    """Something a message or an action may need from a service."""

    EFFECT = "effect"
    TAPBACK = "tapback"
    TYPING = "typing indicator"
    READ_RECEIPT = "read receipt"
    REPLY_THREAD = "reply thread"
    VOICE_MEMO = "voice memo"
    CONTACT_CARD = "contact card"
    MEDIA = "media"
    EDIT = "edit"
    GROUP = "group chat"
    LONG_TEXT = "long text"
    SERVICE = "service"
    POLL = "poll"
    MENTION = "mention"
    TEXT_DECORATION = "text decoration"
    LINK_PREVIEW = "link preview"


@attrs.frozen
class Capabilities:
    """What one service can do."""

    effects: bool
    tapbacks: bool
    typing_indicators: bool
    read_receipts: bool
    reply_threads: bool
    voice_memos: bool
    contact_card: bool
    media: bool
    max_media_url_bytes: int
    max_media_upload_bytes: int
    edits: bool
    groups: bool
    group_typing_indicators: bool
    max_text_chars: int
    """The longest text one bubble carries; longer text is split."""
    polls: bool = False
    """Native polls (iMessage only); elsewhere a poll is asked as numbered text."""
    mentions: bool = False
    """Mentions in a text part (groups only)."""
    text_decorations: bool = False
    """Styles and animations over ranges of a text part."""
    link_previews: bool = False
    """A link part shown as a rich preview."""

    def supports(self, feature: Feature, *, is_group: bool = False) -> bool:
        if feature is Feature.TYPING:
            return self.typing_indicators and (not is_group or self.group_typing_indicators)
        flag = {
            Feature.EFFECT: self.effects,
            Feature.TAPBACK: self.tapbacks,
            Feature.READ_RECEIPT: self.read_receipts,
            Feature.REPLY_THREAD: self.reply_threads,
            Feature.VOICE_MEMO: self.voice_memos,
            Feature.CONTACT_CARD: self.contact_card,
            Feature.MEDIA: self.media,
            Feature.EDIT: self.edits,
            Feature.GROUP: self.groups,
            Feature.POLL: self.polls,
            Feature.MENTION: self.mentions,
            Feature.TEXT_DECORATION: self.text_decorations,
            Feature.LINK_PREVIEW: self.link_previews,
        }.get(feature, True)
        return flag


# Typing indicators in groups are inconsistent across Linq's docs: treated as 1:1 only.
# SMS/RCS text limits are conservative per-bubble sizes (concatenated SMS is
# commonly capped at 1,600 characters; RCS text messages at 3,072).
SERVICE_CAPABILITIES: Mapping[Service, Capabilities] = MappingProxyType(
    {
        Service.IMESSAGE: Capabilities(
            effects=True,
            tapbacks=True,
            typing_indicators=True,
            read_receipts=True,
            reply_threads=True,
            voice_memos=True,
            contact_card=True,
            media=True,
            max_media_url_bytes=limits.MAX_MEDIA_URL_BYTES,
            max_media_upload_bytes=limits.MAX_UPLOAD_BYTES,
            edits=True,
            groups=True,
            group_typing_indicators=False,
            max_text_chars=limits.MAX_TEXT_CHARS,
            polls=True,
            mentions=True,
            text_decorations=True,
            link_previews=True,
        ),
        Service.RCS: Capabilities(
            effects=False,
            tapbacks=True,
            typing_indicators=False,
            read_receipts=True,
            reply_threads=False,
            voice_memos=False,
            contact_card=False,
            media=True,
            max_media_url_bytes=limits.MAX_MEDIA_URL_BYTES,
            max_media_upload_bytes=limits.MAX_UPLOAD_BYTES,
            edits=False,
            groups=True,
            group_typing_indicators=False,
            max_text_chars=3_072,
        ),
        Service.SMS: Capabilities(
            effects=False,
            tapbacks=False,
            typing_indicators=False,
            read_receipts=False,
            reply_threads=False,
            voice_memos=False,
            contact_card=False,
            media=True,
            max_media_url_bytes=limits.MAX_MEDIA_URL_BYTES,
            max_media_upload_bytes=limits.MAX_UPLOAD_BYTES,
            edits=False,
            groups=True,
            group_typing_indicators=False,
            max_text_chars=1_600,
        ),
    }
)


def capabilities_of(service: Service) -> Capabilities:
    return SERVICE_CAPABILITIES[service]


class Availability(enum.Enum):
    """Whether a handle can be reached on a service. ``UNKNOWN`` is not ``UNAVAILABLE``."""

    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"
    UNKNOWN = "unknown"


@attrs.frozen
class HandleCapabilities:
    """What a capability lookup learned about one handle.

    SMS is assumed available for phone numbers (it cannot be checked in advance)
    and is never available for email addresses.
    """

    handle: Handle
    imessage: Availability = Availability.UNKNOWN
    rcs: Availability = Availability.UNKNOWN
    sms: Availability = attrs.field()

    @sms.default
    def _sms_default(self) -> Availability:
        return Availability.AVAILABLE if self.handle.is_phone else Availability.UNAVAILABLE

    def availability(self, service: Service) -> Availability:
        return {
            Service.IMESSAGE: self.imessage,
            Service.RCS: self.rcs,
            Service.SMS: self.sms,
        }[service]

    @property
    def services(self) -> tuple[Service, ...]:
        """Services known to be available, in fallback order."""
        return tuple(s for s in FALLBACK_ORDER if self.availability(s) is Availability.AVAILABLE)
