"""``TwilioTransport``: the ``Transport`` port over Twilio SMS and MMS."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from adapters.linq.receiving import inbound_sink
from adapters.twilio.client import TwilioClient
from adapters.twilio.provider import TwilioProvider
from adapters.twilio.receiver import DEFAULT_MAX_BODY_BYTES, TwilioWebhookReceiver
from adapters.twilio.signature import TwilioSignatureVerifier
from caresupport_transport.inbound import EventStore
from caresupport_transport.policy import FallbackPolicy
from caresupport_transport.transport import DEFAULT_POLICY, ProviderTransport

__all__ = ["TwilioTransport"]


class TwilioTransport(ProviderTransport):
    """Care conversations over Twilio Programmable Messaging: SMS and MMS only.

    Everything SMS cannot carry degrades through the shared policy, as on any
    provider. Twilio reports no opt-out events of its own to us, so
    ``OptedOut`` / ``OptedIn`` are derived from inbound STOP/START texts.

    Args:
        client: the API client.
        policy: the fallback policy.
        provider: a provider to use instead of one made from ``client`` (tests).
    """

    derives_consent_events = True

    def __init__(
        self,
        client: TwilioClient,
        *,
        policy: FallbackPolicy = DEFAULT_POLICY,
        provider: TwilioProvider | None = None,
    ) -> None:
        self.twilio = provider or TwilioProvider(client)
        self.client = client
        super().__init__(self.twilio, policy=policy)

    def webhook_app(
        self,
        store: EventStore,
        *,
        auth_tokens: str | Sequence[str] | None = None,
        public_url: str | None = None,
        trust_forwarded: bool = False,
        ack_after_handler: bool = False,
        include_outbound: bool = False,
        workers: bool = True,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> TwilioWebhookReceiver:
        """The ASGI receiver for inbound messages and status callbacks, feeding the inbox.

        Args:
            store: the inbox and the record of seen events.
            auth_tokens: the token(s) webhooks are signed with; by default the
                configuration's auth token.
            public_url, trust_forwarded: how the signed URL is rebuilt behind a
                proxy (see :mod:`adapters.twilio.receiver`).
            ack_after_handler: no inbox: run the handler inside the delivery.
            include_outbound: hand over our own outbound messages as messages.
            workers: run an inbox worker in this process.
            max_body_bytes: larger deliveries are refused (413).
            clock: the time stamped on events.
        """
        tokens = auth_tokens if auth_tokens is not None else self.client.config.auth_token.reveal()
        relay = self.inbound_relay(include_outbound=include_outbound)
        sink, worker = inbound_sink(
            relay,
            store,
            ack_after_handler=ack_after_handler,
            include_outbound=True,
            workers=workers,
        )
        return TwilioWebhookReceiver(
            TwilioSignatureVerifier(tokens),
            sink,
            worker=worker,
            public_url=public_url,
            trust_forwarded=trust_forwarded,
            max_body_bytes=max_body_bytes,
            clock=clock,
            observe=self.twilio.observe_inbound,
        )
