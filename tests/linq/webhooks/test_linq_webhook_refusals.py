"""WebhookVerifier: a usable tolerance only, and every odd header refused as a verification error.

Each test here was written for a change that the mutation script
(``tools/mutate.py webhooks``) showed the suite did not notice.
"""

from __future__ import annotations

import pytest

from adapters.linq import webhooks
from adapters.linq.webhooks import (
    DEFAULT_TOLERANCE_SECONDS,
    WebhookVerificationError,
    WebhookVerifier,
    sign_legacy,
    sign_standard,
)
from caresupport_transport.errors import ConfigurationError

from .support import NOW, SECRET, fixed_clock

BODY = b'{"event_type":"message.received","event_id":"e1"}'


def verifier(**kwargs: object) -> WebhookVerifier:
    return WebhookVerifier(SECRET, clock=fixed_clock(), **kwargs)  # type: ignore[arg-type]


def refusal(v: WebhookVerifier, headers: dict[str, str]) -> WebhookVerificationError:
    with pytest.raises(WebhookVerificationError) as caught:
        v.verify(BODY, headers)
    return caught.value


def test_the_default_tolerance_is_five_minutes() -> None:
    assert 300 == DEFAULT_TOLERANCE_SECONDS
    assert 300.0 == WebhookVerifier(SECRET).tolerance


@pytest.mark.parametrize(
    "tolerance",
    [
        pytest.param(0, id="zero"),
        pytest.param(0.0, id="zero-float"),
        pytest.param(-0.5, id="negative"),
        pytest.param(True, id="true"),
        pytest.param(False, id="false"),
        pytest.param("300", id="string"),
        pytest.param(None, id="none"),
    ],
)
def test_a_tolerance_that_is_not_a_positive_number_is_refused(tolerance: object) -> None:
    with pytest.raises(ConfigurationError) as caught:
        verifier(tolerance=tolerance)
    assert str(caught.value).startswith("tolerance: must be a")


@pytest.mark.parametrize("tolerance", [0.5, 1, 300, 86_400.0])
def test_any_positive_finite_tolerance_is_taken(tolerance: float) -> None:
    assert float(tolerance) == verifier(tolerance=tolerance).tolerance


def test_a_fractional_tolerance_is_honoured_to_the_second() -> None:
    half = verifier(tolerance=0.5)
    half.verify(BODY, sign_standard(BODY, SECRET, msg_id="m1", timestamp=NOW))
    assert (
        "stale" == refusal(half, sign_standard(BODY, SECRET, msg_id="m1", timestamp=NOW - 1)).reason
    )


@pytest.mark.parametrize(
    "webhook_id",
    [pytest.param("msg_\ud800", id="lone-surrogate"), pytest.param("\udcff", id="only-surrogate")],
)
def test_a_webhook_id_that_is_not_text_is_malformed_not_a_crash(webhook_id: str) -> None:
    headers = sign_standard(BODY, SECRET, msg_id="msg_1", timestamp=NOW)
    headers["webhook-id"] = webhook_id

    error = refusal(verifier(), headers)

    assert ("malformed", "webhook-id is not valid text") == (error.reason, error.detail)


def test_a_webhook_id_in_raw_latin_1_bytes_is_read_not_refused_as_malformed() -> None:
    signed = sign_standard(BODY, SECRET, msg_id="msg_é", timestamp=NOW)
    raw = [(name.encode(), value.encode("utf-8")) for name, value in signed.items()]

    # An ASGI server hands over the UTF-8 bytes; read as Latin-1 they are other text,
    # so the signature no longer matches: refused, and as a mismatch, not a crash.
    with pytest.raises(WebhookVerificationError) as caught:
        verifier().verify(BODY, raw)  # type: ignore[arg-type]
    assert "signature mismatch" == caught.value.reason


def test_stale_detail_names_the_header_the_age_and_the_tolerance() -> None:
    old = sign_standard(BODY, SECRET, msg_id="m1", timestamp=NOW - 400)
    future = sign_legacy(BODY, SECRET, timestamp=NOW + 400)

    assert (
        "webhook-timestamp is 400 s old; the tolerance is 300 s" == refusal(verifier(), old).detail
    )
    assert (
        "X-Webhook-Timestamp is 400 s in the future; the tolerance is 300 s"
        == refusal(verifier(), future).detail
    )


def test_a_timestamp_of_more_than_twelve_digits_is_malformed() -> None:
    headers = sign_standard(BODY, SECRET, msg_id="m1", timestamp=NOW)
    headers["webhook-timestamp"] = "1" * 13

    error = refusal(verifier(), headers)

    assert ("malformed", "webhook-timestamp is not a Unix time in seconds") == (
        error.reason,
        error.detail,
    )


def test_a_header_given_twice_with_the_same_value_is_fine() -> None:
    headers = sign_standard(BODY, SECRET, msg_id="m1", timestamp=NOW)
    pairs = [*headers.items(), ("Webhook-Id", "m1")]

    verifier().verify(BODY, pairs)  # type: ignore[arg-type]


def test_the_keys_a_secret_yields_do_not_show_in_a_repr() -> None:
    """Error trackers print the locals of failing frames: a key there must stay hidden."""
    key = webhooks._key_for(SECRET)

    assert SECRET.removeprefix("whsec_") not in repr(key)
    assert repr(key.standard) not in repr(key)
    assert repr(key.legacy) not in repr(key)
