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
from caresupport_transport.errors import ConfigurationError, ValidationError

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


def test_a_whsec_secret_with_nothing_after_the_prefix_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"^webhook secret: decodes to an empty key$"):
        WebhookVerifier("whsec_")


@pytest.mark.parametrize("secret", ["whsec_\ud800", "plain\udcff"])
def test_a_secret_that_is_not_valid_text_is_refused(secret: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^webhook secret: is not valid text$"):
        WebhookVerifier(secret)


def test_an_empty_signing_secret_is_refused_as_empty() -> None:
    with pytest.raises(ConfigurationError, match=r"^webhook secret: must not be empty$"):
        sign_standard(BODY, "  ", msg_id="m1", timestamp=NOW)


@pytest.mark.parametrize("padding", ["", "==="], ids=["unpadded", "over-padded"])
def test_a_v1_signature_is_read_with_missing_or_extra_padding(padding: str) -> None:
    headers = sign_standard(BODY, SECRET, msg_id="m1", timestamp=NOW)
    headers["webhook-signature"] = headers["webhook-signature"].rstrip("=") + padding

    verifier().verify(BODY, headers)


def test_every_missing_standard_header_is_named() -> None:
    headers = sign_standard(BODY, SECRET, msg_id="m1", timestamp=NOW)
    del headers["webhook-id"], headers["webhook-timestamp"]

    error = refusal(verifier(), headers)

    assert ("missing header", "webhook-id, webhook-timestamp") == (error.reason, error.detail)


def test_no_signature_headers_names_both_schemes() -> None:
    error = refusal(verifier(), {"Content-Type": "application/json"})
    assert "webhook-signature (or X-Webhook-Signature)" == error.detail


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        (
            {"X-Webhook-Timestamp": str(NOW), "X-Webhook-Signature": "abc"},
            "X-Webhook-Signature is not a hex HMAC-SHA256 (64 hex digits)",
        ),
        (
            [("webhook-id", "a"), ("webhook-id", "b")],
            "header webhook-id given twice",
        ),
    ],
    ids=["legacy-not-hex", "given-twice"],
)
def test_malformed_details_say_what_is_wrong(headers: object, detail: str) -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        verifier().verify(BODY, headers)  # type: ignore[arg-type]
    assert ("malformed", detail) == (caught.value.reason, caught.value.detail)


def test_signing_refuses_a_padded_or_non_text_msg_id_naming_the_rule() -> None:
    with pytest.raises(ValidationError) as padded:
        sign_standard(BODY, SECRET, msg_id=" m1", timestamp=NOW)
    with pytest.raises(ValidationError) as not_text:
        sign_standard(BODY, SECRET, msg_id="m\ud800", timestamp=NOW)

    assert ("msg_id", "must be non-empty, without surrounding whitespace") == (
        padded.value.field,
        padded.value.rule,
    )
    assert ("msg_id", "is not valid text") == (not_text.value.field, not_text.value.rule)


def test_signing_takes_timestamp_zero_and_refuses_a_negative_one_naming_the_rule() -> None:
    assert "0" == sign_legacy(BODY, SECRET, timestamp=0)["X-Webhook-Timestamp"]
    assert "0" == sign_standard(BODY, SECRET, msg_id="m1", timestamp=0)["webhook-timestamp"]
    with pytest.raises(ValidationError) as caught:
        sign_legacy(BODY, SECRET, timestamp=-1)
    assert ("timestamp", "must be a non-negative integer of Unix seconds") == (
        caught.value.field,
        caught.value.rule,
    )


def test_signing_with_an_unknown_prefix_lists_the_known_ones() -> None:
    with pytest.raises(ValidationError) as caught:
        sign_legacy(BODY, SECRET, timestamp=NOW, header_prefix="X-Other")
    assert ("header_prefix", "must be one of X-Webhook, X-Linq") == (
        caught.value.field,
        caught.value.rule,
    )
