"""caresupport_transport.redact: handles masked for logs and consoles."""

from __future__ import annotations

import logging
import re
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caresupport_transport import Handle
from caresupport_transport.redact import MASK, MaskingFilter, mask_handle, mask_handles_in


@pytest.mark.parametrize(
    ("handle", "masked"),
    [
        ("+16515557981", "+1651•••7981"),  # country code 1, then 3 + 4 digits kept
        ("+447700900123", "+44770•••0123"),  # two-digit country code
        ("+353861234567", "+35386•••4567"),  # three-digit code; 9 digits: 2 + 4 kept
        ("+4512345678", "+451•••5678"),  # a short national number keeps fewer leading digits
        ("mum@example.org", "m•••@example.org"),
        ("Mum.Smith+care@Example.ORG", "M•••@Example.ORG"),
        ("not a handle", MASK),
        ("16515557981", MASK),  # no "+": not recognised, hidden whole
    ],
)
def test_mask_handle_keeps_enough_to_tell_people_apart(handle: str, masked: str) -> None:
    assert masked == mask_handle(handle)


def test_mask_handle_takes_a_handle_value() -> None:
    assert "+1651•••7981" == mask_handle(Handle("+16515557981"))


@given(st.from_regex(re.compile(r"\+[1-9][0-9]{6,14}"), fullmatch=True))
def test_a_masked_number_hides_at_least_three_digits(number: str) -> None:
    masked = mask_handle(number)

    assert MASK in masked
    shown = sum(character.isdigit() for character in masked)
    assert len(number) - 1 - shown >= 3
    assert number not in masked


def test_mask_handles_in_masks_numbers_and_emails_inside_text() -> None:
    text = (
        "call +1 (651) 555-7981 or +16515557981, write to mum@example.org; "
        "event 1770000000 at 2026-02-05 19:31:13, +1.5 mg"
    )

    masked = mask_handles_in(text)

    assert (
        "call +1651•••7981 or +1651•••7981, write to m•••@example.org; "
        "event 1770000000 at 2026-02-05 19:31:13, +1.5 mg"
    ) == masked


def test_masking_filter_masks_arguments_and_tracebacks() -> None:
    try:
        raise ValueError("no such recipient: +16515557981")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "test", logging.ERROR, __file__, 1, "sending to %s failed", ("mum@example.org",), exc_info
    )

    kept = MaskingFilter().filter(record)
    formatted = logging.Formatter().format(record)

    assert kept
    assert "sending to m•••@example.org failed" in formatted
    assert "no such recipient: +1651•••7981" in formatted
    assert "6515557981" not in formatted
    assert "mum@" not in formatted
