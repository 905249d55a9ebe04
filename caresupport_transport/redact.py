"""Masking phone numbers and email addresses before they reach a log line or a console.

A phone number in a log file, next to a time and a chat id, is a health record's
address; logs end up in systemd's journal, docker's log driver and whatever ships
them on. So every line the receiver prints or logs goes through these:

- :func:`mask_handle` masks one handle: ``+16515557981`` -> ``+1651•••7981`` (the
  country code, the first three digits and the last four stay, enough to tell
  family members apart); ``mum@example.org`` -> ``m•••@example.org``.
- :func:`mask_handles_in` masks every ``+``-prefixed phone number and every email
  address found inside free text (an error message, a delivery-failure reason).
- :class:`MaskingFilter` is a :class:`logging.Filter` applying
  :func:`mask_handles_in` to a record's message and traceback.
"""

from __future__ import annotations

import logging
import re

from caresupport_transport.handles import Handle

__all__ = ["MASK", "MaskingFilter", "mask_handle", "mask_handles_in"]

MASK = "•••"
"""What stands in for the hidden characters."""

# E.164 country codes are prefix-free: these are the one- and two-digit ones;
# every other code has three digits.
_ONE_DIGIT_CODES = frozenset({"1", "7"})
_TWO_DIGIT_CODES = frozenset(
    {"20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46"}
    | {"47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62"}
    | {"63", "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98"}
)
_KEPT_LEADING = 3
_KEPT_TRAILING = 4
_MIN_HIDDEN = 3
# A "+" then 7 to 15 digits, with the spaces, dots, dashes or brackets people
# write between groups; not preceded by a word character or another "+".
_PHONE_IN_TEXT = re.compile(r"(?<![\w+])\+[1-9](?:[ .()\-]{0,2}\d){6,14}(?!\d)")
_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+@[A-Za-z0-9](?:[A-Za-z0-9.\-]*)")


def mask_handle(value: str | Handle) -> str:
    """A handle with most of it hidden: ``+1651•••7981``, ``m•••@example.org``.

    Anything that is neither a ``+``-prefixed phone number nor an email address
    is hidden whole (``•••``): a value we cannot classify may still be personal.
    """
    text = value.value if isinstance(value, Handle) else str(value)
    if "@" in text:
        local, _, domain = text.rpartition("@")
        return f"{local[:1]}{MASK}@{domain}" if local and domain else MASK
    digits = "".join(character for character in text if character.isdigit())
    if not text.startswith("+") or len(digits) < _MIN_HIDDEN:
        return MASK
    code = _country_code(digits)
    national = digits[len(code) :]
    trailing = min(_KEPT_TRAILING, max(0, len(national) - _MIN_HIDDEN))
    leading = min(_KEPT_LEADING, max(0, len(national) - trailing - _MIN_HIDDEN))
    tail = national[len(national) - trailing :] if trailing else ""
    return f"+{code}{national[:leading]}{MASK}{tail}"


def mask_handles_in(text: str) -> str:
    """``text`` with every ``+``-prefixed phone number and email address masked.

    Bare digit runs without ``+`` are left alone: they are far more often ids,
    timestamps or counts, and Linq writes every phone number in E.164.
    """
    masked = _PHONE_IN_TEXT.sub(lambda found: mask_handle(found.group()), text)
    return _EMAIL_IN_TEXT.sub(lambda found: mask_handle(found.group()), masked)


def _country_code(digits: str) -> str:
    if digits[:1] in _ONE_DIGIT_CODES:
        return digits[:1]
    if digits[:2] in _TWO_DIGIT_CODES:
        return digits[:2]
    return digits[:3]


class MaskingFilter(logging.Filter):
    """Masks handles in every record it sees; attach it to a handler (it never drops one).

    On a handler it sees the records of every logger that propagates there,
    uvicorn's and asyncio's included. The record's message is formatted once
    here (``msg % args``), masked, and stored back with no ``args``; a
    traceback is formatted and masked into ``exc_text``, which formatters use
    as is.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_handles_in(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_handles_in(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_handles_in(record.stack_info)
        return True
