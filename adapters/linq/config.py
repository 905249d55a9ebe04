"""Settings of the Linq adapter: credentials, sender line, base URL, timeouts and retry limits.

Configuration is read in one place (the composition root) with
:meth:`LinqConfig.from_env` or :meth:`LinqConfig.from_json_file`; the rest of the
adapter receives a :class:`LinqConfig`. Credentials are held in :class:`Secret`, so
the API token never shows in a ``repr``, a log line or an error message; so is the
event store's URL, which may carry a password.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn, SupportsIndex
from urllib.parse import urlsplit

import attrs

from caresupport_transport.errors import ConfigurationError, InvalidHandleError
from caresupport_transport.handles import Handle
from caresupport_transport.inbound.store import EventStore
from caresupport_transport.inbound.urls import (
    STORE_URL_ENV_VAR,
    check_store_url,
    open_event_store,
)

__all__ = ["DEFAULT_BASE_URL", "HTTP_BACKENDS", "LinqConfig", "Secret"]

DEFAULT_BASE_URL = "https://api.linqapp.com/api/partner"
"""Linq's production server; every API path starts with ``/v3`` below it."""

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_RETRY_BUDGET_SECONDS = 60.0
DEFAULT_BACKOFF_INITIAL_SECONDS = 0.5
DEFAULT_BACKOFF_MAX_SECONDS = 8.0
DEFAULT_MAX_IN_FLIGHT = 20
"""Requests in flight at once over httpx's pool: more than ~20 make httpcore slower."""
DEFAULT_MAX_IN_FLIGHT_AIOHTTP = 50
"""Requests in flight at once over aiohttp, which keeps scaling to ~50 (measured, benchmarks)."""

HTTP_BACKENDS = ("httpx", "aiohttp")
"""What carries ``LinqClient``'s requests: httpx's own pool (httpcore), or aiohttp
under httpx (the ``aiohttp`` extra, ``httpx-aiohttp``); httpx stays the interface."""

_ENV_TOKEN = "LINQ_API_TOKEN"
_ENV_PHONE = "LINQ_PHONE_NUMBER"
_ENV_BASE_URL = "LINQ_BASE_URL"
_ENV_SIGNING_SECRET = "LINQ_WEBHOOK_SIGNING_SECRET"

_JSON_TOKEN = "linq_api_token"
_JSON_PHONE = "linq_phone"
_JSON_BASE_URL = "base_url"
_JSON_SIGNING_SECRET = "webhook_signing_secret"
_JSON_STORE_URL = "store_url"
_ENV_TOKEN_FILE = "LINQ_API_TOKEN_FILE"
_ENV_SIGNING_SECRET_FILE = "LINQ_WEBHOOK_SIGNING_SECRET_FILE"
_JSON_TOKEN_FILE = "linq_api_token_file"
_JSON_SIGNING_SECRET_FILE = "webhook_signing_secret_file"


@attrs.frozen
class _Names:
    """What each setting is called in one source (environment variables or JSON keys)."""

    token: str
    token_file: str
    phone: str
    base_url: str
    signing_secret: str
    signing_secret_file: str
    store_url: str

    def __iter__(self) -> Iterator[str]:
        return iter(attrs.astuple(self))


