"""Settings of the Linq adapter: credentials, sender line, base URL, timeouts and retry limits.

Configuration is read in one place (the composition root) with
:meth:`LinqConfig.from_env` or :meth:`LinqConfig.from_json_file`; the rest of the
adapter receives a :class:`LinqConfig`. Credentials are held in :class:`Secret`, so
the API token never shows in a ``repr``, a log line or an error message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from caresupport_transport.errors import ConfigurationError, InvalidHandleError
from caresupport_transport.handles import Handle

__all__ = ["DEFAULT_BASE_URL", "LinqConfig", "Secret"]

DEFAULT_BASE_URL = "https://api.linqapp.com/api/partner"
"""Linq's production server; every API path starts with ``/v3`` below it."""

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_RETRY_BUDGET_SECONDS = 60.0
DEFAULT_BACKOFF_INITIAL_SECONDS = 0.5
DEFAULT_BACKOFF_MAX_SECONDS = 8.0
DEFAULT_MAX_IN_FLIGHT = 20

_ENV_TOKEN = "LINQ_API_TOKEN"
_ENV_PHONE = "LINQ_PHONE_NUMBER"
_ENV_BASE_URL = "LINQ_BASE_URL"
_ENV_SIGNING_SECRET = "LINQ_WEBHOOK_SIGNING_SECRET"

_JSON_TOKEN = "linq_api_token"
_JSON_PHONE = "linq_phone"
_JSON_BASE_URL = "base_url"
_JSON_SIGNING_SECRET = "webhook_signing_secret"


@attrs.frozen(repr=False)
class Secret:
    """A credential that ``repr()`` and ``str()`` never reveal; read it with :meth:`reveal`."""

    _value: str = attrs.field(alias="value")

    def reveal(self) -> str:
        """The credential itself: pass it to the wire, never to a log or a message."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"


def _to_token(value: str | Secret) -> Secret:
    secret = value if isinstance(value, Secret) else Secret(value)
    if not isinstance(secret.reveal(), str) or not secret.reveal().strip():
        raise ConfigurationError("api_token: the Linq API token must not be empty")
    return secret


def _to_optional_secret(value: str | Secret | None) -> Secret | None:
    if value is None or isinstance(value, Secret):
        return value
    if not isinstance(value, str):
        raise ConfigurationError("webhook_signing_secret: must be a string")
    return Secret(value) if value.strip() else None


def _to_phone(value: Handle | str | None) -> Handle | None:
    if value is None or (isinstance(value, Handle) and value.is_phone):
        return value
    try:
        handle = value if isinstance(value, Handle) else Handle(value)
    except InvalidHandleError as exc:
        if isinstance(value, str) and _looks_like_a_number(value):
            raise ConfigurationError(f"phone_number: {exc.rule}") from None
        # Not even number-like: perhaps the token in the wrong variable; not repeated.
        raise ConfigurationError(
            "phone_number: is not an E.164 phone number (+ then 2 to 15 digits)"
        ) from None
    if not handle.is_phone:
        raise ConfigurationError(
            f"phone_number: {handle.value!r} is not an E.164 phone number (the sender line)"
        )
    return handle


_NUMBER_CHARACTERS = frozenset("0123456789+-(). ")


def _looks_like_a_number(value: str) -> bool:
    return len(value) <= 32 and set(value) <= _NUMBER_CHARACTERS


def _normalise_base_url(value: str) -> str:
    """Drop a trailing ``/`` and ``/v3``: CareSupport's files name the URL with and without it."""
    if not isinstance(value, str):
        raise ConfigurationError("base_url: must be a string")
    url = value.strip().rstrip("/")
    if url.endswith("/v3"):
        url = url[: -len("/v3")].rstrip("/")
    parts = urlsplit(url)
    # The messages never repeat the value: a URL carrying credentials, or the token
    # pasted into the wrong variable, would end up in a log.
    if "@" in parts.netloc:
        raise ConfigurationError(
            "base_url: must not carry credentials (user@ or user:password@); "
            "the API token goes in api_token"
        )
    if parts.scheme not in ("https", "http") or not parts.netloc:
        scheme = f"its scheme is {parts.scheme!r}" if parts.scheme else "it has no scheme"
        raise ConfigurationError(f"base_url: is not an http(s) URL with a host ({scheme})")
    if parts.query or parts.fragment:
        raise ConfigurationError("base_url: must not carry a query or a fragment")
    return url


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(f"{attribute.name}: must be a number above 0, got {value!r}")


def _at_least_one(instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"{attribute.name}: must be an integer of at least 1, got {value!r}"
        )


