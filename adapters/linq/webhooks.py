"""Verify (and sign) Linq webhook deliveries, before anything parses them.

Linq signs each delivery two ways; a delivery is genuine when either verifies.

Standard Webhooks (current)
    Headers ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and
    ``webhook-signature``: space-separated ``v1,<base64>`` entries, each an
    HMAC-SHA256 of ``{webhook-id}.{webhook-timestamp}.{raw body}``. The key is the
    base64-decoded secret after its ``whsec_`` prefix. A secret *without* the
    prefix is read the way the ``standardwebhooks`` reference package reads it:
    base64 when it decodes as base64, otherwise (it holds characters base64 does
    not use) its UTF-8 bytes.

Legacy (deprecated, still sent)
    Headers ``X-Webhook-Timestamp`` and ``X-Webhook-Signature`` (older CareSupport
    code called them ``X-Linq-Timestamp`` / ``X-Linq-Signature``; both names are
    accepted): the hex HMAC-SHA256 of ``{timestamp}.{raw body}`` keyed with the
    UTF-8 bytes of the secret string as given (prefix and all), optionally
    written ``sha256=<hex>``.

When a delivery carries the complete Standard Webhooks headers, only that scheme
decides (the legacy headers are ignored); otherwise the complete legacy pair
decides. Header names are case-insensitive. Secrets are stripped of surrounding
whitespace (a secret read from a file or an environment variable often ends in a
newline). Several secrets may be configured at once (rotation): a delivery signed
with any of them verifies.

There is deliberately no switch that turns verification off: a verifier with no
secret refuses every delivery.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

from caresupport_transport.errors import (
    ConfigurationError,
    ValidationError,
    WebhookVerificationError,
)

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "Headers",
    "RawHeaders",
    "SignedHeaders",
    "WebhookVerificationError",
    "WebhookVerifier",
    "header_text",
    "sign_legacy",
    "sign_standard",
]

DEFAULT_TOLERANCE_SECONDS = 300
"""How far a delivery's timestamp may be from now, either way, in seconds."""

_SECRET_PREFIX = "whsec_"
_STANDARD_ID = "webhook-id"
_STANDARD_TIMESTAMP = "webhook-timestamp"
_STANDARD_SIGNATURE = "webhook-signature"
_STANDARD_HEADERS = (_STANDARD_ID, _STANDARD_TIMESTAMP, _STANDARD_SIGNATURE)
_LEGACY_PREFIXES = ("X-Webhook", "X-Linq")
_LEGACY_TIMESTAMPS = tuple(f"{prefix}-Timestamp" for prefix in _LEGACY_PREFIXES)
_LEGACY_SIGNATURES = tuple(f"{prefix}-Signature" for prefix in _LEGACY_PREFIXES)
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}", re.ASCII)
_HEX_SHA256 = re.compile(r"(?:sha256=)?([0-9a-f]{64})", re.ASCII | re.IGNORECASE)

RawHeaders = Iterable[tuple[bytes, bytes]]
"""Headers as an ASGI server hands them over: (name, value) pairs of raw bytes."""

Headers = Mapping[str, str] | Iterable[tuple[str, str]] | RawHeaders
"""Request headers: a mapping or (name, value) pairs, as text or as raw (Latin-1) bytes."""


@attrs.frozen(repr=False)
class _Key:
    """The two HMAC keys one configured secret yields."""

    standard: bytes
    legacy: bytes


def _b64decode(text: str) -> bytes:
    """Strict base64 that tolerates missing padding (as the reference package does)."""
    unpadded = text.rstrip("=")
    return binascii.a2b_base64(unpadded + "=" * (-len(unpadded) % 4), strict_mode=True)


def _key_for(secret: str) -> _Key:
    if secret.startswith(_SECRET_PREFIX):
        try:
            standard = _b64decode(secret[len(_SECRET_PREFIX) :])
        except (binascii.Error, ValueError):
            raise ConfigurationError(
                "webhook secret: the part after 'whsec_' is not base64"
            ) from None
    else:
        try:
            standard = _b64decode(secret)
        except (binascii.Error, ValueError):
            standard = b""
        standard = standard or secret.encode("utf-8")
    if not standard:
        raise ConfigurationError("webhook secret: decodes to an empty key")
    return _Key(standard=standard, legacy=secret.encode("utf-8"))


