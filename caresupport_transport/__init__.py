"""CareSupport's conversations over iMessage, RCS and SMS: the domain side.

Care logic depends on :class:`Transport` and the value types here; adapters
(``adapters.memory``, ``adapters.linq``) implement the port.

Bubble sequencing and inbound dispatch are loaded on first use: an adapter that
only sends needs neither (nor the asyncio and SQLite machinery they bring).
"""

import logging
from typing import TYPE_CHECKING

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
from caresupport_transport.lazy_exports import lazy_exports
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

if TYPE_CHECKING:
    # Type checkers see plain imports (and no module __getattr__, so a misspelt
    # name is still an error); at run time __getattr__ below loads them.
    from caresupport_transport.bubbles import (
        BubbleResult,
        BubbleSendResult,
        send_bubbles,
        split_bubbles,
    )
    from caresupport_transport.inbound import (
        ClaimStatus,
        DispatchOutcome,
        EventStore,
        InboundDispatcher,
        MemoryEventStore,
        SqliteEventStore,
    )

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
    "ProviderError",
    "RateLimitedError",
    "Reaction",
    "ReactionAdded",
    "ReactionKind",
    "ReactionRemoved",
    "ReplyTo",
    "SendAttempt",
    "SendReceipt",
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
    "parse_handle",
    "send_bubbles",
    "split_bubbles",
]

_LOADED_ON_FIRST_USE = {
    "BubbleResult": "caresupport_transport.bubbles",
    "BubbleSendResult": "caresupport_transport.bubbles",
    "send_bubbles": "caresupport_transport.bubbles",
    "split_bubbles": "caresupport_transport.bubbles",
    "ClaimStatus": "caresupport_transport.inbound",
    "DispatchOutcome": "caresupport_transport.inbound",
    "EventStore": "caresupport_transport.inbound",
    "InboundDispatcher": "caresupport_transport.inbound",
    "MemoryEventStore": "caresupport_transport.inbound",
    "SqliteEventStore": "caresupport_transport.inbound",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, _LOADED_ON_FIRST_USE, __all__)