class Secret:
    """A credential that never shows: read it with :meth:`reveal`.

    ``repr()``, ``str()`` and formatting show ``***``. It is not an attrs class,
    so ``attrs.asdict`` and cattrs keep the object (still ``***``) instead of
    opening it; ``json.dumps`` refuses it (with ``default=str`` it writes
    ``"***"``); ``pickle`` refuses it; ``copy`` and ``deepcopy`` return the same
    immutable object. Equal secrets compare equal (in constant time).
    """

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str) -> None:
        object.__setattr__(self, "_value", value)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, setting: str) -> Secret:
        """The credential held in a file (one line; one trailing newline is dropped).

        Keeps credentials out of ``ps`` and the environment: point ``setting``
        (``LINQ_API_TOKEN_FILE``, ``--secret-file``...) at a file only the service
        can read. The file's content never appears in an error.

        Raises:
            ConfigurationError: naming ``setting`` when the file is missing,
                unreadable, not UTF-8, empty, or holds more than one line.
        """
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigurationError(f"{setting}: the file {str(file)!r} does not exist") from None
        except IsADirectoryError:
            raise ConfigurationError(
                f"{setting}: {str(file)!r} is a directory, not a file"
            ) from None
        except OSError as exc:
            raise ConfigurationError(
                f"{setting}: cannot read the file {str(file)!r} ({exc.strerror})"
            ) from None
        except UnicodeDecodeError:
            raise ConfigurationError(
                f"{setting}: the file {str(file)!r} is not UTF-8 text"
            ) from None
        value = text.removesuffix("\n").removesuffix("\r")
        if not value.strip():
            raise ConfigurationError(f"{setting}: the file {str(file)!r} is empty")
        if "\n" in value or "\r" in value:
            raise ConfigurationError(
                f"{setting}: the file {str(file)!r} must hold the secret on one line"
            )
        return cls(value)

    def reveal(self) -> str:
        """The credential itself: pass it to the wire, never to a log or a message."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __setattr__(self, name: str, value: object) -> None:
        raise attrs.exceptions.FrozenInstanceError()

    def __delattr__(self, name: str) -> None:
        raise attrs.exceptions.FrozenInstanceError()

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: object) -> Secret:
        return self

    def __reduce_ex__(self, protocol: SupportsIndex) -> NoReturn:
        raise TypeError("a Secret cannot be pickled: pass the configuration, not the credential")

    def __getstate__(self) -> NoReturn:
        raise TypeError("a Secret has no state to give away")


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


def _to_store_url(value: str | Secret | None) -> Secret | None:
    """The store URL as a :class:`Secret`, checked as :func:`open_event_store` checks it."""
    if value is None:
        return None
    url = value.reveal() if isinstance(value, Secret) else value
    if not isinstance(url, str):
        raise ConfigurationError("store_url: must be a string")
    if not url.strip():
        return None
    try:
        check_store_url(url.strip())
    except ConfigurationError as exc:
        raise ConfigurationError(f"store_url: {_rule_of(exc)}") from None
    return Secret(url.strip())


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


def _default_max_in_flight(config: LinqConfig) -> int:
    if config.http_backend == "aiohttp":
        return DEFAULT_MAX_IN_FLIGHT_AIOHTTP
    return DEFAULT_MAX_IN_FLIGHT


def _known_backend(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in HTTP_BACKENDS:
        raise ConfigurationError(
            f"http_backend: must be one of {', '.join(HTTP_BACKENDS)}, got {value!r}"
        )


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
            many keep-alive connections (default 20 over httpx, 50 over aiohttp: the
            bounds past which each pool gets slower, measured in ``docs/benchmarks.md``).
        http_backend: ``"httpx"`` (default) or ``"aiohttp"``: aiohttp's connection
            pool under httpx (``pip install "caresupport-transport[aiohttp]"``),
            cheaper per request; ignored when a client is passed as ``http=``.
        store_url: where inbound events are kept, for
            :func:`~caresupport_transport.inbound.open_event_store` (``sqlite:///...``,
            ``postgresql://...``...), or ``None``; a :class:`Secret`, since it may
            carry a password (a plain string is wrapped).

    Raises:
        ConfigurationError: for an empty token, a sender that is not an E.164 number,
            a base URL that is not http(s), a store URL that ``open_event_store``
            would refuse, or a limit out of range.
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
    http_backend: str = attrs.field(default="httpx", validator=_known_backend, kw_only=True)
    max_in_flight: int = attrs.field(
        default=attrs.Factory(_default_max_in_flight, takes_self=True), validator=_at_least_one
    )
    store_url: Secret | None = attrs.field(default=None, converter=_to_store_url)

    async def open_event_store(
        self, *, default: str | None = None, namespace: str = "caresupport"
    ) -> EventStore:
        """Open the event store :attr:`store_url` names (or ``default`` when it is unset).

        The composition root's one call for the inbox's store:
        ``store = await config.open_event_store(default="sqlite:///events.sqlite")``.

        Raises:
            ConfigurationError: no ``store_url`` and no ``default``, or the store's
                own refusals (see :func:`~caresupport_transport.inbound.open_event_store`).
            UnreachableError: a networked store's server did not answer.
        """
        if self.store_url is not None:
            url = self.store_url.reveal()
        elif default is not None:
            url = default
        else:
            raise ConfigurationError(
                f"store_url: not configured; set {STORE_URL_ENV_VAR} or the JSON key "
                f"{_JSON_STORE_URL!r}, or pass a default"
            )
        return await open_event_store(url, namespace=namespace)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> LinqConfig:
        """Read ``LINQ_API_TOKEN`` (required), ``LINQ_PHONE_NUMBER``, ``LINQ_BASE_URL``,
        ``LINQ_WEBHOOK_SIGNING_SECRET`` and ``CARESUPPORT_STORE_URL`` (the event
        store, see :func:`~caresupport_transport.inbound.open_event_store`); empty
        values count as unset.

        ``LINQ_API_TOKEN_FILE`` and ``LINQ_WEBHOOK_SIGNING_SECRET_FILE`` name a file
        holding the credential instead (see :meth:`Secret.from_file`), so it is in
        neither ``ps`` nor the environment; giving both a value and its file is an error.

        Raises:
            ConfigurationError: naming the variable that is missing or malformed.
        """
        values = {name: environ.get(name, "").strip() for name in _ENV_NAMES}
        return _build(
            values, names=_ENV_NAMES, describe=lambda name: f"environment variable {name}"
        )

    @classmethod
    def from_json_file(cls, path: str | os.PathLike[str]) -> LinqConfig:
        """Read the JSON file CareSupport already uses.

        Keys: ``linq_api_token`` (required), ``linq_phone``, ``base_url`` (with or
        without ``/v3``), ``webhook_signing_secret`` and ``store_url`` (the event
        store, see :func:`~caresupport_transport.inbound.open_event_store`); other
        keys are ignored.
        ``linq_api_token_file`` and ``webhook_signing_secret_file`` name a file
        holding the credential instead (a relative path is read from the JSON
        file's directory).

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
        for key in (_JSON_TOKEN_FILE, _JSON_SIGNING_SECRET_FILE):
            if values[key] and not Path(values[key]).is_absolute():
                values[key] = str(file.parent / values[key])
        return _build(values, names=_JSON_NAMES, describe=lambda key: f"key {key} in {file}")


_ENV_NAMES = _Names(
    token=_ENV_TOKEN,
    token_file=_ENV_TOKEN_FILE,
    phone=_ENV_PHONE,
    base_url=_ENV_BASE_URL,
    signing_secret=_ENV_SIGNING_SECRET,
    signing_secret_file=_ENV_SIGNING_SECRET_FILE,
    store_url=STORE_URL_ENV_VAR,
)
_JSON_NAMES = _Names(
    token=_JSON_TOKEN,
    token_file=_JSON_TOKEN_FILE,
    phone=_JSON_PHONE,
    base_url=_JSON_BASE_URL,
    signing_secret=_JSON_SIGNING_SECRET,
    signing_secret_file=_JSON_SIGNING_SECRET_FILE,
    store_url=_JSON_STORE_URL,
)


def _build(
    values: Mapping[str, str], *, names: _Names, describe: Callable[[str], str]
) -> LinqConfig:
    token = _secret(values, names.token, names.token_file, describe)
    if token is None:
        raise ConfigurationError(
            f"{describe(names.token)} is missing or empty (or give {names.token_file}): "
            "the Linq API token"
        )
    signing_secret = _secret(values, names.signing_secret, names.signing_secret_file, describe)
    try:
        phone = _to_phone(values[names.phone] or None)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{describe(names.phone)}: {_rule_of(exc)}") from None
    try:
        base_url = _normalise_base_url(values[names.base_url] or DEFAULT_BASE_URL)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{describe(names.base_url)}: {_rule_of(exc)}") from None
    try:
        store_url = _to_store_url(values[names.store_url] or None)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{describe(names.store_url)}: {_rule_of(exc)}") from None
    return LinqConfig(
        api_token=token,
        phone_number=phone,
        base_url=base_url,
        webhook_signing_secret=signing_secret,
        store_url=store_url,
    )


def _secret(
    values: Mapping[str, str], name: str, file_name: str, describe: Callable[[str], str]
) -> Secret | None:
    """The credential from ``name`` or from the file ``file_name`` points at; not both."""
    value, file = values[name], values[file_name]
    if value and file:
        raise ConfigurationError(
            f"{describe(name)} and {describe(file_name)} are both set: give the secret "
            f"or the file holding it, not both"
        )
    if file:
        return Secret.from_file(file, setting=describe(file_name))
    return Secret(value) if value else None


def _rule_of(exc: ConfigurationError) -> str:
    return str(exc).split(": ", 1)[-1]