def _secret_text(secret: object) -> str:
    if not isinstance(secret, str):
        raise ConfigurationError(f"webhook secret: must be a string, not {type(secret).__name__}")
    try:
        secret.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigurationError("webhook secret: is not valid text") from None
    return secret.strip()


@attrs.frozen(repr=False)
class SignedHeaders:
    """A delivery's signing headers as :meth:`WebhookVerifier.read_headers` read them.

    Not proof of anything: :meth:`WebhookVerifier.verify` checks the body
    against it. The offered signatures are kept out of ``repr``.

    Attributes:
        standard: Standard Webhooks (``True``) or the legacy scheme.
        prefix: what precedes the body in the signed content.
        moment: the signed Unix time.
        offered: the signatures the delivery offers.
        timestamp_header: the timestamp header's name (for error details).
        signature_header: the signature header's name (for error details).
    """

    standard: bool
    prefix: bytes
    moment: int
    offered: tuple[bytes, ...]
    timestamp_header: str
    signature_header: str

    def __repr__(self) -> str:
        scheme = "standard" if self.standard else "legacy"
        return f"SignedHeaders({scheme}, moment={self.moment})"


class WebhookVerifier:
    """Checks that a delivery came from Linq, untouched and recently.

    Args:
        secrets: the signing secret, or several during a rotation. ``None``, an
            empty list or blank strings leave the verifier unconfigured, and an
            unconfigured verifier refuses everything.
        tolerance: how many seconds a delivery's timestamp may lie from the
            clock's now, in the past (replay) or the future (skew).
        clock: returns the current Unix time in seconds (inject one in tests).

    Raises:
        ConfigurationError: for a secret that is not a string, a ``whsec_``
            secret that is not base64, or a tolerance that is not a finite,
            positive number of seconds (a bool is refused).
    """

    def __init__(
        self,
        secrets: str | Sequence[str] | None,
        *,
        tolerance: float = DEFAULT_TOLERANCE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float):
            raise ConfigurationError(
                f"tolerance: must be a number of seconds, not {type(tolerance).__name__}"
            )
        if not math.isfinite(tolerance) or tolerance <= 0:
            # 0 would refuse every genuine delivery: none arrives in the second it was signed.
            raise ConfigurationError(
                f"tolerance: must be a finite, positive number of seconds, got {tolerance!r}"
            )
        given: Sequence[object] = (
            () if secrets is None else (secrets,) if isinstance(secrets, str) else secrets
        )
        texts = [_secret_text(secret) for secret in given]
        self._keys = tuple(_key_for(text) for text in texts if text)
        self._tolerance = float(tolerance)
        self._clock = clock

    def __repr__(self) -> str:
        return f"WebhookVerifier(secrets=<{len(self._keys)} hidden>, tolerance={self._tolerance})"

    @property
    def configured(self) -> bool:
        """Whether at least one secret was given; an unconfigured verifier refuses all."""
        return bool(self._keys)

    @property
    def tolerance(self) -> float:
        """How far, in seconds, a delivery's timestamp may be from now (either way)."""
        return self._tolerance

    def verify(self, body: bytes, headers: Headers | SignedHeaders) -> None:
        """Check one delivery's raw body against its headers; return only if genuine.

        Standard Webhooks headers are preferred when complete; see the module
        docstring for both schemes.

        Args:
            body: the request body exactly as received (never re-serialised JSON).
            headers: the request headers, as a mapping or as (name, value) pairs
                (names and values as text or as raw bytes), or what
                :meth:`read_headers` read from them.

        Raises:
            WebhookVerificationError: with ``reason`` ``"no secret configured"``,
                ``"missing header"``, ``"malformed"``, ``"signature mismatch"`` or
                ``"stale"``; the detail names the header, never a secret or the
                expected signature.
        """
        if not isinstance(body, bytes | bytearray | memoryview):
            raise TypeError(f"body must be the raw bytes, not {type(body).__name__}")
        signed = headers if isinstance(headers, SignedHeaders) else self.read_headers(headers)
        if not self._keys:
            raise WebhookVerificationError("no secret configured")
        content = signed.prefix + bytes(body)
        matched = False
        for key in self._keys:
            secret = key.standard if signed.standard else key.legacy
            expected = hmac.new(secret, content, hashlib.sha256).digest()
            for candidate in signed.offered:
                matched |= hmac.compare_digest(expected, candidate)
        if not matched:
            raise WebhookVerificationError("signature mismatch", signed.signature_header)
        self._check_fresh(signed.moment, signed.timestamp_header)

    def read_headers(self, headers: Headers) -> SignedHeaders:
        """Read the signing headers once, checking what the headers alone can show.

        A receiver calls this before reading the body, to refuse at once a
        request that cannot be a delivery, and passes the result to
        :meth:`verify` (the headers are not read twice). Nothing here proves
        the delivery genuine: only :meth:`verify` does.

        Raises:
            WebhookVerificationError: ``"no secret configured"``, ``"missing
                header"`` or ``"malformed"`` (the reasons that do not depend on
                the body).
        """
        if not self._keys:
            raise WebhookVerificationError("no secret configured")
        found = _read_headers(headers)
        msg_id = found.get(_STANDARD_ID)
        timestamp = found.get(_STANDARD_TIMESTAMP)
        signature = found.get(_STANDARD_SIGNATURE)
        if msg_id and timestamp and signature:
            moment = _unix_seconds(timestamp, _STANDARD_TIMESTAMP)
            offered = _standard_signatures(signature)
            prefix = _utf8(msg_id, _STANDARD_ID) + b"." + timestamp.encode("ascii") + b"."
            return SignedHeaders(
                standard=True,
                prefix=prefix,
                moment=moment,
                offered=tuple(offered),
                timestamp_header=_STANDARD_TIMESTAMP,
                signature_header=_STANDARD_SIGNATURE,
            )
        standard = (msg_id, timestamp, signature)
        legacy_timestamp = _first(found, _LEGACY_TIMESTAMPS)
        legacy_signature = _first(found, _LEGACY_SIGNATURES)
        if legacy_timestamp and legacy_signature:
            (timestamp_header, timestamp_text), (signature_header, signature_text) = (
                legacy_timestamp,
                legacy_signature,
            )
            moment = _unix_seconds(timestamp_text, timestamp_header)
            hex_digest = _HEX_SHA256.fullmatch(signature_text)
            if hex_digest is None:
                raise WebhookVerificationError(
                    "malformed", f"{signature_header} is not a hex HMAC-SHA256 (64 hex digits)"
                )
            return SignedHeaders(
                standard=False,
                prefix=timestamp_text.encode("ascii") + b".",
                moment=moment,
                offered=(bytes.fromhex(hex_digest.group(1)),),
                timestamp_header=timestamp_header,
                signature_header=signature_header,
            )
        if any(standard):
            missing = [
                name for name, value in zip(_STANDARD_HEADERS, standard, strict=True) if not value
            ]
            raise WebhookVerificationError("missing header", ", ".join(missing))
        if legacy_timestamp:
            prefix_name = legacy_timestamp[0].removesuffix("-Timestamp")
            raise WebhookVerificationError("missing header", f"{prefix_name}-Signature")
        if legacy_signature:
            prefix_name = legacy_signature[0].removesuffix("-Signature")
            raise WebhookVerificationError("missing header", f"{prefix_name}-Timestamp")
        raise WebhookVerificationError(
            "missing header", "webhook-signature (or X-Webhook-Signature)"
        )

    def _check_fresh(self, moment: int, header: str) -> None:
        skew = self._clock() - moment
        if skew > self._tolerance:
            raise WebhookVerificationError(
                "stale", f"{header} is {skew:.0f} s old; the tolerance is {self._tolerance:g} s"
            )
        if -skew > self._tolerance:
            raise WebhookVerificationError(
                "stale",
                f"{header} is {-skew:.0f} s in the future; the tolerance is {self._tolerance:g} s",
            )


