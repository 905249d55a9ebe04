"""Handles: who a message goes to, as an E.164 phone number or an email address."""

from __future__ import annotations

import enum
import re

import attrs

from caresupport_transport.errors import InvalidHandleError

__all__ = ["E164_PATTERN", "Handle", "HandleKind", "parse_handle"]

E164_PATTERN = re.compile(r"^\+[1-9][0-9]{1,14}$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL_PATTERN = re.compile(rf"^[^@\s<>()\[\],;:\"]+@{_LABEL}(?:\.{_LABEL})+$")
_MAX_EMAIL_LENGTH = 254
_PHONE_PUNCTUATION = re.compile(r"[\s().\-/]")
_RULE = "is not an E.164 phone number (^\\+[1-9][0-9]{1,14}$) nor an email address"


class HandleKind(enum.Enum):
    """What a handle addresses."""

    PHONE = "phone"
    EMAIL = "email"


def _classify(value: str) -> HandleKind:
    if E164_PATTERN.fullmatch(value):
        return HandleKind.PHONE
    if len(value) <= _MAX_EMAIL_LENGTH and _EMAIL_PATTERN.fullmatch(value):
        return HandleKind.EMAIL
    raise InvalidHandleError(value, _RULE)


def _normalise(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidHandleError(value, "is not a string")
    # Classify before lower-casing, so an error names the value exactly as given.
    _classify(value)
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local}@{domain.lower()}"
    return value


@attrs.frozen(order=True)
class Handle:
    """A validated address: ``+16517037981`` or ``care@example.org``.

    A ``Handle`` that exists is valid: construction raises
    :class:`InvalidHandleError` (a ``ValueError``) naming the value and the rule.
    Email domains are lower-cased so that equal addresses compare equal.
    """

    value: str = attrs.field(converter=_normalise)
    kind: HandleKind = attrs.field(init=False, eq=False, order=False)

    @kind.default
    def _kind_default(self) -> HandleKind:
        return _classify(self.value)

    @property
    def is_phone(self) -> bool:
        return self.kind is HandleKind.PHONE

    @property
    def is_email(self) -> bool:
        return self.kind is HandleKind.EMAIL

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, text: str, *, default_country: str = "+1") -> Handle:
        """Leniently read a handle as people type it; see :func:`parse_handle`."""
        return parse_handle(text, default_country=default_country)


def parse_handle(text: str, *, default_country: str = "+1") -> Handle:
    """Read a handle as people type it: ``(651) 703-7981``, ``651.703.7981``, ``+44 20 7946 0958``.

    Spaces, dots, dashes, slashes and parentheses are removed; a number without a
    leading ``+`` gets ``default_country`` (a ``+`` and 1-3 digits) prepended, after
    dropping a leading ``1`` trunk digit when the default country is ``+1`` and the
    number has 11 digits. Anything with an ``@`` is read as an email address.

    Raises:
        InvalidHandleError: if the result is not a valid handle.
    """
    if not isinstance(text, str):
        raise InvalidHandleError(text, "is not a string")
    stripped = text.strip()
    if "@" in stripped:
        try:
            return Handle(stripped)
        except InvalidHandleError as exc:
            # Name what was typed, as the phone branch does, not the stripped value.
            raise InvalidHandleError(text, exc.rule.removeprefix(f"{stripped!r} ")) from None
    if not re.fullmatch(r"\+[1-9][0-9]{0,2}", default_country):
        raise InvalidHandleError(
            default_country, "is not a country code like '+1'", "default_country"
        )
    digits = _PHONE_PUNCTUATION.sub("", stripped)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not digits.startswith("+"):
        if not digits.isdigit():
            raise InvalidHandleError(text, _RULE)
        country = default_country[1:]
        if country == "1" and len(digits) == 11 and digits.startswith("1"):
            digits = digits[1:]
        digits = f"+{country}{digits.lstrip('0') if country != '1' else digits}"
    try:
        return Handle(digits)
    except InvalidHandleError:
        raise InvalidHandleError(text, _RULE) from None
