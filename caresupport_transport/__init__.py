"""CareSupport's conversations over iMessage, RCS and SMS: the domain side.

Care logic depends on :class:`Transport` and the value types here. Adapters
(``adapters.memory``, ``adapters.linq``) are :class:`ProviderTransport`, the one
implementation of the port, over a :class:`Provider` of their own.
"""

import logging

from caresupport_transport.bubbles import (
    BubbleResult,
    BubbleSendResult,
    send_bubbles,
    split_bubbles,
)
from caresupport_transport.capabilities import (
    SERVICE_CAPABILITIES,
    Availability,
    Capabilities,
    Feature,
    HandleCapabilities,
    Service,
    ServicePreference,
)
from caresupport_transport.content import (
    Effect,
    EffectKind,
    MediaPart,
    OutgoingMessage,
    Reaction,
    ReactionKind,
    ReplyTo,
    TextPart,
    VoiceMemo,
)
from caresupport_transport.errors import (
    ConfigurationError,
    ConflictError,
    InvalidHandleError,
    NotFoundError,
    ProtocolError,
    ProviderError,
    RateLimitedError,
    TransportError,
    TransportTimeoutError,
    UnreachableError,
    UnsupportedError,
    ValidationError,
    WebhookVerificationError,
)
from caresupport_transport.events import (
    ConversationCreated,
    ConversationUpdated,
    InboundEvent,
    MessageEdited,
    MessageReceived,
    MessageStatusChanged,
    ParticipantAdded,
    ParticipantRemoved,
    ReactionAdded,
    ReactionRemoved,
    TypingStarted,
    TypingStopped,
    UnknownEvent,
)
from caresupport_transport.handles import Handle, HandleKind, parse_handle
from caresupport_transport.inbound import (
    ClaimStatus,
    DispatchOutcome,
    EventStore,
    InboundDispatcher,
    Inbox,
    InboxWorker,
    MemoryEventStore,
    RetrySchedule,
    SqliteEventStore,
    open_event_store,
    reply_key,
)
from caresupport_transport.model import (
    ActionResult,
    Attachment,
    Conversation,
    Degradation,
    DegradationAction,
    DeliveryStatus,
    Direction,
    Message,
    SendAttempt,
    SendReceipt,
    StartedConversation,
)
from caresupport_transport.policy import (
    FallbackPolicy,
    LongTextFallback,
    OnUnsupported,
    TapbackFallback,
    VoiceMemoFallback,
)
from caresupport_transport.port import InboundHandler, Transport
from caresupport_transport.provider import Provider, Sent
from caresupport_transport.transport import ProviderTransport

__version__ = "0.1.0"
"""This package's version: the one place it is written (``pyproject.toml`` reads it)."""

# A library leaves output to the application: without a handler of its own,
# Python's last-resort handler would print the adapters' warnings to stderr.
logging.getLogger("caresupport_transport").addHandler(logging.NullHandler())

__all__ = [
    "SERVICE_CAPABILITIES",
    "ActionResult",
    "Attachment",
    "Availability",
    "BubbleResult",
    "BubbleSendResult",
    "Capabilities",
    "ClaimStatus",
    "ConfigurationError",
    "ConflictError",
    "Conversation",
    "ConversationCreated",
    "ConversationUpdated",
    "Degradation",
    "DegradationAction",
    "DeliveryStatus",
    "Direction",
    "DispatchOutcome",
    "Effect",
    "EffectKind",
    "EventStore",
    "FallbackPolicy",
    "Feature",
    "Handle",
    "HandleCapabilities",
    "HandleKind",
    "InboundDispatcher",
    "InboundEvent",
    "InboundHandler",
    "Inbox",
    "InboxWorker",
    "InvalidHandleError",
    "LongTextFallback",
    "MediaPart",
    "MemoryEventStore",
    "Message",
    "MessageEdited",
    "MessageReceived",
    "MessageStatusChanged",
    "NotFoundError",
    "OnUnsupported",
    "OutgoingMessage",
    "ParticipantAdded",
    "ParticipantRemoved",
    "ProtocolError",
    "Provider",
    "ProviderError",
    "ProviderTransport",
    "RateLimitedError",
    "Reaction",
    "ReactionAdded",
    "ReactionKind",
    "ReactionRemoved",
    "ReplyTo",
    "RetrySchedule",
    "SendAttempt",
    "SendReceipt",
    "Sent",
    "Service",
    "ServicePreference",
    "SqliteEventStore",
    "StartedConversation",
    "TapbackFallback",
    "TextPart",
    "Transport",
    "TransportError",
    "TransportTimeoutError",
    "TypingStarted",
    "TypingStopped",
    "UnknownEvent",
    "UnreachableError",
    "UnsupportedError",
    "ValidationError",
    "VoiceMemo",
    "VoiceMemoFallback",
    "WebhookVerificationError",
    "open_event_store",
    "parse_handle",
    "reply_key",
    "send_bubbles",
    "split_bubbles",
]