_SIGNING_HEADERS = frozenset(
    name.lower() for name in (*_STANDARD_HEADERS, *_LEGACY_TIMESTAMPS, *_LEGACY_SIGNATURES)
)
_SIGNING_HEADER_BYTES = frozenset(name.encode("ascii") for name in _SIGNING_HEADERS)


def _read_headers(headers: Headers) -> dict[str, str]:
    """The signing headers: lower-cased names to stripped values; two values of one is malformed.

    Other headers are skipped without being decoded (an ASGI request carries
    a dozen, as bytes).
    """
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    found: dict[str, str] = {}
    for raw_name, raw_value in pairs:
        if isinstance(raw_name, str):
            name = raw_name.lower()
            if name not in _SIGNING_HEADERS:
                name = name.strip()
                if name not in _SIGNING_HEADERS:
                    continue
        else:
            lowered = raw_name.lower()
            if lowered not in _SIGNING_HEADER_BYTES:
                lowered = lowered.strip()
                if lowered not in _SIGNING_HEADER_BYTES:
                    continue
            name = lowered.decode("ascii")
        value = header_text(raw_value).strip()
        if name in found and found[name] != value:
            raise WebhookVerificationError("malformed", f"header {name} given twice")
        found[name] = value
    return found


def header_text(value: str | bytes) -> str:
    """A header value as text (ASGI hands over raw bytes; HTTP header bytes are Latin-1)."""
    return value.decode("latin-1") if isinstance(value, bytes | bytearray) else value


