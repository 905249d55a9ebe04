"""WebhookVerifier: both signing schemes, rotation, freshness, and every refusal reason."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from adapters.linq.webhooks import (
    DEFAULT_TOLERANCE_SECONDS,
    WebhookVerificationError,
    WebhookVerifier,
    sign_legacy,
    sign_standard,
)
from caresupport_transport.errors import ConfigurationError, ValidationError

from .support import NOW, OTHER_SECRET, SECRET, fixed_clock

BODY = b'{"event_type":"message.received","event_id":"e1"}'


def verifier(secrets: str | list[str] | None = SECRET, **kwargs: float) -> WebhookVerifier:
    return WebhookVerifier(secrets, clock=fixed_clock(), **kwargs)


def standard_headers(body: bytes = BODY, secret: str = SECRET, at: int = NOW) -> dict[str, str]:
    return sign_standard(body, secret, msg_id="msg_2f1b", timestamp=at)


def legacy_headers(
    body: bytes = BODY, secret: str = SECRET, at: int = NOW, prefix: str = "X-Webhook"
) -> dict[str, str]:
    return sign_legacy(body, secret, timestamp=at, header_prefix=prefix)


def refusal(v: WebhookVerifier, body: bytes, headers: object) -> WebhookVerificationError:
    with pytest.raises(WebhookVerificationError) as caught:
        v.verify(body, headers)  # type: ignore[arg-type]
    return caught.value


# --- genuine deliveries -------------------------------------------------------------


def test_standard_webhooks_delivery_verifies() -> None:
    verifier().verify(BODY, standard_headers())


def test_legacy_x_webhook_delivery_verifies() -> None:
    verifier().verify(BODY, legacy_headers())


def test_legacy_x_linq_header_names_verify() -> None:
    verifier().verify(BODY, legacy_headers(prefix="X-Linq"))


def test_legacy_signature_may_carry_a_sha256_prefix_and_upper_case_hex() -> None:
    headers = legacy_headers()
    headers["X-Webhook-Signature"] = "sha256=" + headers["X-Webhook-Signature"].upper()
    verifier().verify(BODY, headers)


def test_legacy_signature_is_hex_hmac_of_timestamp_dot_body_keyed_with_the_secret_string() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert expected == legacy_headers()["X-Webhook-Signature"]


def test_standard_signature_is_keyed_with_the_base64_decoded_secret() -> None:
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"msg_2f1b.{NOW}.".encode() + BODY, hashlib.sha256).digest()
    assert "v1," + base64.b64encode(digest).decode() == standard_headers()["webhook-signature"]


def test_header_names_are_case_insensitive() -> None:
    shouting = {name.upper(): value for name, value in standard_headers().items()}
    whispering = {name.lower(): value for name, value in legacy_headers().items()}
    verifier().verify(BODY, shouting)
    verifier().verify(BODY, whispering)


def test_headers_may_be_pairs_of_str_or_of_raw_asgi_bytes() -> None:
    pairs = list(standard_headers().items())
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs]
    verifier().verify(BODY, pairs)
    verifier().verify(BODY, raw)  # type: ignore[arg-type]


def test_an_empty_body_is_signed_content_too() -> None:
    verifier().verify(b"", standard_headers(b""))
    verifier().verify(b"", legacy_headers(b""))


def test_one_matching_v1_entry_among_several_is_enough() -> None:
    headers = standard_headers()
    wrong = "v1," + base64.b64encode(b"\x00" * 32).decode()
    headers["webhook-signature"] = f"v2,abc {wrong} {headers['webhook-signature']}"
    verifier().verify(BODY, headers)


def test_secret_whitespace_from_an_env_file_is_ignored() -> None:
    verifier(SECRET + "\n").verify(BODY, standard_headers())
    verifier("  " + SECRET).verify(BODY, legacy_headers())


# --- rotation -------------------------------------------------------------------------


@pytest.mark.parametrize("sign", [standard_headers, legacy_headers])
def test_rotation_accepts_deliveries_signed_with_either_secret(sign: object) -> None:
    v = verifier([SECRET, OTHER_SECRET])
    v.verify(BODY, sign(secret=SECRET))  # type: ignore[operator]
    v.verify(BODY, sign(secret=OTHER_SECRET))  # type: ignore[operator]


def test_rotation_still_refuses_a_secret_not_configured() -> None:
    third = "whsec_" + base64.b64encode(b"third secret, never configured").decode()
    error = refusal(verifier([SECRET, OTHER_SECRET]), BODY, standard_headers(secret=third))
    assert "signature mismatch" == error.reason


# --- forgeries ------------------------------------------------------------------------


def test_forged_standard_signature_is_a_mismatch() -> None:
    headers = standard_headers()
    headers["webhook-signature"] = "v1," + base64.b64encode(b"forged".ljust(32, b"!")).decode()
    assert "signature mismatch" == refusal(verifier(), BODY, headers).reason


def test_forged_legacy_signature_is_a_mismatch() -> None:
    headers = legacy_headers()
    headers["X-Webhook-Signature"] = "ab" * 32
    assert "signature mismatch" == refusal(verifier(), BODY, headers).reason


@pytest.mark.parametrize("sign", [standard_headers, legacy_headers])
def test_signature_for_another_body_is_a_mismatch(sign: object) -> None:
    headers = sign(b'{"event_type":"message.received","event_id":"e2"}')  # type: ignore[operator]
    assert "signature mismatch" == refusal(verifier(), BODY, headers).reason


def test_changing_the_webhook_id_breaks_the_signature() -> None:
    headers = standard_headers()
    headers["webhook-id"] = "msg_other"
    assert "signature mismatch" == refusal(verifier(), BODY, headers).reason


def test_moving_the_timestamp_breaks_the_signature() -> None:
    headers = legacy_headers()
    headers["X-Webhook-Timestamp"] = str(NOW + 1)
    assert "signature mismatch" == refusal(verifier(), BODY, headers).reason


def test_when_standard_headers_are_complete_only_they_decide() -> None:
    forged_standard = standard_headers()
    forged_standard["webhook-signature"] = "v1," + base64.b64encode(b"x" * 32).decode()
    both = {**forged_standard, **legacy_headers()}
    assert "signature mismatch" == refusal(verifier(), BODY, both).reason
    genuine_standard = {**standard_headers(), "X-Webhook-Signature": "00" * 32}
    verifier().verify(BODY, {**legacy_headers(), **genuine_standard})


def test_incomplete_standard_headers_fall_to_a_complete_legacy_pair() -> None:
    headers = {**legacy_headers(), "webhook-id": "msg_2f1b"}
    verifier().verify(BODY, headers)


# --- freshness ------------------------------------------------------------------------


@pytest.mark.parametrize("sign", [standard_headers, legacy_headers])
def test_a_delivery_older_than_the_tolerance_is_stale(sign: object) -> None:
    headers = sign(at=NOW - DEFAULT_TOLERANCE_SECONDS - 1)  # type: ignore[operator]
    error = refusal(verifier(), BODY, headers)
    assert "stale" == error.reason
    assert "old" in error.detail


@pytest.mark.parametrize("sign", [standard_headers, legacy_headers])
def test_a_delivery_from_beyond_the_tolerance_in_the_future_is_stale(sign: object) -> None:
    headers = sign(at=NOW + DEFAULT_TOLERANCE_SECONDS + 1)  # type: ignore[operator]
    error = refusal(verifier(), BODY, headers)
    assert "stale" == error.reason
    assert "future" in error.detail


@pytest.mark.parametrize("offset", [-DEFAULT_TOLERANCE_SECONDS, 0, DEFAULT_TOLERANCE_SECONDS])
def test_a_delivery_within_the_tolerance_either_way_verifies(offset: int) -> None:
    verifier().verify(BODY, standard_headers(at=NOW + offset))


def test_tolerance_is_configurable() -> None:
    strict = verifier(tolerance=10)
    strict.verify(BODY, standard_headers(at=NOW - 10))
    assert "stale" == refusal(strict, BODY, standard_headers(at=NOW - 11)).reason


def test_a_forged_stale_delivery_reports_the_forgery_not_the_age() -> None:
    headers = standard_headers(secret=OTHER_SECRET, at=NOW - 3600)
    assert "signature mismatch" == refusal(verifier(), BODY, headers).reason


# --- missing and malformed headers ----------------------------------------------------


@pytest.mark.parametrize("dropped", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_each_missing_standard_header_is_named(dropped: str) -> None:
    headers = standard_headers()
    del headers[dropped]
    error = refusal(verifier(), BODY, headers)
    assert ("missing header", dropped) == (error.reason, error.detail)


@pytest.mark.parametrize(
    ("dropped", "named"),
    [
        ("X-Webhook-Timestamp", "X-Webhook-Timestamp"),
        ("X-Webhook-Signature", "X-Webhook-Signature"),
    ],
)
def test_each_missing_legacy_header_is_named(dropped: str, named: str) -> None:
    headers = legacy_headers()
    del headers[dropped]
    error = refusal(verifier(), BODY, headers)
    assert ("missing header", named) == (error.reason, error.detail)


def test_no_signature_headers_at_all_is_a_missing_header() -> None:
    error = refusal(verifier(), BODY, {"content-type": "application/json"})
    assert "missing header" == error.reason


def test_an_empty_header_value_counts_as_missing() -> None:
    headers = standard_headers()
    headers["webhook-id"] = "  "
    assert "missing header" == refusal(verifier(), BODY, headers).reason


@pytest.mark.parametrize("stamp", ["soon", "1.7e9", "-5", "0x10", "١٢٣", "1770000000 1"])
def test_a_non_numeric_timestamp_is_malformed(stamp: str) -> None:
    standard = {**standard_headers(), "webhook-timestamp": stamp}
    legacy = {**legacy_headers(), "X-Webhook-Timestamp": stamp}
    assert "malformed" == refusal(verifier(), BODY, standard).reason
    assert "malformed" == refusal(verifier(), BODY, legacy).reason


@pytest.mark.parametrize(
    "signature", ["v1", "v1,", "v1,***not-base64***", "v2,abc", "just-garbage", ","]
)
def test_a_standard_signature_header_without_a_usable_v1_entry_is_malformed(
    signature: str,
) -> None:
    headers = {**standard_headers(), "webhook-signature": signature}
    error = refusal(verifier(), BODY, headers)
    assert ("malformed", True) == (error.reason, "webhook-signature" in error.detail)


@pytest.mark.parametrize("signature", ["xyz", "ab" * 31, "ab" * 33, "sha1=" + "ab" * 32])
def test_a_legacy_signature_that_is_not_64_hex_digits_is_malformed(signature: str) -> None:
    headers = {**legacy_headers(), "X-Webhook-Signature": signature}
    assert "malformed" == refusal(verifier(), BODY, headers).reason


def test_a_header_given_twice_with_different_values_is_malformed() -> None:
    pairs = [*standard_headers().items(), ("webhook-id", "msg_other")]
    assert "malformed" == refusal(verifier(), BODY, pairs).reason


# --- fail closed ----------------------------------------------------------------------


@pytest.mark.parametrize("secrets", [None, "", "   ", [], ["", " \n"]])
def test_with_no_secret_every_delivery_is_refused(secrets: str | list[str] | None) -> None:
    v = verifier(secrets)
    assert v.configured is False
    for headers in (standard_headers(), legacy_headers(), {}):
        error = refusal(v, BODY, headers)
        assert "no secret configured" == error.reason


def test_a_configured_verifier_says_so() -> None:
    assert verifier().configured is True


# --- secrets stay secret --------------------------------------------------------------


def _secret_fragments() -> list[str]:
    decoded = base64.b64decode(SECRET.removeprefix("whsec_"))
    expected_standard = standard_headers()["webhook-signature"].removeprefix("v1,")
    expected_legacy = legacy_headers()["X-Webhook-Signature"]
    bare = SECRET.removeprefix("whsec_")
    return [SECRET, bare, decoded.hex(), expected_standard, expected_legacy]


@pytest.mark.parametrize(
    "headers",
    [
        {**standard_headers(), "webhook-signature": "v1," + base64.b64encode(b"y" * 32).decode()},
        {**legacy_headers(), "X-Webhook-Signature": "cd" * 32},
        standard_headers(body=b"another body"),
        standard_headers(at=NOW - 10_000),
        {**standard_headers(), "webhook-timestamp": "later"},
        {"webhook-id": "msg_1"},
    ],
)
def test_no_error_echoes_the_secret_or_the_expected_signature(headers: dict[str, str]) -> None:
    error = refusal(verifier(), BODY, headers)
    for fragment in _secret_fragments():
        assert fragment not in str(error)
        assert fragment not in repr(error)


def test_the_verifier_repr_hides_its_secrets() -> None:
    text = repr(verifier([SECRET, OTHER_SECRET]))
    assert SECRET not in text
    assert OTHER_SECRET not in text
    assert "2 hidden" in text


# --- configuration --------------------------------------------------------------------


def test_a_secret_without_the_prefix_that_decodes_as_base64_is_used_decoded() -> None:
    bare = SECRET.removeprefix("whsec_")
    verifier(bare).verify(BODY, standard_headers(secret=SECRET))


def test_a_secret_without_the_prefix_that_is_not_base64_is_used_as_utf8_bytes() -> None:
    raw = "care-support_secret!"
    digest = hmac.new(raw.encode(), f"msg_2f1b.{NOW}.".encode() + BODY, hashlib.sha256).digest()
    headers = {
        "webhook-id": "msg_2f1b",
        "webhook-timestamp": str(NOW),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }
    verifier(raw).verify(BODY, headers)


def test_a_bare_secret_that_decodes_to_no_bytes_is_used_as_utf8_bytes() -> None:
    digest = hmac.new(b"====", f"msg_2f1b.{NOW}.".encode() + BODY, hashlib.sha256).digest()
    headers = {
        "webhook-id": "msg_2f1b",
        "webhook-timestamp": str(NOW),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }
    verifier("====").verify(BODY, headers)


def test_a_whsec_secret_that_is_not_base64_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not base64") as caught:
        WebhookVerifier("whsec_not*base64*at-all")
    assert "not*base64" not in str(caught.value)


@pytest.mark.parametrize("tolerance", [-1, float("nan"), float("inf")])
def test_a_negative_or_non_finite_tolerance_is_a_configuration_error(tolerance: float) -> None:
    with pytest.raises(ConfigurationError, match="tolerance"):
        WebhookVerifier(SECRET, tolerance=tolerance)


def test_a_secret_that_is_not_a_string_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="must be a string"):
        WebhookVerifier([SECRET, b"bytes"])  # type: ignore[list-item]


def test_a_body_that_is_not_bytes_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="raw bytes"):
        verifier().verify(BODY.decode(), standard_headers())  # type: ignore[arg-type]


# --- signing helpers ------------------------------------------------------------------


def test_sign_standard_returns_the_three_standard_headers() -> None:
    headers = standard_headers()
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} == set(headers)
    assert ("msg_2f1b", str(NOW)) == (headers["webhook-id"], headers["webhook-timestamp"])


def test_sign_legacy_names_the_headers_after_the_prefix() -> None:
    assert {"X-Linq-Timestamp", "X-Linq-Signature"} == set(legacy_headers(prefix="X-Linq"))


def test_sign_legacy_refuses_an_unknown_prefix() -> None:
    with pytest.raises(ValidationError, match="header_prefix"):
        sign_legacy(BODY, SECRET, timestamp=NOW, header_prefix="X-Other")


@pytest.mark.parametrize("timestamp", [-1, True])
def test_signing_refuses_a_timestamp_that_is_not_unix_seconds(timestamp: int) -> None:
    with pytest.raises(ValidationError, match="timestamp"):
        sign_standard(BODY, SECRET, msg_id="m", timestamp=timestamp)


def test_signing_refuses_an_empty_secret_and_an_empty_msg_id() -> None:
    with pytest.raises(ConfigurationError):
        sign_standard(BODY, " ", msg_id="m", timestamp=NOW)
    with pytest.raises(ValidationError, match="msg_id"):
        sign_standard(BODY, SECRET, msg_id="", timestamp=NOW)
