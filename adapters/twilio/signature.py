"""Twilio's webhook signature: HMAC-SHA1 over the full URL and the sorted form parameters.

The string signed is the URL Twilio requested (scheme, host, port if any,
path and query, exactly as configured in Twilio) followed by every POST
parameter as ``name + value``, names sorted, a name's values sorted; the
HMAC-SHA1 of it under the account's auth token, base64-encoded, travels in
``X-Twilio-Signature``. Twilio is inconsistent about an explicit default port
(``:443``), so a delivery is accepted when the URL matches with or without it,
as the official ``RequestValidator`` does. There is no timestamp: a replay is
caught by the inbox's de-duplication on ``MessageSid``, not here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from caresupport_transport.errors import WebhookVerificationError

__all__ = ["SIGNATURE_HEADER", "TwilioSignatureVerifier", "sign"]

SIGNATURE_HEADER = "X-Twilio-Signature"

_DEFAULT_PORTS = {"https": 443, "http": 80}


def sign(url: str, params: Iterable[tuple[str, str]], auth_token: str) -> str:
    """The ``X-Twilio-Signature`` Twilio sends for a POST of ``params`` to ``url``."""
    grouped: dict[str, set[str]] = {}
    for name, value in params:
        grouped.setdefault(name, set()).add(value)
    signed = url + "".join(
        name + value for name in sorted(grouped) for value in sorted(grouped[name])
    )
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _port_variants(url: str) -> tuple[str, ...]:
    """``url`` as given, without its port, and with the scheme's default port made explicit."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if parts.username is not None:
        return (url,)
    bare = urlunsplit(parts._replace(netloc=host))
    default = _DEFAULT_PORTS.get(parts.scheme)
    port = parts.port if parts.port is not None else default
    with_port = urlunsplit(parts._replace(netloc=f"{host}:{port}")) if port else url
    return tuple(dict.fromkeys((url, bare, with_port)))


class TwilioSignatureVerifier:
    """Checks ``X-Twilio-Signature`` against one or more auth tokens (during a rotation).

    Args:
        auth_tokens: the account auth token(s); none at all refuses every delivery.
    """

    def __init__(self, auth_tokens: str | Iterable[str]) -> None:
        tokens = (auth_tokens,) if isinstance(auth_tokens, str) else tuple(auth_tokens)
        self._tokens = tuple(t for t in tokens if t)

    @property
    def configured(self) -> bool:
        return bool(self._tokens)

    def verify(self, url: str, params: Iterable[tuple[str, str]], signature: str | None) -> None:
        """Accept the delivery or raise.

        Raises:
            WebhookVerificationError: no token configured, no signature, or no match.
        """
        if not self._tokens:
            raise WebhookVerificationError("no secret configured", "no auth token to verify with")
        if not signature:
            raise WebhookVerificationError("missing header", SIGNATURE_HEADER)
        pairs = list(params)
        given = signature.strip().encode()
        for token in self._tokens:
            for candidate in _port_variants(url):
                if hmac.compare_digest(sign(candidate, pairs, token).encode(), given):
                    return
        raise WebhookVerificationError(
            "signature mismatch", "no auth token signs this URL and body"
        )