def _first(found: Mapping[str, str], names: Sequence[str]) -> tuple[str, str] | None:
    """The first of ``names`` present with a value, as (display name, value)."""
    for name in names:
        value = found.get(name.lower())
        if value:
            return name, value
    return None


def _utf8(value: str, header: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise WebhookVerificationError("malformed", f"{header} is not valid text") from None


def _unix_seconds(value: str, header: str) -> int:
    if _UNIX_SECONDS.fullmatch(value) is None:
        raise WebhookVerificationError("malformed", f"{header} is not a Unix time in seconds")
    return int(value)


def _standard_signatures(value: str) -> list[bytes]:
    """The decoded ``v1`` entries; other versions are skipped (forward compatible)."""
    decoded: list[bytes] = []
    for entry in value.split():
        version, comma, encoded = entry.partition(",")
        if version != "v1" or not comma:
            continue
        try:
            signature = _b64decode(encoded)
        except (binascii.Error, ValueError):
            continue
        if signature:
            decoded.append(signature)
    if not decoded:
        raise WebhookVerificationError(
            "malformed", f"{_STANDARD_SIGNATURE} has no valid 'v1,<base64>' entry"
        )
    return decoded


def sign_standard(body: bytes, secret: str, *, msg_id: str, timestamp: int) -> dict[str, str]:
    """The three Standard Webhooks headers Linq would send with ``body``.

    Args:
        body: the raw body to sign.
        secret: a ``whsec_<base64>`` secret (read as :class:`WebhookVerifier` reads it).
        msg_id: the ``webhook-id`` (Linq uses a unique id per delivery).
        timestamp: Unix seconds.

    Raises:
        ConfigurationError: for a secret that is empty or not usable.
        ValidationError: for an empty or padded ``msg_id`` (header values arrive
            stripped) or a negative timestamp.
    """
    key = _signing_key(secret)
    if not msg_id or msg_id != msg_id.strip():
        raise ValidationError("msg_id", "must be non-empty, without surrounding whitespace")
    try:
        encoded_id = msg_id.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("msg_id", "is not valid text") from None
    stamp = _timestamp_text(timestamp)
    content = encoded_id + b"." + stamp.encode("ascii") + b"." + bytes(body)
    digest = hmac.new(key.standard, content, hashlib.sha256).digest()
    return {
        _STANDARD_ID: msg_id,
        _STANDARD_TIMESTAMP: stamp,
        _STANDARD_SIGNATURE: "v1," + base64.b64encode(digest).decode("ascii"),
    }


def sign_legacy(
    body: bytes, secret: str, *, timestamp: int, header_prefix: str = "X-Webhook"
) -> dict[str, str]:
    """The legacy ``{prefix}-Timestamp`` and ``{prefix}-Signature`` (hex) headers.

    Args:
        header_prefix: ``"X-Webhook"`` (what Linq sends) or ``"X-Linq"`` (the name
            older CareSupport code used).

    Raises:
        ConfigurationError: for a secret that is empty or not usable.
        ValidationError: for another prefix or a negative timestamp.
    """
    key = _signing_key(secret)
    if header_prefix not in _LEGACY_PREFIXES:
        raise ValidationError("header_prefix", f"must be one of {', '.join(_LEGACY_PREFIXES)}")
    stamp = _timestamp_text(timestamp)
    content = stamp.encode("ascii") + b"." + bytes(body)
    digest = hmac.new(key.legacy, content, hashlib.sha256).hexdigest()
    return {f"{header_prefix}-Timestamp": stamp, f"{header_prefix}-Signature": digest}


def _signing_key(secret: str) -> _Key:
    text = _secret_text(secret)
    if not text:
        raise ConfigurationError("webhook secret: must not be empty")
    return _key_for(text)


def _timestamp_text(timestamp: int) -> str:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValidationError("timestamp", "must be a non-negative integer of Unix seconds")
    return str(timestamp)
