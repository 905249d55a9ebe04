"""Linq's ``poll.*`` webhook events parse into the domain's poll events (both versions)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.linq.webhook_events import parse_delivery, parse_envelope
from caresupport_transport.capabilities import Service
from caresupport_transport.content import Reaction, ReactionKind
from caresupport_transport.events import (
    MessageStatusChanged,
    PollOptionsAdded,
    PollReceived,
    PollVoteAdded,
    PollVoteRemoved,
    ReactionAdded,
    UnknownEvent,
)
from caresupport_transport.handles import Handle
from caresupport_transport.model import DeliveryStatus
from caresupport_transport.polls import Poll, PollOption

from .support import VERSIONS, fixture, fixture_bytes

CHAT = "8f392755-6865-4b18-880a-227f9d8b458f"
POLL = "c2a7a7d1-5c4e-4b8e-9a55-2f1d3e4b5a60"
THEIR_POLL = "d3b8b8e2-6d5f-4c9f-8b66-3a2e4f5c6b71"
DAUGHTER = Handle("+12025559876")
OCCURRED = datetime(2026, 2, 5, 19, 31, 13, 736444, tzinfo=UTC)


def option_id(n: int) -> str:
    return f"0b1c2d3e-0000-4000-8000-00000000000{n}"


def parsed(version: str, event_type: str) -> Any:
    return parse_delivery(fixture_bytes(version, event_type))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("poll.sent", DeliveryStatus.SENT),
        ("poll.delivered", DeliveryStatus.DELIVERED),
        ("poll.read", DeliveryStatus.READ),
    ],
)
def test_the_poll_lifecycle_is_the_status_of_the_poll_message(
    version: str, event_type: str, status: DeliveryStatus
) -> None:
    event = parsed(version, event_type)
    assert (
        MessageStatusChanged(event.event_id, OCCURRED, CHAT, POLL, status, Service.IMESSAGE)
        == event
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_poll_failed_carries_error_code_and_message_from_the_error_object(version: str) -> None:
    event = parsed(version, "poll.failed")
    expected = MessageStatusChanged(
        event.event_id,
        OCCURRED,
        CHAT,
        POLL,
        DeliveryStatus.FAILED,
        Service.IMESSAGE,
        error_code=4005,
        reason="Recipient cannot receive this message type",
    )
    assert expected == event


@pytest.mark.parametrize("version", VERSIONS)
def test_a_received_poll_names_its_creator_and_options(version: str) -> None:
    event = parsed(version, "poll.received")
    poll = Poll(
        THEIR_POLL,
        CHAT,
        [
            PollOption(option_id(4), "Pizza", creator=DAUGHTER),
            PollOption(option_id(5), "Soup", creator=DAUGHTER),
        ],
        creator=DAUGHTER,
    )
    assert PollReceived(event.event_id, OCCURRED, CHAT, poll) == event


@pytest.mark.parametrize("version", VERSIONS)
def test_poll_updated_lists_only_the_added_options_with_who_added_them(version: str) -> None:
    event = parsed(version, "poll.updated")
    added = (PollOption(option_id(6), "Wed 10am", creator=DAUGHTER),)
    assert PollOptionsAdded(event.event_id, OCCURRED, CHAT, POLL, added) == event


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("event_type", "event_class"),
    [("poll.vote.added", PollVoteAdded), ("poll.vote.removed", PollVoteRemoved)],
)
def test_a_vote_names_the_poll_the_option_and_the_voter_without_the_text(
    version: str, event_type: str, event_class: type[PollVoteAdded | PollVoteRemoved]
) -> None:
    event = parsed(version, event_type)
    expected = event_class(event.event_id, OCCURRED, CHAT, POLL, option_id(2), DAUGHTER)
    assert expected == event


@pytest.mark.parametrize("version", VERSIONS)
def test_a_reaction_to_a_poll_is_a_reaction_to_the_poll_message_with_its_id(
    version: str,
) -> None:
    event = parsed(version, "poll.reaction.added")
    expected = ReactionAdded(
        event.event_id,
        OCCURRED,
        CHAT,
        POLL,
        Reaction(ReactionKind.LIKE),
        DAUGHTER,
        reaction_id="a1b2c3d4-0000-4000-8000-000000000001",
    )
    assert expected == event


@pytest.mark.parametrize(
    ("event_type", "change"),
    [
        ("poll.vote.added", {"option_id": None}),
        ("poll.vote.added", {"sender_handle": "not a handle"}),
        ("poll.received", {"poll": {"options": [{"text": "x"}]}}),
        ("poll.updated", {"added_options": "Wed"}),
        ("poll.sent", {"message_id": 7}),
    ],
)
def test_a_poll_event_that_cannot_be_modelled_is_kept_raw_and_names_the_field(
    event_type: str, change: dict[str, Any]
) -> None:
    payload = fixture("2026-02-03", event_type)
    payload["data"].update(change)
    event = parse_envelope(payload)
    assert isinstance(event, UnknownEvent)
    assert (event_type, CHAT) == (event.event_type, event.conversation_id)
    assert event.problem is not None
    assert next(iter(change)) in event.problem
