"""WebhookVerifier reads only the signing headers: others are skipped, in any form.

The verifier skips headers it does not read without decoding them (an ASGI
request carries a dozen, as bytes). What must not change: the signing headers
are found whatever their case, spacing or form (str mapping, str pairs, ASGI
byte pairs), and one of them given twice with two values is refused.

A receiver reads the signing headers once, before the body (to refuse what
cannot be a delivery without computing anything), and verifies the body
against what it read: ``read_headers`` then ``verify(body, signed)`` must
decide exactly as ``verify(body, headers)`` does.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.linq.receiving import declared_length
from adapters.linq.webhooks import SignedHeaders, WebhookVerifier, sign_legacy, sign_standard
from caresupport_transport.errors import WebhookVerificationError

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"event_type":"message.received","event_id":"e1"}'

_noise_names = st.text(
    alphabet=st.characters(min_codepoint=ord("a"), max_codepoint=ord("z")) | st.just("-"),
    min_size=1,
    max_size=20,
).filter(lambda name: not name.startswith(("webhook-", "x-")))
_noise = st.lists(
    st.tuples(_noise_names, st.text(alphabet="abcdefghij 0123456789", max_size=30)),
    max_size=15,
)


def _signed() -> dict[str, str]:
    return sign_standard(BODY, SECRET, msg_id="msg_1", timestamp=int(time.time()))


@given(noise=_noise, as_bytes=st.booleans(), upper=st.booleans(), split=st.integers(0, 15))
def test_the_signing_headers_are_found_among_any_others_in_any_form(
    noise: list[tuple[str, str]], as_bytes: bool, upper: bool, split: int
) -> None:
    signing = [(name.upper() if upper else name, value) for name, value in _signed().items()]
    pairs = [*noise[:split], *signing, *noise[split:], *noise]  # noise given twice, too
    headers: list[tuple[str, str]] | list[tuple[bytes, bytes]] = (
        [(name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs]
        if as_bytes
        else pairs
    )

    WebhookVerifier(SECRET).verify(BODY, headers)


@pytest.mark.parametrize("as_bytes", [False, True])
def test_a_signing_header_given_twice_with_two_values_is_malformed(as_bytes: bool) -> None:
    pairs = [*_signed().items(), (" Webhook-ID ", "msg_2")]
    headers: list[tuple[str, str]] | list[tuple[bytes, bytes]] = (
        [(name.encode(), value.encode()) for name, value in pairs] if as_bytes else pairs
    )

    with pytest.raises(WebhookVerificationError) as caught:
        WebhookVerifier(SECRET).verify(BODY, headers)

    assert ("malformed", "header webhook-id given twice") == (
        caught.value.reason,
        caught.value.detail,
    )


_TAMPER = st.sampled_from(["none", "body", "id", "timestamp", "signature", "stale"])


@given(tamper=_TAMPER, legacy=st.booleans())
def test_verifying_against_headers_read_once_decides_as_verifying_the_headers(
    tamper: str, legacy: bool
) -> None:
    now = int(time.time())
    moment = now - 3600 if tamper == "stale" else now
    headers = (
        sign_legacy(BODY, SECRET, timestamp=moment)
        if legacy
        else sign_standard(BODY, SECRET, msg_id="msg_1", timestamp=moment)
    )
    body = BODY + b" " if tamper == "body" else BODY
    if tamper == "id" and not legacy:
        headers["webhook-id"] = "msg_2"
    if tamper == "timestamp":
        name = next(name for name in headers if name.lower().endswith("timestamp"))
        headers[name] = str(moment + 1)
    if tamper == "signature":
        name = next(name for name in headers if name.lower().endswith("signature"))
        headers[name] = (
            sign_standard(BODY, SECRET, msg_id="other", timestamp=moment)["webhook-signature"]
            if not legacy
            else "0" * 64
        )
    verifier = WebhookVerifier(SECRET)

    def outcome(check: object) -> str:
        try:
            verifier.verify(body, check)  # type: ignore[arg-type]
        except WebhookVerificationError as exc:
            return f"{exc.reason}: {exc.detail}"
        return "genuine"

    signed = verifier.read_headers(headers)
    assert isinstance(signed, SignedHeaders)
    assert outcome(signed) == outcome(headers)
    untouched = tamper == "none" or (tamper == "id" and legacy)  # legacy signs no id
    assert (outcome(headers) == "genuine") == untouched


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing header"),
        ({"webhook-id": "msg_1", "webhook-timestamp": "1"}, "missing header"),
        (
            {"webhook-id": "m", "webhook-timestamp": "soon", "webhook-signature": "v1,AA=="},
            "malformed",
        ),
        (
            {"webhook-id": "m", "webhook-timestamp": "1", "webhook-signature": "v2,AA=="},
            "malformed",
        ),
        ({"X-Webhook-Timestamp": "1", "X-Webhook-Signature": "not hex"}, "malformed"),
        ({"X-Linq-Signature": "0" * 64}, "missing header"),
    ],
)
def test_reading_the_headers_refuses_what_the_headers_alone_show(
    headers: dict[str, str], reason: str
) -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        WebhookVerifier(SECRET).read_headers(headers)

    assert caught.value.reason == reason


def test_reading_the_headers_of_an_unconfigured_verifier_refuses() -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        WebhookVerifier(None).read_headers(_signed())

    assert caught.value.reason == "no secret configured"


def test_headers_read_once_keep_the_signatures_out_of_repr() -> None:
    signed = WebhookVerifier(SECRET).read_headers(_signed())
    signature = _signed()["webhook-signature"].split(",", 1)[1]

    assert signature not in repr(signed)
    assert repr(signed).startswith("SignedHeaders(standard")


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([(b"Content-Length", b" 12 ")], 12),
        ([(b"content-length", b"12"), (b"content-length", b"13")], -1),
        ([(b"content-length", b"1e3")], -1),
        ([(b"host", b"x")], None),
    ],
)
def test_the_declared_length_is_read_from_raw_asgi_header_bytes(
    pairs: list[tuple[bytes, bytes]], expected: int | None
) -> None:
    assert declared_length(pairs) == expected
    text = [(name.decode(), value.decode()) for name, value in pairs]
    assert declared_length(text) == expected
