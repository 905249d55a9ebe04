"""WebhookVerifier reads only the signing headers: others are skipped, in any form.

The verifier skips headers it does not read without decoding them (an ASGI
request carries a dozen, as bytes). What must not change: the signing headers
are found whatever their case, spacing or form (str mapping, str pairs, ASGI
byte pairs), and one of them given twice with two values is refused.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.linq.webhooks import WebhookVerifier, sign_standard
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
