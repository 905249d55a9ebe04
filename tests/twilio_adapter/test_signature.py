"""``X-Twilio-Signature``: ours and the official ``twilio`` package's ``RequestValidator`` agree.

The ``twilio`` package is a test-only dependency (the ``dev`` extra): it is the
reference for Twilio's signing rules, never used by the adapter itself.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from adapters.twilio.signature import TwilioSignatureVerifier, sign
from caresupport_transport import WebhookVerificationError

TOKEN = "12345678901234567890123456789012"
URL = "https://care.example.org/twilio/sms?family=lindqvist"

names = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=12)
values = st.text(max_size=40).filter(lambda v: "\x00" not in v)
forms = st.dictionaries(names, values, max_size=8)
urls = st.sampled_from(
    [
        URL,
        "https://care.example.org/twilio/status",
        "https://care.example.org:8443/t?a=1&b=%20x",
        "http://127.0.0.1:8790/twilio/sms",
    ]
)


@given(url=urls, form=forms)
def test_twilio_validator_accepts_what_we_sign(url: str, form: dict[str, str]) -> None:
    signature = sign(url, form.items(), TOKEN)
    assert RequestValidator(TOKEN).validate(url, form, signature)


@given(url=urls, form=forms)
def test_we_accept_what_the_twilio_validator_computes(url: str, form: dict[str, str]) -> None:
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    TwilioSignatureVerifier(TOKEN).verify(url, form.items(), signature)


@given(form=forms, extra=names)
def test_a_changed_parameter_is_refused_by_both(form: dict[str, str], extra: str) -> None:
    signature = sign(URL, form.items(), TOKEN)
    tampered = {**form, extra: form.get(extra, "") + "x"}
    assert not RequestValidator(TOKEN).validate(URL, tampered, signature)
    with pytest.raises(WebhookVerificationError) as refused:
        TwilioSignatureVerifier(TOKEN).verify(URL, tampered.items(), signature)
    assert "signature mismatch" == refused.value.reason


def test_the_default_port_may_be_present_or_absent_as_twilio_signs_either() -> None:
    form = {"Body": "ok", "From": "+16515550103"}
    with_port = sign("https://care.example.org:443/twilio/sms", form.items(), TOKEN)
    without = sign("https://care.example.org/twilio/sms", form.items(), TOKEN)
    verifier = TwilioSignatureVerifier(TOKEN)
    verifier.verify("https://care.example.org/twilio/sms", form.items(), with_port)
    verifier.verify("https://care.example.org:443/twilio/sms", form.items(), without)


def test_a_signature_for_another_url_or_token_is_refused() -> None:
    form = {"Body": "ok"}
    verifier = TwilioSignatureVerifier(TOKEN)
    for signature in (
        sign("https://evil.example.org/twilio/sms", form.items(), TOKEN),
        sign(URL, form.items(), "another-token"),
    ):
        with pytest.raises(WebhookVerificationError):
            verifier.verify(URL, form.items(), signature)


def test_either_token_verifies_during_a_rotation() -> None:
    form = {"Body": "ok"}
    verifier = TwilioSignatureVerifier(["new-token", TOKEN])
    verifier.verify(URL, form.items(), sign(URL, form.items(), TOKEN))
    verifier.verify(URL, form.items(), sign(URL, form.items(), "new-token"))


def test_no_token_or_no_signature_fails_closed() -> None:
    with pytest.raises(WebhookVerificationError) as unset:
        TwilioSignatureVerifier([]).verify(URL, [], "x")
    with pytest.raises(WebhookVerificationError) as missing:
        TwilioSignatureVerifier(TOKEN).verify(URL, [], None)
    assert ("no secret configured", "missing header") == (
        unset.value.reason,
        missing.value.reason,
    )