@attrs.frozen
class LinqConfig:
    """How to reach Linq and how hard to try.

    Attributes:
        api_token: the partner API token (a :class:`Secret`; a plain string is wrapped).
        phone_number: the default sender line (``from``), an E.164 number, or ``None``.
        base_url: the server, without ``/v3`` (a trailing ``/v3`` is removed).
        webhook_signing_secret: the subscription's signing secret, for the webhook receiver.
        timeout_seconds: the most one attempt may take, waiting for an in-flight slot included.
        max_attempts: attempts per call, the first included (1 disables retries).
        retry_budget_seconds: the most one call may spend waiting between attempts
            (backoff and ``Retry-After`` together); a longer ``Retry-After`` raises
            :class:`~caresupport_transport.errors.RateLimitedError` instead of sleeping.
        backoff_initial_seconds: the backoff before the second attempt (before jitter).
        backoff_max_seconds: the longest backoff between two attempts (before jitter).
        max_in_flight: requests in flight at once; the connection pool keeps at least as
            many keep-alive connections.

    Raises:
        ConfigurationError: for an empty token, a sender that is not an E.164 number,
            a base URL that is not http(s), or a limit out of range.
    """

    api_token: Secret = attrs.field(converter=_to_token)
    phone_number: Handle | None = attrs.field(default=None, converter=_to_phone)
    base_url: str = attrs.field(default=DEFAULT_BASE_URL, converter=_normalise_base_url)
    webhook_signing_secret: Secret | None = attrs.field(default=None, converter=_to_optional_secret)
    timeout_seconds: float = attrs.field(default=DEFAULT_TIMEOUT_SECONDS, validator=_positive)
    max_attempts: int = attrs.field(default=DEFAULT_MAX_ATTEMPTS, validator=_at_least_one)
    retry_budget_seconds: float = attrs.field(
        default=DEFAULT_RETRY_BUDGET_SECONDS, validator=_positive
    )
    backoff_initial_seconds: float = attrs.field(
        default=DEFAULT_BACKOFF_INITIAL_SECONDS, validator=_positive
    )
    backoff_max_seconds: float = attrs.field(
        default=DEFAULT_BACKOFF_MAX_SECONDS, validator=_positive
    )
    max_in_flight: int = attrs.field(default=DEFAULT_MAX_IN_FLIGHT, validator=_at_least_one)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> LinqConfig:
        """Read ``LINQ_API_TOKEN`` (required), ``LINQ_PHONE_NUMBER``, ``LINQ_BASE_URL``
        and ``LINQ_WEBHOOK_SIGNING_SECRET``; empty values count as unset.

        Raises:
            ConfigurationError: naming the variable that is missing or malformed.
        """
        values = {name: environ.get(name, "").strip() for name in _ENV_NAMES}
        return _build(values, names=_ENV_NAMES, source="environment variable")

    @classmethod
    def from_json_file(cls, path: str | os.PathLike[str]) -> LinqConfig:
        """Read the JSON file CareSupport already uses.

        Keys: ``linq_api_token`` (required), ``linq_phone``, ``base_url`` (with or
        without ``/v3``) and ``webhook_signing_secret``; other keys are ignored.

        Raises:
            ConfigurationError: naming the file and the key that is missing or malformed.
        """
        file = Path(path)
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigurationError(f"{file}: cannot read ({exc.strerror})") from None
        except ValueError:
            raise ConfigurationError(f"{file}: not valid JSON") from None
        if not isinstance(document, dict):
            raise ConfigurationError(f"{file}: must hold a JSON object")
        values: dict[str, str] = {}
        for key in _JSON_NAMES:
            value = document.get(key)
            if value is not None and not isinstance(value, str):
                raise ConfigurationError(f"{file}: key {key!r} must be a string")
            values[key] = (value or "").strip()
        return _build(values, names=_JSON_NAMES, source=f"key in {file}")


_ENV_NAMES = (_ENV_TOKEN, _ENV_PHONE, _ENV_BASE_URL, _ENV_SIGNING_SECRET)
_JSON_NAMES = (_JSON_TOKEN, _JSON_PHONE, _JSON_BASE_URL, _JSON_SIGNING_SECRET)


def _build(
    values: Mapping[str, str], *, names: tuple[str, str, str, str], source: str
) -> LinqConfig:
    token_name, phone_name, url_name, secret_name = names
    if not values[token_name]:
        raise ConfigurationError(f"{source} {token_name} is missing or empty: the Linq API token")
    try:
        phone = _to_phone(values[phone_name] or None)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{source} {phone_name}: {_rule_of(exc)}") from None
    try:
        base_url = _normalise_base_url(values[url_name] or DEFAULT_BASE_URL)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{source} {url_name}: {_rule_of(exc)}") from None
    return LinqConfig(
        api_token=values[token_name],
        phone_number=phone,
        base_url=base_url,
        webhook_signing_secret=values[secret_name] or None,
    )


def _rule_of(exc: ConfigurationError) -> str:
    return str(exc).split(": ", 1)[-1]
