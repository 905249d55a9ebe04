"""``TwilioConfig``: the account, the credentials and the sender, from env or JSON."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from adapters.linq.config import Secret
from caresupport_transport.errors import ConfigurationError
from caresupport_transport.handles import Handle

__all__ = ["DEFAULT_BASE_URL", "TwilioConfig"]

DEFAULT_BASE_URL = "https://api.twilio.com"

_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_API_KEY = re.compile(r"SK[0-9a-fA-F]{32}")
_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")


def _check(value: str | None, pattern: re.Pattern[str], setting: str) -> None:
    if value is not None and not pattern.fullmatch(value):
        raise ConfigurationError(f"{setting}: not a Twilio id of the form {pattern.pattern}")


@attrs.frozen
class TwilioConfig:
    """How to reach one Twilio account and send from it.

    Auth is the account SID with its auth token, or an API key (``SK...``) with
    its secret; webhooks are always signed with the *auth token*, so the
    receiver needs it either way. Messages go ``From`` our number or through a
    Messaging Service (``MG...``); ``from_number`` is our line in either case
    when known (inbound messages are addressed to it).

    Attributes:
        account_sid: ``AC`` and 32 hex digits.
        auth_token: signs webhooks; authenticates the API unless an API key is given.
        api_key, api_secret: an API key and its secret (both or neither).
        from_number: our Twilio number, E.164.
        messaging_service_sid: a Messaging Service to send through instead of ``From``.
        status_callback_url: where Twilio posts status callbacks (the receiver's URL).
        base_url: the API's origin (the simulator's in tests).

    Raises:
        ConfigurationError: a malformed id, half an API key, or no sender at all.
    """

    account_sid: str
    auth_token: Secret
    from_number: Handle | None = None
    messaging_service_sid: str | None = None
    api_key: str | None = None
    api_secret: Secret | None = None
    status_callback_url: str | None = None
    base_url: str = DEFAULT_BASE_URL

    def __attrs_post_init__(self) -> None:
        _check(self.account_sid, _ACCOUNT_SID, "TWILIO_ACCOUNT_SID")
        _check(self.api_key, _API_KEY, "TWILIO_API_KEY")
        _check(self.messaging_service_sid, _SERVICE_SID, "TWILIO_MESSAGING_SERVICE_SID")
        if (self.api_key is None) != (self.api_secret is None):
            raise ConfigurationError("TWILIO_API_KEY and TWILIO_API_SECRET go together")
        if self.from_number is None and self.messaging_service_sid is None:
            raise ConfigurationError("set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
        if self.from_number is not None and not self.from_number.is_phone:
            raise ConfigurationError("TWILIO_FROM: not an E.164 phone number")

    @property
    def basic_auth(self) -> tuple[str, str]:
        """The HTTP basic-auth pair: the API key when there is one, else the account."""
        if self.api_key is not None and self.api_secret is not None:
            return self.api_key, self.api_secret.reveal()
        return self.account_sid, self.auth_token.reveal()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> TwilioConfig:
        """Read ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``, ``TWILIO_API_KEY`` /
        ``TWILIO_API_SECRET``, ``TWILIO_FROM`` or ``TWILIO_MESSAGING_SERVICE_SID``,
        ``TWILIO_STATUS_CALLBACK_URL`` and ``TWILIO_BASE_URL``; empty counts as unset.

        Raises:
            ConfigurationError: naming the variable that is missing or malformed.
        """

        def get(env_name: str, json_name: str) -> str | None:
            return environ.get(env_name) or None

        return cls._build(get, "the environment")

    @classmethod
    def from_json_file(cls, path: str | os.PathLike[str]) -> TwilioConfig:
        """Read the ``twilio`` object of CareSupport's JSON config file.

        Keys: ``account_sid``, ``auth_token``, ``api_key``, ``api_secret``,
        ``from``, ``messaging_service_sid``, ``status_callback_url``, ``base_url``.

        Raises:
            ConfigurationError: naming the file and the key that is missing or malformed.
        """
        try:
            document: Any = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigurationError(f"{path}: cannot read the JSON config") from exc
        section = document.get("twilio") if isinstance(document, dict) else None
        if not isinstance(section, dict):
            raise ConfigurationError(f"{path}: no 'twilio' object")

        def get(env_name: str, json_name: str) -> str | None:
            value = section.get(json_name)
            if value is not None and not isinstance(value, str):
                raise ConfigurationError(f"{path}: twilio.{json_name} must be a string")
            return value or None

        return cls._build(get, str(path))

    @classmethod
    def _build(cls, key: Callable[[str, str], str | None], source: str) -> TwilioConfig:
        """One construction for both sources; ``key(env_name, json_name)`` reads a setting."""

        sid = key("TWILIO_ACCOUNT_SID", "account_sid")
        token = key("TWILIO_AUTH_TOKEN", "auth_token")
        if sid is None or token is None:
            missing = "TWILIO_ACCOUNT_SID" if sid is None else "TWILIO_AUTH_TOKEN"
            raise ConfigurationError(f"{source}: {missing} is required")
        sender = key("TWILIO_FROM", "from")
        secret = key("TWILIO_API_SECRET", "api_secret")
        try:
            return cls(
                account_sid=sid,
                auth_token=Secret(token),
                from_number=Handle(sender) if sender is not None else None,
                messaging_service_sid=key("TWILIO_MESSAGING_SERVICE_SID", "messaging_service_sid"),
                api_key=key("TWILIO_API_KEY", "api_key"),
                api_secret=Secret(secret) if secret is not None else None,
                status_callback_url=key("TWILIO_STATUS_CALLBACK_URL", "status_callback_url"),
                base_url=key("TWILIO_BASE_URL", "base_url") or DEFAULT_BASE_URL,
            )
        except ValueError as exc:
            raise ConfigurationError(f"{source}: {exc}") from exc
