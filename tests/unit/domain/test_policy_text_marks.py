"""The policy carries mentions, decorations and link previews where they exist, else plain."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caresupport_transport.capabilities import Feature, Service
from caresupport_transport.content import (
    LinkPart,
    Mention,
    OutgoingMessage,
    TextDecoration,
    TextPart,
    TextRange,
    TextStyle,
)
from caresupport_transport.handles import Handle
from caresupport_transport.model import DegradationAction
from caresupport_transport.policy import plan_message

TEXT = "Sue: the 8pm dose is now 1 pill"
MARKED = TextPart(
    TEXT,
    mentions=[Mention(Handle("+16515550101"), TextRange.of(TEXT, "Sue"))],
    decorations=[TextDecoration(TextRange.of(TEXT, "1 pill"), TextStyle.BOLD)],
)
LINK = LinkPart("https://care.example.org/plan/42")


def test_imessage_carries_mentions_decorations_and_links_as_they_are() -> None:
    for message in (OutgoingMessage((MARKED,)), OutgoingMessage((LINK,))):
        plan = plan_message(message, Service.IMESSAGE)
        assert ((message,), ()) == (plan.messages, plan.degradations)


@pytest.mark.parametrize("service", [Service.SMS, Service.RCS])
def test_sms_and_rcs_get_the_same_words_without_marks_and_say_so(service: Service) -> None:
    plan = plan_message(OutgoingMessage((MARKED,)), service)
    assert (OutgoingMessage.of_text(TEXT),) == plan.messages
    assert [
        (Feature.MENTION, DegradationAction.CONVERTED),
        (Feature.TEXT_DECORATION, DegradationAction.DROPPED),
    ] == [(d.feature, d.action) for d in plan.degradations]


@pytest.mark.parametrize("service", [Service.SMS, Service.RCS])
def test_a_link_part_becomes_its_url_in_text_where_there_are_no_previews(
    service: Service,
) -> None:
    plan = plan_message(OutgoingMessage((LINK,)), service)
    assert (OutgoingMessage.of_text(LINK.url),) == plan.messages
    assert [(Feature.LINK_PREVIEW, DegradationAction.CONVERTED)] == [
        (d.feature, d.action) for d in plan.degradations
    ]


@given(
    service=st.sampled_from(list(Service)),
    start=st.integers(0, len(TEXT) - 1),
    length=st.integers(1, len(TEXT)),
)
def test_no_plan_loses_words_or_leaves_marks_a_service_cannot_carry(
    service: Service, start: int, length: int
) -> None:
    end = min(len(TEXT), start + length)
    part = TextPart(
        TEXT, decorations=[TextDecoration(TextRange.span(TEXT, start, end), TextStyle.BOLD)]
    )
    plan = plan_message(OutgoingMessage((part,)), service)
    [sent] = plan.messages
    [carried] = sent.parts
    assert isinstance(carried, TextPart)
    assert TEXT == carried.text
    assert bool(carried.decorations) == (service is Service.IMESSAGE)
