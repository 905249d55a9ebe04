"""The edit limits (``edit_refusal``) and the checks of a correction, before any I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caresupport_transport import checks
from caresupport_transport.capabilities import Service
from caresupport_transport.content import MediaPart, TextPart
from caresupport_transport.corrections import (
    EDIT_COUNT_RULE,
    EDIT_WINDOW_RULE,
    correction_text,
    edit_refusal,
    no_edits_rule,
)
from caresupport_transport.errors import ValidationError
from caresupport_transport.handles import Handle
from caresupport_transport.model import DeliveryStatus, Direction, Message

SENT_AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def message(
    service: Service | None = Service.IMESSAGE, direction: Direction = Direction.OUTBOUND
) -> Message:
    return Message(
        "m1",
        "c1",
        direction,
        Handle("+15550100000"),
        (TextPart("take 2 pills"), MediaPart(url="https://e.org/p.png")),
        service,
        DeliveryStatus.DELIVERED,
        SENT_AT,
    )


@given(edits=st.integers(0, 20), seconds=st.integers(0, 3_600))
def test_an_imessage_edit_is_refused_exactly_past_five_edits_or_fifteen_minutes(
    edits: int, seconds: int
) -> None:
    refusal = edit_refusal(message(), edits_made=edits, now=SENT_AT + timedelta(seconds=seconds))
    if edits >= 5:
        assert EDIT_COUNT_RULE == refusal
    elif seconds > 15 * 60:
        assert EDIT_WINDOW_RULE == refusal
    else:
        assert refusal is None


@pytest.mark.parametrize("service", [Service.SMS, Service.RCS])
def test_sms_and_rcs_messages_can_never_be_edited(service: Service) -> None:
    assert no_edits_rule(service) == edit_refusal(message(service), edits_made=0, now=SENT_AT)


def test_a_correction_text_names_itself() -> None:
    assert "Correction: take 1 pill" == correction_text("take 1 pill")


@pytest.mark.parametrize("text", ["", "   ", "\ud800", "x" * 9_989, 7])
def test_blank_long_or_invalid_correction_text_is_refused(text: object) -> None:
    with pytest.raises(ValidationError) as raised:
        checks.check_correction(text)
    assert "text" == raised.value.field


def test_the_longest_correction_still_fits_as_a_correction_text() -> None:
    longest = checks.check_correction("x" * 9_988)
    assert 10_000 == len(correction_text(longest.text))


@pytest.mark.parametrize(
    ("target", "part_index", "field"),
    [
        (message(direction=Direction.INBOUND), 0, "message_id"),
        (message(), 1, "part_index"),
        (message(), 2, "part_index"),
    ],
)
def test_only_our_own_text_parts_can_be_corrected(
    target: Message, part_index: int, field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        checks.check_correction_target(target, part_index)
    assert field == raised.value.field
