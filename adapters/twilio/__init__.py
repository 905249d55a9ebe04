"""The Twilio adapter: SMS and MMS over Twilio Programmable Messaging (``docs/twilio.md``)."""

from adapters.twilio.client import TwilioClient
from adapters.twilio.config import TwilioConfig
from adapters.twilio.key_store import SqliteKeyStore
from adapters.twilio.provider import TwilioProvider
from adapters.twilio.receiver import TwilioWebhookReceiver
from adapters.twilio.signature import SIGNATURE_HEADER, TwilioSignatureVerifier, sign
from adapters.twilio.transport import TwilioTransport
from adapters.twilio.wire_message import TwilioMessage

__all__ = [
    "SIGNATURE_HEADER",
    "SqliteKeyStore",
    "TwilioClient",
    "TwilioConfig",
    "TwilioMessage",
    "TwilioProvider",
    "TwilioSignatureVerifier",
    "TwilioTransport",
    "TwilioWebhookReceiver",
    "sign",
]
