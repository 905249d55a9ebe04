"""Our Standard Webhooks signing interoperates with the reference ``standardwebhooks`` package.

The reference verifier reads the real clock, so deliveries it checks are signed
"now" (no sleeping: the clock is only read).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as ReferenceVerificationError

from adapters.linq.webhooks import WebhookVerificationError, WebhookVerifier, sign_standard

from .support import OTHER_SECRET, SECRET, fixture_bytes

BODY = fixture_bytes("2026-02-03", "message.received")


def reference_headers(body: bytes, secret: str, msg_id: str, at: int) -> dict[str, str]:
    moment = datetime.fromtimestamp(at, tz=UTC)
    signature = Webhook(secret).sign(msg_id=msg_id, timestamp=moment, data=body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(at), "webhook-signature": signature}


@pytest.mark.parametrize("secret", [SECRET, OTHER_SECRET, SECRET.removeprefix("whsec_")])
def test_deliveries_signed_by_the_reference_package_verify_with_ours(secret: str) -> None:
    at = 1_770_000_000
    headers = reference_headers(BODY, secret, "msg_ref_1", at)
    WebhookVerifier(secret, clock=lambda: at).verify(BODY, headers)


@pytest.mark.parametrize("secret", [SECRET, OTHER_SECRET])
def test_deliveries_signed_by_us_verify_with_the_reference_package(secret: str) -> None:
    headers = sign_standard(BODY, secret, msg_id="msg_ours_1", timestamp=int(time.time()))
    assert Webhook(secret).verify(BODY, headers) is not None


def test_the_reference_package_refuses_our_signature_over_another_body() -> None:
    headers = sign_standard(BODY, SECRET, msg_id="msg_ours_2", timestamp=int(time.time()))
    with pytest.raises(ReferenceVerificationError):
        Webhook(SECRET).verify(BODY.replace(b"pills", b"pi11s"), headers)


def test_we_refuse_the_reference_signature_over_another_body() -> None:
    at = 1_770_000_000
    headers = reference_headers(BODY, SECRET, "msg_ref_2", at)
    with pytest.raises(WebhookVerificationError) as caught:
        WebhookVerifier(SECRET, clock=lambda: at).verify(BODY + b" ", headers)
    assert "signature mismatch" == caught.value.reason
